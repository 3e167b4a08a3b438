"""CSV subscriber lists: every bad row named by its number, nothing half-accepted."""

from __future__ import annotations

import pytest

from bot.core.roster import RosterError, parse_roster

CITIES = ["dhanote", "multan", "bahawalpur", "other"]
TOPICS = ["training", "jobs", "women"]


def parse(text: str) -> list[tuple[str, str | None, str | None, frozenset[str]]]:
    rows = parse_roster(text, cities=CITIES, topics=TOPICS)
    return [(r.phone, r.language, r.city, r.topics) for r in rows]


def test_a_good_file() -> None:
    text = (
        "\ufeffPhone,Language,City,Topics\n"
        "0300 1234567,Urdu,Multan,jobs; women\n"
        "\n"
        "+92 301 2345678,,,\n"
    )
    assert parse(text) == [
        ("+923001234567", "ur", "multan", frozenset({"jobs", "women"})),
        ("+923012345678", None, None, frozenset()),
    ]


def test_roman_urdu_as_exported_or_in_words() -> None:
    text = "phone,language\n03001234567,ur-Latn\n03011234567,Roman Urdu\n03021234567,roman\n"
    assert [row[1] for row in parse(text)] == ["ur-Latn", "ur-Latn", "ur-Latn"]


def test_columns_in_any_order_and_only_phone_required() -> None:
    assert parse("topics,phone\ntraining,03001234567\n")[0][0] == "+923001234567"


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ("", [(1, "empty")]),
        ("name,phone\nA,03001234567\n", [(1, "unknown column(s) name")]),
        ("language\nen\n", [(1, "phone required")]),
        ("phone\nabc\n", [(2, "not a valid phone number")]),
        ("phone\n12345\n", [(2, "not a valid phone number")]),
        ("phone,language\n03001234567,fr\n", [(2, "language 'fr'")]),
        ("phone,city\n03001234567,lahore\n", [(2, "city 'lahore'")]),
        ("phone,topics\n03001234567,cooking\n", [(2, "topic(s) cooking")]),
        ("phone\n03001234567\n0300-1234567\n", [(3, "repeats row 2")]),
        ("phone\n03001234567,extra\n", [(2, "2 fields")]),
        (
            "phone,language\nbad,xx\n03001234567,en\nworse,\n",
            [(2, "not a valid phone"), (2, "language 'xx'"), (4, "not a valid phone")],
        ),
    ],
    ids=[
        "empty-file",
        "unknown-column",
        "no-phone-column",
        "letters",
        "too-short",
        "unknown-language",
        "unknown-city",
        "unknown-topic",
        "duplicate-number",
        "too-many-fields",
        "every-bad-row-reported",
    ],
)
def test_bad_rows_are_named_by_number(text: str, problems: list[tuple[int, str]]) -> None:
    with pytest.raises(RosterError) as caught:
        parse(text)
    got = caught.value.problems
    assert len(got) == len(problems)
    for (row, message), (want_row, want) in zip(got, problems, strict=True):
        assert row == want_row and want in message
