"""Coordinators' answers are checked by the content's rules, and never take its words."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.content.added import problems, usable
from bot.content.load import load_catalog
from bot.core.added import AddedAnswer
from bot.core.catalog import Catalog
from bot.core.normalize import normalize

REPO = Path(__file__).resolve().parents[2]
GOOD = AddedAnswer(
    "fees",
    ("fees", "fees kitni hai", "فیس"),
    "TEST fees: PKR 1234 (test value)",
    "ٹیسٹ فیس: 1234 روپے",
)


@pytest.fixture(scope="module")
def content() -> Catalog:
    return load_catalog(REPO / "content")


def test_a_good_answer_has_no_problems(content: Catalog) -> None:
    assert problems(GOOD, content) == []
    full = replace(GOOD, sms_ur_latn="TEST fees 1234", telegram_en="x" * 4096, telegram_ur="ی")
    assert problems(full, content) == []


# (label, the change, the one problem expected, starting so)
CASES = [
    ("id not lowercase", {"key": "Fees"}, "id: id 'Fees' does not match"),
    ("id of a content answer", {"key": "jobs"}, "id: 'jobs' is already an answer in content/"),
    ("id read as a content keyword", {"key": "naukri"}, "id: 'naukri' is read as a keyword of"),
    ("no keywords", {"keywords": ()}, "keywords: at least one keyword is needed"),
    ("blank keyword", {"keywords": ("fees", "?!")}, "keywords: keyword '?!' has no letters"),
    ("compliance word", {"keywords": ("fees", "STOP")}, "keywords: 'STOP' is a reserved"),
    ("urdu compliance word", {"keywords": ("fees", "بند")}, "keywords: 'بند' is a reserved"),
    ("language word", {"keywords": ("fees", "urdu")}, "keywords: 'urdu' is a reserved"),
    ("help word", {"keywords": ("fees", "madad")}, "keywords: 'madad' is a reserved"),
    (
        "read as opt-out",
        {"keywords": ("fees", "stop please")},
        "keywords: 'stop please' is read as opt-out before any answer's keywords",
    ),
    (
        "read as a language",
        {"keywords": ("fees", "urdu mein")},
        "keywords: 'urdu mein' is read as language",
    ),
    ("read as a faq", {"keywords": ("fees", "3")}, "keywords: '3' is read as an FAQ number"),
    (
        "read as the menu",
        {"keywords": ("fees", "salam ji")},
        "keywords: 'salam ji' is read as menu",
    ),
    (
        "content keyword",
        {"keywords": ("fees", "Naukri!")},
        "keywords: 'Naukri!' is already a keyword of the content answer 'jobs'",
    ),
    (
        "urdu content keyword",
        {"keywords": ("fees", "نوکری")},
        "keywords: 'نوکری' is already a keyword of the content answer",
    ),
    (
        "asks for a person",
        {"keywords": ("fees", "Insaan se baat")},
        "keywords: 'Insaan se baat' is already a keyword of content/staff.yaml (asking for",
    ),
    (
        "asks for a person in urdu",
        {"keywords": ("fees", "رابطہ")},
        "keywords: 'رابطہ' is already a keyword of content/staff.yaml (asking for a person)",
    ),
    (
        "id asks for a person",
        {"key": "staff"},
        "id: 'staff' is read as a keyword of content/staff.yaml",
    ),
    ("english sms not gsm", {"sms_en": "Fees “TEST”"}, "sms-en: not GSM-7: '“' (U+201C)"),
    ("english sms too long", {"sms_en": "x" * 161}, "sms-en: longer than 160 GSM-7 characters"),
    ("urdu sms too long", {"sms_ur": "ی" * 135}, "sms-ur: 3 SMS segments; replies are cut at 2"),
    ("urdu sms empty", {"sms_ur": "  "}, "sms-ur: empty; every answer needs it"),
    ("roman sms two segments", {"sms_ur_latn": "x" * 161}, "sms-roman: longer than 160"),
    ("empty telegram", {"telegram_en": ""}, "telegram-en: empty; leave it out instead"),
    ("telegram too long", {"telegram_ur": "ی" * 4097}, "telegram-ur: longer than one Telegram"),
]


@pytest.mark.parametrize(("change", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_problem_is_named(content: Catalog, change: dict[str, object], expected: str) -> None:
    found = problems(replace(GOOD, **change), content)  # type: ignore[arg-type]
    assert len(found) == 1, found
    assert found[0].startswith(expected), found


def test_every_problem_is_listed_at_once(content: Catalog) -> None:
    bad = AddedAnswer("Fees", ("jobs", "stop"), "“x”", "")
    assert [p.split(":")[0] for p in problems(bad, content)] == [
        "id",
        "keywords",
        "keywords",
        "sms-en",
        "sms-ur",
    ]


def test_the_urdu_limit_follows_sms_max_segments(content: Catalog) -> None:
    two = replace(GOOD, sms_ur="ی" * 100)
    assert problems(two, content, max_segments=2) == []
    assert problems(two, content, max_segments=1)[0].startswith("sms-ur: 2 SMS segments")


def test_another_added_answers_keywords_and_id_are_taken(content: Catalog) -> None:
    other = AddedAnswer("admission", ("dakhla kab", "Fees Kitni Hai"), "TEST", "ٹیسٹ")
    assert problems(GOOD, content, [other]) == [
        "keywords: 'fees kitni hai' is already a keyword of the added answer 'admission'"
    ]
    same_id = replace(other, key="dakhla_kab", keywords=("x1",))
    assert problems(replace(GOOD, keywords=("fees", "dakhla kab")), content, [same_id]) == [
        "keywords: 'dakhla kab' is already a keyword of the added answer 'dakhla_kab'"
    ]


def test_topics_the_content_lacks_are_free_for_an_added_answer(content: Catalog) -> None:
    # content/staff.yaml hands these over to a person only until an answer has them.
    lacking = ("fees", "fee", "fis", "فیس", "address", "پتہ", "contact number", "admission")
    assert set(map(normalize, lacking)) <= set(content.until_answered)
    assert problems(replace(GOOD, keywords=lacking), content) == []
    assert usable(content, [replace(GOOD, keywords=lacking)]) == (
        [replace(GOOD, keywords=lacking)],
        [],
    )


def test_usable_drops_a_word_the_content_later_reserves_for_a_person(content: Catalog) -> None:
    stored = replace(GOOD, keywords=("fees", "staff"))
    assert usable(content, [stored]) == (
        [replace(GOOD, keywords=("fees",))],
        ["fees: keyword 'staff' dropped, content/staff.yaml (asking for a person) has it"],
    )


def test_an_answer_is_not_compared_with_its_own_stored_copy(content: Catalog) -> None:
    assert problems(GOOD, content, [GOOD]) == []


def test_usable_keeps_good_answers_whole(content: Catalog) -> None:
    kept, dropped = usable(content, [GOOD])
    assert (kept, dropped) == ([GOOD], [])


def test_usable_gives_content_the_clashing_words_and_drops_what_is_left_empty(
    content: Catalog,
) -> None:
    clashing = replace(GOOD, keywords=("fees", "naukri"))
    ghost = AddedAnswer("jobs", ("other",), "TEST", "ٹیسٹ")
    empty = AddedAnswer("workers", ("کام",), "TEST", "ٹیسٹ")
    twice = AddedAnswer("fees_again", ("FEES", "fees2"), "TEST", "ٹیسٹ")
    kept, dropped = usable(content, [clashing, ghost, empty, twice])
    assert [(a.key, a.keywords) for a in kept] == [
        ("fees", ("fees",)),
        ("fees_again", ("fees2",)),
    ]
    assert dropped == [
        "fees: keyword 'naukri' dropped, the content answer 'jobs' has it",
        "jobs: dropped, content/ now has an answer with this id",
        "workers: keyword 'کام' dropped, the content answer 'jobs' has it",
        "workers: dropped, none of its keywords is left",
        "fees_again: keyword 'FEES' dropped, added answer 'fees' has it",
    ]
