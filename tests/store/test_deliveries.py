"""bot.store.deliveries: the outbox's lifecycle, on both databases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Connection, update

from bot.core.audience import Audience
from bot.core.decision import Channel
from bot.store import batches, broadcasts, deliveries
from bot.store.tables import contacts as _contacts
from bot.store.units import Units
from tests.outreach.test_dispatcher import (
    NOW,
    broadcast,
    person,
    rows,
    setup,
    sms,
    tg,
)

LEASE = timedelta(minutes=5)
LATER = NOW + timedelta(minutes=10)


async def claim(
    units: Units, channel: Channel = "telegram", now: datetime = NOW
) -> list[deliveries.Claimed]:
    return await units.run(lambda conn: deliveries.claim(conn, channel, now, 10, LEASE))


async def test_a_claim_takes_due_rows_under_a_lease_and_counts_an_attempt(units: Units) -> None:
    ids = await setup(units, [tg(1), tg(2)], text_ur="پیر کو تربیت")
    claimed = await claim(units)
    assert [c.contact_id for c in claimed] == [ids["1001"], ids["1002"]]
    assert all(c.attempts == 1 and c.contact_status == "active" for c in claimed)
    assert (claimed[0].text_en, claimed[0].text_ur) == ("Training on Monday", "پیر کو تربیت")
    row = (await rows(units))["1001"]
    assert (row["status"], row["lease_until"]) == ("sending", NOW + LEASE)
    assert await claim(units) == [], "a claimed row is not claimed twice"
    started = await units.run(lambda conn: broadcasts.list_broadcasts(conn))
    assert [b.status for b in started] == ["sending"]


async def test_claim_returns_stuck_rows_of_the_channel_only(units: Units) -> None:
    await setup(units, [sms(1), tg(1)])
    await claim(units, "sms")
    await claim(units, "telegram")
    again = await claim(units, "telegram", LATER)
    assert [c.address for c in again] == ["1001"]
    assert again[0].attempts == 2
    result = await rows(units)
    assert result[sms(1)[1]]["status"] == "sending"


async def test_a_finished_row_is_not_overwritten_by_a_late_result(units: Units) -> None:
    await setup(units, [tg(1)])
    claimed = await claim(units)
    delivery_id = claimed[0].delivery_id
    assert await units.run(lambda conn: deliveries.finish(conn, delivery_id, "sent", NOW))
    assert not await units.run(
        lambda conn: deliveries.retry(conn, delivery_id, NOW, "late", now=NOW)
    )
    assert (await rows(units))["1001"]["status"] == "sent"


async def test_only_the_current_claim_may_move_its_row(units: Units) -> None:
    await setup(units, [tg(1)])
    (first,) = await claim(units)
    (second,) = await claim(units, now=LATER)  # the first claim's lease ran out
    stale = first.attempts

    def unit(conn: Connection) -> tuple[bool, bool, object, object]:
        late = deliveries.finish(conn, first.delivery_id, "sent", NOW, attempt=stale)
        before_first = batches.before_send(conn, first)
        before_second = batches.before_send(conn, second)
        current = deliveries.finish(
            conn, second.delivery_id, "sent", LATER, attempt=second.attempts, provider_id="p1"
        )
        return late, current, before_first, before_second

    late, current, before_first, before_second = await units.run(unit)
    assert (late, current) == (False, True)
    assert (before_first, before_second) == (False, "active")
    row = (await rows(units))["1001"]
    assert (row["status"], row["provider_id"], row["attempts"]) == ("sent", "p1", 2)


async def test_retry_defer_and_skip(units: Units) -> None:
    await setup(units, [tg(1), tg(2), tg(3)])
    one, two, three = await claim(units)

    def unit(conn: Connection) -> None:
        assert deliveries.retry(conn, one.delivery_id, LATER, "429", now=NOW)
        assert deliveries.defer(conn, two.delivery_id, LATER, NOW)
        assert deliveries.skip(conn, three.delivery_id, "opted_out", now=NOW)

    await units.run(unit)
    result = await rows(units)
    assert (result["1001"]["status"], result["1001"]["attempts"]) == ("pending", 1)
    assert result["1001"]["next_attempt_at"] == LATER and result["1001"]["error"] == "429"
    assert (result["1002"]["status"], result["1002"]["attempts"]) == ("pending", 0)
    assert (result["1003"]["status"], result["1003"]["attempts"]) == ("skipped", 0)
    assert await claim(units) == [], "nothing is due before LATER"
    assert {c.address for c in await claim(units, now=LATER)} == {"1001", "1002"}


async def test_deliveries_are_queued_and_claimed_in_contact_order(units: Units) -> None:
    # An update moves a row to the end of PostgreSQL's heap: without an order, the queue
    # would follow where the rows lie, not who subscribed first.
    def unit(conn: Connection) -> list[int]:
        ids = [person(conn, "telegram", str(1000 + n)) for n in (1, 2, 3)]
        conn.execute(update(_contacts).where(_contacts.c.id == ids[0]).values(updated_at=NOW))
        broadcasts.queue_deliveries(conn, broadcast(conn), Audience(both_channels=True), NOW)
        return ids

    ids = await units.run(unit)
    assert [c.contact_id for c in await claim(units)] == ids


async def test_quiet_hours_defer_every_due_row_of_a_channel(units: Units) -> None:
    await setup(units, [sms(1), sms(2), tg(1)])
    moved = await units.run(lambda conn: deliveries.defer_due(conn, "sms", NOW, LATER))
    assert moved == 2
    result = await rows(units)
    assert {result[sms(n)[1]]["next_attempt_at"] for n in (1, 2)} == {LATER}
    assert result["1001"]["next_attempt_at"] == NOW


async def test_release_orphans_returns_every_sending_row(units: Units) -> None:
    await setup(units, [sms(1), tg(1)])
    await claim(units, "sms")
    await claim(units, "telegram")
    assert await units.run(lambda conn: deliveries.release_orphans(conn, NOW)) == 2
    assert {r["status"] for r in (await rows(units)).values()} == {"pending"}


async def test_a_delivery_report_moves_a_sent_row_only(units: Units) -> None:
    ids = await setup(units, [sms(1)])
    (claimed,) = await claim(units, "sms")

    def report(conn: Connection) -> int | None:
        return deliveries.report(conn, "sms", "SM1", "delivered", LATER)

    assert await units.run(report) is None, "not sent yet"
    await units.run(
        lambda conn: deliveries.finish(conn, claimed.delivery_id, "sent", NOW, provider_id="SM1")
    )
    assert await units.run(report) == ids[sms(1)[1]]
    assert await units.run(report) is None, "a repeated report changes nothing"
    found = await units.run(lambda conn: deliveries.contact_of_delivery(conn, "sms", "SM1"))
    assert found == ids[sms(1)[1]]


async def test_recent_announcements_per_subscriber(units: Units) -> None:
    await setup(units, [tg(1)])
    (claimed,) = await claim(units)
    await units.run(lambda conn: deliveries.finish(conn, claimed.delivery_id, "sent", NOW))
    subscriber = claimed.subscriber_id

    def recent(since: datetime) -> Callable[[Connection], object]:
        return lambda conn: deliveries.recent_announcements(conn, [subscriber], since, [])

    assert await units.run(recent(NOW - timedelta(hours=1))) == {
        subscriber: ({claimed.broadcast_id}, NOW)
    }
    assert await units.run(recent(NOW)) == {}
