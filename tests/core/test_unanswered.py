"""Grouping what the bot could not answer: normalised, near-identical texts together."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.unanswered import NO_WORDS, Asked, group

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def asked(
    text: str, count: int = 1, channel: str = "sms", language: str = "en", at: int = 0
) -> Asked:
    return Asked(text, channel, language, count, T0 + timedelta(minutes=at))


# (label, texts that must be one group)
SAME = [
    ("case and punctuation", ["Fees kitni hai?", "fees kitni hai", "FEES, KITNI HAI!!"]),
    ("spacing", ["fees  kitni   hai", " fees kitni hai "]),
    ("arabic letter forms", ["داخلہ کب ہے", "داخله كب ہے"]),
    ("urdu digits", ["course ۲۰۲۶", "course 2026"]),
    ("one slipped letter", ["fees kitni hai", "fess kitni hai"]),
    ("no words at all", ["??", "👍", "..."]),
]
# (label, texts that must stay apart)
APART = [
    ("another word", ["fees kitni hai", "fees kab hai"]),
    ("another question", ["admission kab hai", "address kahan hai"]),
    ("short words", ["ok", "oh"]),
]


@pytest.mark.parametrize("texts", [c[1] for c in SAME], ids=[c[0] for c in SAME])
def test_these_are_one_question(texts: list[str]) -> None:
    groups = group([asked(t) for t in texts])
    assert len(groups) == 1
    assert groups[0].count == len(texts)


@pytest.mark.parametrize("texts", [c[1] for c in APART], ids=[c[0] for c in APART])
def test_these_are_different_questions(texts: list[str]) -> None:
    assert len(group([asked(t) for t in texts])) == len(texts)


def test_most_asked_first_with_examples_and_splits() -> None:
    groups = group(
        [
            asked("admission kab hai", 2, at=5),
            asked("Fees kitni hai?", 3, "sms", "en"),
            asked("fees kitni hai", 2, "telegram", "en", at=9),
            asked("fess kitni hai", 1, "sms", "ur"),
            asked("??", 1),
        ]
    )
    assert [(g.key, g.count) for g in groups] == [
        ("fees kitni hai", 6),
        ("admission kab hai", 2),
        (NO_WORDS, 1),
    ]
    fees = groups[0]
    assert fees.examples() == ["Fees kitni hai?", "fees kitni hai", "fess kitni hai"]
    assert fees.examples(1) == ["Fees kitni hai?"]
    assert dict(fees.channels) == {"sms": 4, "telegram": 2}
    assert dict(fees.languages) == {"en": 5, "ur": 1}
    assert fees.last == T0 + timedelta(minutes=9)


def test_the_most_asked_spelling_names_the_group() -> None:
    groups = group([asked("fess kitni hai", 1), asked("fees kitni hai", 5)])
    assert [g.key for g in groups] == ["fees kitni hai"]


def test_ties_go_to_the_latest_asked_then_the_text() -> None:
    groups = group(
        [asked("bbb question", at=1), asked("ccc other", at=2), asked("aaa third", at=1)]
    )
    assert [g.key for g in groups] == ["ccc other", "aaa third", "bbb question"]


def test_nothing_asked_is_no_groups() -> None:
    assert group([]) == []


def test_an_unknown_language_is_counted_as_such() -> None:
    (g,) = group([Asked("xyz", "sms", None, 2, T0)])
    assert dict(g.languages) == {"?": 2}
