"""The BM25F answer search: stemming, field weights, ties."""

from __future__ import annotations

import pytest

from bot.core.search import SearchIndex, stem, terms

STEMS = [
    ("plural", "jobs", "job"),
    ("ies", "facilities", "facility"),
    ("ing", "freelancing", "freelanc"),
    ("er", "freelancer", "freelanc"),
    ("final e", "freelance", "freelanc"),
    ("ss kept", "business", "business"),
    ("short words kept", "bus", "bus"),
    ("urdu untouched", "نوکریاں", "نوکریاں"),
    ("digits untouched", "2024s", "2024s"),
]


@pytest.mark.parametrize(("word", "expected"), [c[1:] for c in STEMS], ids=[c[0] for c in STEMS])
def test_stem(word: str, expected: str) -> None:
    assert stem(word) == expected


def test_terms_drop_stop_words() -> None:
    assert terms("What are the JOBS in Multan?") == ["job", "multan"]


INDEX = SearchIndex(
    [
        ("a", {"keywords": "", "title": "Women in tech", "sms": "Programs for women.", "full": ""}),
        ("b", {"keywords": "women", "title": "", "sms": "", "full": ""}),
        ("c", {"keywords": "", "title": "", "sms": "How women benefit.", "full": ""}),
    ]
)


def test_more_matched_terms_win() -> None:
    hit = INDEX.search(["women", "benefit"])
    assert hit is not None
    assert (hit.doc_id, hit.matched_terms) == ("c", 2)


def test_keywords_weigh_most() -> None:
    hit = INDEX.search(["women"])
    assert hit is not None
    assert hit.doc_id == "b"


def test_no_shared_term_is_no_hit() -> None:
    assert INDEX.search(["weather"]) is None
    assert INDEX.search([]) is None
    assert "women" in INDEX
    assert "weather" not in INDEX


def test_empty_index() -> None:
    assert SearchIndex([]).search(["jobs"]) is None
