"""bot.store.pages: a broadcast's recipients kept in pages until the dispatcher's claims write
them as deliveries, counted as waiting meanwhile, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Connection, delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.audience import Audience
from bot.core.decision import Channel
from bot.store import backlog, broadcasts, deliveries, pages
from bot.store.tables import contacts as _contacts
from bot.store.tables import deliveries as _deliveries
from bot.store.tables import recipient_pages as _pages
from bot.store.units import Units
from tests.conftest import eventually, postgres_only, waiting_for_a_lock
from tests.store.test_broadcasts import NOW, person, setup_broadcast, sms, tg

LEASE = timedelta(minutes=5)
# Who a default broadcast reaches in tests.store.test_broadcasts.town, in contact order.
TELEGRAM = [tg(1)[1], tg(4)[1], tg(8)[1]]
SMS = [sms(2)[1], sms(3)[1], sms(7)[1]]


async def paged_broadcast(units: Units) -> int:
    """The town's default broadcast kept in pages of 2, one page written at once."""
    bid = await setup_broadcast(units)
    queued = await units.run(
        lambda conn: broadcasts.queue_deliveries(conn, bid, Audience(), NOW, at_once=1, page=2)
    )
    assert queued == 6
    return bid


def written(conn: Connection, bid: int) -> list[str]:
    """The addresses of the broadcast's deliveries, in the order they were written."""
    d, c = _deliveries, _contacts
    rows = conn.execute(
        select(c.c.address).join(d, d.c.contact_id == c.c.id).where(d.c.broadcast_id == bid)
    )
    return [address for (address,) in rows.all()]


def left(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.sum(_pages.c.n), 0))).scalar_one())


def claim(conn: Connection, channel: Channel) -> list[str]:
    return [c.address for c in deliveries.claim(conn, channel, NOW, 10, LEASE)]


async def test_paged_recipients_wait_counted_and_are_written_as_claims_run_short(
    units: Units,
) -> None:
    bid = await paged_broadcast(units)

    def before(conn: Connection) -> tuple[list[str], int, dict[str, int], list[int]]:
        return (
            written(conn, bid),
            left(conn),
            broadcasts.progress(conn, [bid])[bid],
            broadcasts.finish_broadcasts(conn, NOW),
        )

    first, paged, progress, finished = await units.run(before)
    assert first == SMS[:2]  # the earliest page: SMS, the first two in contact order
    assert paged == 4
    assert progress == {"pending": 6}
    assert finished == []  # not done while anyone waits in a page
    tallies = await units.run(lambda conn: broadcasts.tallies(conn, [bid]))
    assert {(t.status, t.channel, t.n) for t in tallies} == {
        ("pending", "sms", 3),
        ("pending", "telegram", 3),
    }
    # In the backlog the paged wait their turn (later); the written SMS are due.
    queue = await units.run(lambda conn: backlog.read(conn, NOW + timedelta(minutes=1)))
    assert (queue["deliveries", "sms"].waiting, queue["deliveries", "sms"].later) == (2, 1)
    assert queue["deliveries", "sms"].oldest_due == NOW
    telegram = queue["deliveries", "telegram"]
    assert (telegram.waiting, telegram.later, telegram.oldest_due) == (0, 3, None)

    # Nothing of Telegram was written: its claim writes its pages and takes them, in order.
    assert await units.run(lambda conn: claim(conn, "telegram")) == TELEGRAM
    assert await units.run(lambda conn: claim(conn, "sms")) == SMS
    assert await units.run(lambda conn: claim(conn, "sms")) == []
    assert await units.run(left) == 0
    assert sorted(await units.run(lambda conn: written(conn, bid))) == sorted(SMS + TELEGRAM)


async def test_a_cancelled_broadcasts_pages_are_never_written_and_count_as_cancelled(
    units: Units,
) -> None:
    bid = await paged_broadcast(units)
    assert await units.run(lambda conn: broadcasts.cancel(conn, bid, "cli", NOW))

    assert await units.run(lambda conn: claim(conn, "telegram")) == []
    assert await units.run(lambda conn: claim(conn, "sms")) == []
    assert await units.run(lambda conn: written(conn, bid)) == SMS[:2]
    tallies = await units.run(lambda conn: broadcasts.tallies(conn, [bid]))
    assert {(t.status, t.channel, t.reason, t.n) for t in tallies} == {
        ("skipped", "sms", broadcasts.CANCELLED, 3),
        ("skipped", "telegram", broadcasts.CANCELLED, 3),
    }
    assert await units.run(lambda conn: broadcasts.progress(conn, [bid])) == {bid: {"skipped": 6}}
    queue = await units.run(lambda conn: backlog.read(conn, NOW))
    assert (queue["deliveries", "telegram"].waiting, queue["deliveries", "telegram"].later) == (
        0,
        0,
    )


async def test_queueing_again_with_pages_left_adds_only_newcomers(units: Units) -> None:
    bid = await paged_broadcast(units)
    await units.run(lambda conn: person(conn, sms(9)))

    def again(conn: Connection) -> int:
        return broadcasts.queue_deliveries(conn, bid, Audience(), NOW, at_once=1, page=2)

    assert await units.run(again) == 1
    assert await units.run(again) == 0
    # Held once each before anything more is written: 1 written + 6 paged.
    held = await units.run(lambda conn: len(written(conn, bid)) + left(conn))
    assert held == 7
    for _ in range(3):
        await units.run(lambda conn: claim(conn, "sms"))
        await units.run(lambda conn: claim(conn, "telegram"))
    everyone = await units.run(lambda conn: written(conn, bid))
    assert sorted(everyone) == sorted([*SMS, sms(9)[1], *TELEGRAM])  # each once


async def test_a_small_audience_is_all_deliveries_at_once(units: Units) -> None:
    bid = await setup_broadcast(units)
    await units.run(lambda conn: broadcasts.queue_deliveries(conn, bid, Audience(), NOW))
    assert await units.run(left) == 0
    assert sorted(await units.run(lambda conn: written(conn, bid))) == sorted(SMS + TELEGRAM)


@given(st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=50))
def test_ids_unpack_as_packed(ids: list[int]) -> None:
    blob = pages.pack(ids)
    assert len(blob) == 8 * len(ids)
    assert pages.unpack(blob) == ids


async def test_a_contact_gone_while_paged_is_left_out_not_in_the_way(units: Units) -> None:
    await paged_broadcast(units)
    await units.run(
        lambda conn: conn.execute(delete(_contacts).where(_contacts.c.address == TELEGRAM[1]))
    )

    assert await units.run(lambda conn: claim(conn, "telegram")) == [TELEGRAM[0], TELEGRAM[2]]
    assert await units.run(left) == 1  # the last SMS page, not written yet


@postgres_only
async def test_a_cancel_during_a_fill_skips_what_the_fill_writes(
    units: Units, engine: AsyncEngine
) -> None:
    bid = await paged_broadcast(units)
    async with engine.connect() as filler:
        await filler.begin()
        assert await filler.run_sync(lambda conn: pages.fill(conn, NOW, 5, channel="telegram"))
        cancel = asyncio.create_task(
            units.run(lambda conn: broadcasts.cancel(conn, bid, "cli", NOW))
        )
        # The cancel waits for the fill's pages (or, before the fix, went ahead without it).
        await eventually(lambda: cancel.done() or waiting_for_a_lock(engine))
        await filler.commit()
    assert await cancel

    pending = await units.run(
        lambda conn: conn.execute(
            select(func.count()).where(
                _deliveries.c.broadcast_id == bid, _deliveries.c.status == "pending"
            )
        ).scalar_one()
    )
    assert pending == 0
