"""Units of work: one transaction each, group-committed on SQLite, on both databases."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError

from bot.store import contacts, messages
from bot.store.tables import contacts as contacts_table
from bot.store.units import Units

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def add(address: str) -> Callable[[Connection], int]:
    def unit(conn: Connection) -> int:
        return contacts.upsert_contact(conn, "sms", address, NOW).contact_id

    return unit


def fail_after_writing(conn: Connection) -> None:
    contacts.upsert_contact(conn, "sms", "+923009999999", NOW)
    raise RuntimeError("this unit fails after writing")


async def count(units: Units) -> int:
    def unit(conn: Connection) -> int:
        return int(conn.execute(select(func.count()).select_from(contacts_table)).scalar_one())

    return await units.run(unit)


async def test_a_failing_unit_is_undone_alone_in_a_burst(units: Units) -> None:
    good = [units.run(add(f"+9230000000{n:02d}")) for n in range(20)]
    results = await asyncio.gather(
        *good[:10], units.run(fail_after_writing), *good[10:], return_exceptions=True
    )
    failures = [r for r in results if isinstance(r, BaseException)]
    assert len(failures) == 1 and "fails after writing" in str(failures[0])
    assert await count(units) == 20, "the other 20 units are committed, the failed one is not"
    assert await contact_id_of(units, "+923009999999") is None


def refused_by_the_database(conn: Connection) -> None:
    contact_id = contacts.upsert_contact(conn, "sms", "+923008888888", NOW).contact_id
    messages.record_outbound(conn, contact_id, "sms", "hi", NOW, provider_id="SM-twice")
    messages.record_outbound(conn, contact_id, "sms", "hi", NOW, provider_id="SM-twice")


async def test_a_unit_the_database_refuses_is_undone_alone_in_a_burst(units: Units) -> None:
    good = [units.run(add(f"+9230000000{n:02d}")) for n in range(20)]
    results = await asyncio.gather(
        *good[:10], units.run(refused_by_the_database), *good[10:], return_exceptions=True
    )
    failures = [r for r in results if isinstance(r, BaseException)]
    assert len(failures) == 1 and isinstance(failures[0], IntegrityError)
    assert await count(units) == 20, "the other 20 units are committed, the refused one is not"
    assert await contact_id_of(units, "+923008888888") is None
    assert await units.run(add("+923007777777")), "the writer goes on after a refused unit"


async def contact_id_of(units: Units, address: str) -> int | None:
    c = contacts_table
    return await units.run(
        lambda conn: conn.execute(select(c.c.id).where(c.c.address == address)).scalar()
    )


async def test_a_result_is_visible_to_other_connections_when_run_returns(units: Units) -> None:
    contact_id = await units.run(add("+923001234567"))
    assert await contact_id_of(units, "+923001234567") == contact_id
