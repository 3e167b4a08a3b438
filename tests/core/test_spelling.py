"""Typo correction: spelling skeletons, cutoffs, and what must never be corrected."""

from __future__ import annotations

import pytest

from bot.core.spelling import Speller, cutoff, skeleton

VOCABULARY = ("jobs", "naukri", "training", "freelancing", "khawateen", "rozgaar", "park", "seed")
SPELLER = Speller(VOCABULARY)

SKELETONS = [
    ("naukri", "naukri", "nokri"),
    ("nokri", "nokri", "nokri"),
    ("naukry", "naukry", "nokri"),
    ("double letters", "rozgaar", "rozgar"),
    ("ee", "khawateen", "khawatin"),
    ("urdu untouched", "نوکری", "نوکری"),
]


@pytest.mark.parametrize(("word", "key"), [c[1:] for c in SKELETONS], ids=[c[0] for c in SKELETONS])
def test_skeleton(word: str, key: str) -> None:
    assert skeleton(word) == key


CORRECTIONS = [
    ("swap in 4 letters", "jbos", "jobs"),
    ("roman urdu variant", "nokri", "naukri"),
    ("final y", "naukry", "naukri"),
    ("missing letter", "traning", "training"),
    ("extra letters", "freelanceing", "freelancing"),
    ("spelled by ear", "khwateen", "khawateen"),
    ("single a", "rozgar", "rozgaar"),
    ("a keyword itself", "jobs", "jobs"),
    ("2 letters", "jo", None),
    ("3 letters", "job", None),
    ("first letter differs", "bobs", None),
    ("unrelated", "weather", None),
    ("digits", "1234", None),
    ("urdu unknown", "ژژژژ", None),
]


@pytest.mark.parametrize(
    ("word", "expected"), [c[1:] for c in CORRECTIONS], ids=[c[0] for c in CORRECTIONS]
)
def test_correct(word: str, expected: str | None) -> None:
    assert SPELLER.correct(word) == expected


@pytest.mark.parametrize(
    ("length", "expected"), [(4, 75.0), (5, 75.0), (6, 80.0), (7, 80.0), (8, 85.0), (20, 85.0)]
)
def test_cutoff_tightens_with_length(length: int, expected: float) -> None:
    assert cutoff(length) == expected


def test_very_long_words_are_not_compared() -> None:
    assert SPELLER.correct("a" * 100) is None


def test_folded_only_words_need_the_same_skeleton() -> None:
    speller = Speller(VOCABULARY, folded_only=("menu", "lang"))
    assert speller.correct("menuu") == "menu"
    assert speller.correct("loan") is None


def test_empty_vocabulary() -> None:
    assert Speller(()).correct("jobs") is None
