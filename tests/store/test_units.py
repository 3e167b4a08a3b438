"""Units of work: one transaction each, group-committed on SQLite, on both databases."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, func, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from bot.store import contacts, messages
from bot.store.tables import contacts as contacts_table
from bot.store.units import Together, Units
from tests.conftest import PATIENCE, eventually

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


async def test_a_read_sees_what_was_committed_and_cannot_write(units: Units) -> None:
    await units.run(add("+923001234567"))

    def read(conn: Connection) -> int:
        return int(conn.execute(select(func.count()).select_from(contacts_table)).scalar_one())

    assert await units.read(read) == 1
    # SQLite's query_only ("readonly database"), PostgreSQL's "read-only transaction".
    with pytest.raises(DBAPIError, match=r"(?i)read"):
        await units.read(add("+923007654321"))
    assert await count(units) == 1, "the read's write is not stored"


async def test_a_read_does_not_wait_for_the_writer(units: Units, db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        return  # PostgreSQL has many writers: nothing to wait for
    await units.run(add("+923001234567"))
    holding = threading.Event()
    release = threading.Event()

    def hold_the_writer(conn: Connection) -> None:
        contacts.upsert_contact(conn, "sms", "+923001111111", NOW)
        holding.set()
        release.wait(PATIENCE)

    held = asyncio.ensure_future(units.run(hold_the_writer))
    await asyncio.to_thread(holding.wait, PATIENCE)
    try:
        # The writer is inside a transaction that wrote: a read through it would wait here.
        seen = await asyncio.wait_for(
            units.read(lambda c: contacts.get_contact(c, "sms", "+923001234567")), PATIENCE
        )
        unseen = await units.read(lambda c: contacts.get_contact(c, "sms", "+923001111111"))
    finally:
        release.set()
        await held
    assert seen is not None
    assert unseen is None, "a read sees only what was committed"


class Adds:
    """The unit a :class:`Together` runs: a contact for each address (a refused one for
    ``REFUSED``), its id for each; notes how many items each run was given."""

    REFUSED = "+923008888888"

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.entered = threading.Event()  # set once a run has begun (any thread)

    def __call__(self, conn: Connection, addresses: list[str]) -> list[int]:
        self.sizes.append(len(addresses))
        self.entered.set()
        found = []
        for address in addresses:
            if address == self.REFUSED:
                refused_by_the_database(conn)
            found.append(contacts.upsert_contact(conn, "sms", address, NOW).contact_id)
        return found


async def test_together_runs_what_arrives_at_once_in_one_unit(units: Units) -> None:
    adds = Adds()
    together = Together(units, adds)
    addresses = [f"+9230000000{n:02d}" for n in range(10)]
    ids = await asyncio.gather(*(together(a) for a in addresses))
    assert ids == [await contact_id_of(units, a) for a in addresses], "each its own, committed"
    assert adds.sizes == [10]
    assert await together("+923007777777") == await contact_id_of(units, "+923007777777")
    assert adds.sizes == [10, 1], "alone, it goes at once"


async def test_together_an_item_the_database_refuses_fails_alone(units: Units) -> None:
    adds = Adds()
    together = Together(units, adds)
    addresses = [f"+9230000000{n:02d}" for n in range(5)]
    results = await asyncio.gather(
        *(together(a) for a in [*addresses[:2], Adds.REFUSED, *addresses[2:]]),
        return_exceptions=True,
    )
    assert isinstance(results.pop(2), IntegrityError)
    assert results == [await contact_id_of(units, a) for a in addresses]
    assert await contact_id_of(units, Adds.REFUSED) is None
    assert adds.sizes == [6, 1, 1, 1, 1, 1, 1], "the batch failed, then each went alone"


async def test_together_not_gathering_on_sqlite(units: Units, db_url: str) -> None:
    adds = Adds()
    together = Together(units, adds, gather_on_sqlite=False)
    addresses = [f"+9230000000{n:02d}" for n in range(10)]
    ids = await asyncio.gather(*(together(a) for a in addresses))
    assert ids == [await contact_id_of(units, a) for a in addresses]
    # SQLite's writer commits the waiting units together itself.
    assert adds.sizes == ([1] * 10 if db_url.startswith("sqlite") else [10])


async def test_together_a_cancelled_caller_s_item_is_done_all_the_same(units: Units) -> None:
    adds = Adds()
    together = Together(units, adds)
    call = asyncio.ensure_future(together("+923001234567"))
    assert await asyncio.to_thread(adds.entered.wait, PATIENCE), "its unit never began"
    call.cancel()
    await eventually(
        lambda: _is_stored(units, "+923001234567"), "the cancelled caller's contact stored"
    )


async def _is_stored(units: Units, address: str) -> bool:
    return await contact_id_of(units, address) is not None
