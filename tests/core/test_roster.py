"""CSV subscriber lists: every bad row named by its number, nothing half-accepted."""

from __future__ import annotations

import pytest

from bot.core.roster import (
    EXPORT_COLUMNS,
    Person,
    RosterError,
    RosterRow,
    check_roster,
    export_rows,
    parse_roster,
)

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
        ("nickname,phone\nA,03001234567\n", [(1, "unknown column(s) nickname")]),
        ("language\nen\n", [(1, "phone or telegram_chat_id required")]),
        ("phone\nabc\n", [(2, "not a valid phone number")]),
        ("phone\n12345\n", [(2, "not a valid phone number")]),
        ("phone,language\n03001234567,fr\n", [(2, "language 'fr'")]),
        ("phone,city\n03001234567,lahore\n", [(2, "city 'lahore'")]),
        ("phone,topics\n03001234567,cooking\n", [(2, "topic(s) cooking")]),
        ("phone\n03001234567\n0300-1234567\n", [(3, "repeats row 2")]),
        ("phone\n03001234567,extra\n", [(2, "2 fields")]),
        ("phone,telegram_chat_id\n,\n03001234567,12x\n", [(3, "is not a number")]),
        ("phone,telegram_chat_id\n,5\n0300-1234567,\n,, \n", []),
        ("phone,telegram_chat_id,city\n,,multan\n", [(2, "nobody to import")]),
        ("phone,sms_status\n03001234567,gone\n", [(2, "sms_status 'gone' is not one of")]),
        ("phone,telegram_status\n03001234567,blocked\n", [(2, "telegram_status without")]),
        ("telegram_chat_id\n5\n5\n", [(3, "repeats row 2")]),
        (
            "phone,telegram_chat_id,city\n03001234567,5,multan\n03011234567,5,dhanote\n",
            [(3, "repeats row 2 with another name, language, city or topics")],
        ),
        (
            "phone,telegram_chat_id,name\n03001234567,5,Ali\n03011234567,5,Ali Raza\n",
            [(3, "repeats row 2 with another name")],
        ),
        (f"phone,name\n03001234567,{'n' * 129}\n", [(2, "name is 129 characters long")]),
        (
            "phone,telegram_chat_id\n03001234567,\n,500000\n03001234567,500000\n",
            [(4, "are on rows 2 and 3: two people in one row")],
        ),
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
        "chat-id-not-a-number",
        "blank-rows-skipped",
        "no-contact",
        "unknown-status",
        "status-without-its-contact",
        "duplicate-chat",
        "repeated-contact-another-profile",
        "repeated-contact-another-name",
        "name-too-long",
        "two-people-in-one-row",
        "every-bad-row-reported",
    ],
)
def test_bad_rows_are_named_by_number(text: str, problems: list[tuple[int, str]]) -> None:
    if not problems:
        assert check_roster(text, cities=CITIES, topics=TOPICS).ok
        return
    with pytest.raises(RosterError) as caught:
        parse(text)
    got = caught.value.problems
    assert len(got) == len(problems)
    for (row, message), (want_row, want) in zip(got, problems, strict=True):
        assert row == want_row and want in message


def test_a_check_keeps_the_good_rows_beside_the_problems() -> None:
    checked = check_roster(
        "phone,city\n03001234567,multan\nnope,multan\n03011234567,\n", cities=CITIES
    )
    assert not checked.ok
    assert [r.row for r in checked.rows] == [2, 4]
    assert [row for row, _ in checked.problems] == [3]


def test_telegram_only_people_and_statuses_as_an_export_writes_them() -> None:
    text = (
        "phone,telegram_chat_id,language,city,topics,sms_status,telegram_status\n"
        "+923001234567,,ur,multan,jobs,opted_out,\n"
        ",987654321,ur-Latn,,training;women,,blocked\n"
        "03011234567,-100200,en,,,active,active\n"
    )
    assert parse_roster(text, cities=CITIES, topics=TOPICS) == [
        RosterRow(2, "+923001234567", "ur", "multan", frozenset({"jobs"}), None, "opted_out"),
        RosterRow(
            3, None, "ur-Latn", None, frozenset({"training", "women"}), "987654321", None, "blocked"
        ),
        RosterRow(4, "+923011234567", "en", None, frozenset(), "-100200", "active", "active"),
    ]


def test_a_name_in_any_script_or_none() -> None:
    text = (
        "phone,Name,city\n"
        "03001234567,عائشہ قریشی,multan\n"
        '03011234567,"  Raza,  Ali ",\n'  # a comma inside quotes; spaces tidied
        "03021234567,,multan\n"  # empty: the name on file stays
        "03031234567,=cmd|' /C calc'!A0,\n"  # a formula: not as a formula
    )
    names = [r.name for r in parse_roster(text, cities=CITIES)]
    assert names == ["عائشہ قریشی", "Raza, Ali", None, "cmd|' /C calc'!A0"]


def test_an_extra_number_or_chat_of_the_same_person_is_its_own_row() -> None:
    text = "phone,telegram_chat_id,city\n03001234567,5,multan\n03011234567,5,multan\n"
    assert [(r.phone, r.telegram) for r in parse_roster(text, cities=CITIES)] == [
        ("+923001234567", "5"),
        ("+923011234567", "5"),
    ]


PEOPLE = [
    Person("ur", "multan", ("jobs", "women"), (("+923001234567", "opted_out"),), (), "عائشہ"),
    Person(None, None, (), (), (("777000111", "active"),)),
    Person(
        "ur-Latn",
        "dhanote",
        ("training",),
        (("+923011234567", "active"), ("+923021234567", "invalid")),
        (("555", "blocked"), ("556", "active")),
        "Ali Raza",
    ),
    Person("en", None, (), (), ()),  # nobody to reach: left out
]


def test_export_rows_read_back_as_the_same_contacts_and_profiles() -> None:
    rows = export_rows(PEOPLE)
    assert rows[:2] == [
        ("+923001234567", "", "عائشہ", "ur", "multan", "jobs;women", "opted_out", ""),
        ("", "777000111", "", "", "", "", "", "active"),
    ]
    assert len(rows) == 5, "the third person: a row per extra number and per extra chat"
    text = "\n".join(",".join(r) for r in [EXPORT_COLUMNS, *rows])
    back = parse_roster(text, cities=CITIES, topics=TOPICS)
    contacts = [(r.phone, r.sms_status, r.telegram, r.telegram_status) for r in back]
    assert contacts == [
        ("+923001234567", "opted_out", None, None),
        (None, None, "777000111", "active"),
        ("+923011234567", "active", "555", "blocked"),
        ("+923021234567", "invalid", "555", "blocked"),
        ("+923011234567", "active", "556", "active"),
    ]
    assert [r.name for r in back[:2]] == ["عائشہ", None]
    assert {(r.name, r.language, r.city, r.topics) for r in back[2:]} == {
        ("Ali Raza", "ur-Latn", "dhanote", frozenset({"training"}))
    }
