"""bot.store.roster: importing and exporting subscribers, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from bot.core.roster import RosterRow
from bot.store import contacts, roster
from bot.store.roster import ImportReport
from bot.store.units import Units

NOW = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=1)
A, B = "+923001111111", "+923002222222"


async def test_import_creates_updates_and_keeps_an_opt_out(units: Units) -> None:
    def before(conn: Connection) -> None:
        known = contacts.upsert_contact(conn, "sms", B, NOW, language="en")
        contacts.set_contact_status(conn, known.contact_id, "opted_out", NOW, reason="keyword")
        contacts.upsert_contact(conn, "telegram", "777", NOW)

    await units.run(before)
    rows = [
        RosterRow(2, A, "ur", "Multan", frozenset({"jobs", "training"})),
        RosterRow(3, B, None, "Bahawalpur", frozenset()),
    ]
    report = await units.run(lambda conn: roster.import_rows(conn, rows, LATER))
    assert report == ImportReport(created=1, updated=1, opted_out=1)
    assert await units.run(roster.export_rows) == [
        (B, "en", "Bahawalpur", "", "opted_out", ""),
        (A, "ur", "Multan", "jobs;training", "active", ""),
    ]


async def test_an_import_is_all_rows_or_none(units: Units) -> None:
    rows = [RosterRow(2, A, None, None, frozenset()), RosterRow(3, B, "xx", None, frozenset())]  # type: ignore[arg-type]
    with pytest.raises(IntegrityError):  # the database refuses the unknown language
        await units.run(lambda conn: roster.import_rows(conn, rows, NOW))
    assert await units.run(roster.export_rows) == []
