"""bot.store.roster: importing and exporting subscribers, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from bot.core.roster import Person, RosterRow
from bot.store import contacts, roster
from bot.store.roster import ImportReport
from bot.store.tables import contacts as _contacts
from bot.store.tables import subscribers as _subscribers
from bot.store.units import Units

NOW = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=1)
A, B, C = "+923001111111", "+923002222222", "+923003333333"
NOBODY: frozenset[str] = frozenset()


def row(n: int, phone: str | None, telegram: str | None = None, **kw: object) -> RosterRow:
    values: dict[str, object] = {"language": None, "city": None, "topics": NOBODY, **kw}
    return RosterRow(n, phone, telegram=telegram, **values)  # type: ignore[arg-type]


def reasons(conn: Connection) -> dict[str, tuple[str, str | None]]:
    c = _contacts
    rows = conn.execute(select(c.c.address, c.c.status, c.c.status_reason)).all()
    return {address: (status, reason) for address, status, reason in rows}


async def test_import_creates_updates_and_keeps_an_opt_out(units: Units) -> None:
    def before(conn: Connection) -> None:
        known = contacts.upsert_contact(conn, "sms", B, NOW, language="en")
        contacts.set_contact_status(conn, known.contact_id, "opted_out", NOW, reason="keyword")
        contacts.upsert_contact(conn, "telegram", "777", NOW)

    await units.run(before)
    rows = [
        RosterRow(2, A, "ur", "Multan", frozenset({"jobs", "training"})),
        RosterRow(3, B, None, "Bahawalpur", frozenset(), sms_status="active"),
    ]
    report = await units.run(lambda conn: roster.import_rows(conn, rows, LATER))
    assert report == ImportReport(created=1, updated=1, opted_out=1)
    assert await units.run(roster.export_people) == [
        Person("en", "Bahawalpur", (), ((B, "opted_out"),), ()),
        Person(None, None, (), (), (("777", "active"),)),
        Person("ur", "Multan", ("jobs", "training"), ((A, "active"),), ()),
    ], "'active' in the file never undoes an opt-out; the Telegram-only person is exported"


async def test_a_status_in_the_file_is_kept_and_only_ever_holds_people_back(
    units: Units,
) -> None:
    def before(conn: Connection) -> None:
        blocked = contacts.upsert_contact(conn, "telegram", "42", NOW)
        contacts.set_contact_status(conn, blocked.contact_id, "blocked", NOW, reason="telegram")
        out = contacts.upsert_contact(conn, "sms", C, NOW)
        contacts.set_contact_status(conn, out.contact_id, "opted_out", NOW, reason="keyword")
        contacts.upsert_contact(conn, "sms", B, NOW)

    await units.run(before)
    rows = [
        row(2, A, "41", sms_status="opted_out", telegram_status="active"),  # both new
        row(3, None, "42", telegram_status="active"),  # blocked stays blocked
        row(4, C, sms_status="invalid"),  # an opt-out is not replaced by another status
        row(5, B, sms_status="opted_out"),  # an active person the file says opted out
    ]
    report = await units.run(lambda conn: roster.import_rows(conn, rows, LATER))
    assert report == ImportReport(created=1, updated=3, opted_out=3)
    assert await units.run(reasons) == {
        A: ("opted_out", "import"),
        "41": ("active", "import"),
        "42": ("blocked", "telegram"),
        C: ("opted_out", "keyword"),
        B: ("opted_out", "import"),
    }
    people = await units.run(roster.export_people)
    assert [(p.sms, p.telegram) for p in people] == [
        ((), (("42", "blocked"),)),
        (((C, "opted_out"),), ()),
        (((B, "opted_out"),), ()),
        (((A, "opted_out"),), (("41", "active"),)),
    ]


async def test_rows_sharing_a_contact_are_one_person(units: Units) -> None:
    rows = [
        row(2, A, "5", city="multan"),
        row(3, B, "5", city="multan"),  # a second number of the same person
        row(4, A, "6", city="multan"),  # a second chat
    ]
    report = await units.run(lambda conn: roster.import_rows(conn, rows, NOW))
    assert report == ImportReport(created=1, updated=2, opted_out=0)
    assert await units.run(roster.export_people) == [
        Person(
            None, "multan", (), ((A, "active"), (B, "active")), (("5", "active"), ("6", "active"))
        )
    ]


async def test_a_row_naming_two_known_people_makes_them_one(units: Units) -> None:
    def before(conn: Connection) -> None:
        contacts.upsert_contact(conn, "sms", A, NOW, language="ur")
        contacts.upsert_contact(conn, "telegram", "9", NOW)

    await units.run(before)
    await units.run(lambda conn: roster.import_rows(conn, [row(2, A, "9", city="multan")], LATER))
    assert await units.run(roster.export_people) == [
        Person("ur", "multan", (), ((A, "active"),), (("9", "active"),))
    ]


async def test_an_import_is_all_rows_or_none(units: Units) -> None:
    rows = [row(2, A), row(3, B, language="xx")]
    with pytest.raises(IntegrityError):  # the database refuses the unknown language
        await units.run(lambda conn: roster.import_rows(conn, rows, NOW))
    assert await units.run(roster.export_people) == []


async def test_a_name_in_the_file_is_stored_and_an_empty_one_keeps_the_name_on_file(
    units: Units,
) -> None:
    def before(conn: Connection) -> None:
        contacts.upsert_contact(conn, "telegram", "777", NOW, name="Amina")  # from Telegram
        contacts.upsert_contact(conn, "sms", B, NOW, name="Bilal")

    await units.run(before)
    rows = [
        row(2, A, name="عائشہ قریشی"),
        row(3, None, "777", name="Amina Bibi"),  # the coordinator's is kept
        row(4, B, city="multan"),  # no name in the file: Bilal stays
    ]
    await units.run(lambda conn: roster.import_rows(conn, rows, LATER))
    people = await units.run(roster.export_people)
    assert [(p.name, p.sms, p.telegram) for p in people] == [
        ("Amina Bibi", (), (("777", "active"),)),
        ("Bilal", ((B, "active"),), ()),
        ("عائشہ قریشی", ((A, "active"),), ()),
    ]
    s = _subscribers
    folded = await units.run(
        lambda conn: conn.execute(select(s.c.name_folded).order_by(s.c.id)).scalars().all()
    )
    assert folded == ["amina bibi", "bilal", "عائشہ قریشی"], "searchable as imported"
