"""bot.store.deliveries: the outbox's lifecycle, on both databases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Connection, update

from bot.core.audience import Audience
from bot.core.decision import Channel
from bot.store import batches, broadcasts, deliveries, reports
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
from tests.store._plans import explained, index_definition

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


async def test_look_ups_by_provider_id_read_the_partial_index(units: Units) -> None:
    """ix_deliveries_channel_provider_id holds only the rows that have a provider id (none of
    the pending rows a broadcast queues: queueing writes no entry in it), and every statement
    that finds a delivery by its provider id still reads it: an equality on ``provider_id``
    implies it is not NULL, on both databases, with the id a bound parameter (unlike
    ix_deliveries_sms_accepted's condition, which SQLite matches against literals only)."""
    await setup(units, [sms(1), sms(2)])
    first, _ = await claim(units, "sms")
    await units.run(
        lambda conn: deliveries.finish(conn, first.delivery_id, "sent", NOW, provider_id="SM1")
    )

    def look_ups(conn: Connection) -> None:
        deliveries.report(conn, "sms", "SM1", "delivered", LATER)
        deliveries.contact_of_delivery(conn, "sms", "SM1")
        reports.apply_parked(conn, LATER)  # its EXISTS on the parked reports' provider ids

    def unit(conn: Connection) -> tuple[str, list[tuple[str, str]]]:
        name = "ix_deliveries_channel_provider_id"
        return index_definition(conn, name), explained(conn, look_ups)

    definition, found = await units.run(unit)
    assert definition.replace("(", "").replace(")", "").endswith("WHERE provider_id IS NOT NULL")
    by_provider = [plan for statement, plan in found if "deliveries.provider_id =" in statement]
    assert len(by_provider) == 3
    for plan in by_provider:
        assert "ix_deliveries_channel_provider_id" in plan, plan


async def test_the_daily_cap_and_a_persons_history_find_deliveries_by_contact(
    units: Units,
) -> None:
    """ix_deliveries_contact_id_sent_at stays whole (no ``sent_at IS NOT NULL``): it is the
    one index that finds a contact's deliveries, and these two queries need the unsent ones
    too. The daily cap counts deliveries sent in the last day or being sent now (``sent_at >
    :since OR status = 'sending'``, sent_at still NULL: no partial index on sent_at answers
    the OR), and a person's history lists every delivery. Made partial, neither query could
    read it: the cap read the whole table (PostgreSQL) or a whole index (SQLite), once per
    claimed batch."""
    await setup(units, [sms(1), tg(1)])
    sent, *_ = await claim(units, "telegram")
    await units.run(lambda conn: deliveries.finish(conn, sent.delivery_id, "sent", NOW))

    def cap_and_history(conn: Connection) -> None:
        since = NOW - timedelta(days=1)
        deliveries.recent_announcements(conn, [sent.subscriber_id], since, [])
        deliveries.of_contacts(conn, [sent.contact_id], limit=10)

    def unit(conn: Connection) -> tuple[str, list[tuple[str, str]]]:
        name = "ix_deliveries_contact_id_sent_at"
        return index_definition(conn, name), explained(conn, cap_and_history)

    definition, found = await units.run(unit)
    assert "WHERE" not in definition.upper()
    assert len(found) == 2
    for _, plan in found:
        assert "ix_deliveries_contact_id_sent_at" in plan, plan


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
