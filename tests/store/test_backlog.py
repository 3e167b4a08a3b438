"""bot.store.backlog: the outboxes' backlog as /metrics and /healthz read it, on both
databases, at times the test chooses."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Connection

from bot.core.decision import Reply
from bot.store import backlog, deliveries, replies
from bot.store.backlog import Queue
from bot.store.units import Units
from tests.outreach.test_dispatcher import NOW, OPENS, setup, sms, tg

LEASE = timedelta(minutes=5)


async def test_an_empty_database_has_every_outbox_of_every_channel_empty(units: Units) -> None:
    found = await units.read(lambda conn: backlog.read(conn, NOW))
    assert found == {
        (box, channel): Queue()
        for box in ("deliveries", "replies")
        for channel in ("sms", "telegram")
    }
    assert found["deliveries", "sms"].oldest_age(NOW) == 0.0


async def test_deliveries_are_counted_by_state_and_the_oldest_due_is_aged(units: Units) -> None:
    await setup(units, [tg(1), tg(2), tg(3), tg(4), sms(1), sms(2)])  # all due at NOW
    (deferred_sms,) = await units.run(lambda conn: deliveries.claim(conn, "sms", NOW, 1, LEASE))
    first, second = await units.run(lambda conn: deliveries.claim(conn, "telegram", NOW, 2, LEASE))

    def settle(conn: Connection) -> None:
        # One claimed telegram delivery is sent, the other failed for a while (due again in
        # an hour); one SMS waits for quiet hours to end.
        deliveries.finish(conn, first.delivery_id, "sent", NOW, attempt=first.attempts)
        deliveries.retry(conn, second.delivery_id, NOW + timedelta(hours=1), "503", now=NOW)
        deliveries.defer(conn, deferred_sms.delivery_id, OPENS, NOW)

    await units.run(settle)
    # Another claim takes one of the two telegram rows still due: in flight.
    assert len(await units.run(lambda conn: deliveries.claim(conn, "telegram", NOW, 1, LEASE)))

    later = NOW + timedelta(seconds=90)
    found = await units.read(lambda conn: backlog.read(conn, later))

    telegram = found["deliveries", "telegram"]
    assert (telegram.waiting, telegram.later, telegram.in_flight) == (1, 1, 1)
    assert telegram.oldest_due == NOW
    assert telegram.oldest_age(later) == 90.0
    sms_queue = found["deliveries", "sms"]
    assert (sms_queue.waiting, sms_queue.later, sms_queue.in_flight) == (1, 1, 0)
    assert sms_queue.oldest_age(later) == 90.0
    # An hour and a half on, the retried one is due too; the oldest has waited all along.
    hour = NOW + timedelta(hours=1, minutes=30)
    found = await units.read(lambda conn: backlog.read(conn, hour))
    assert found["deliveries", "telegram"].waiting == 2
    assert found["deliveries", "telegram"].oldest_age(hour) == 5400.0


async def test_replies_count_as_waiting_once_their_lease_or_backoff_is_over(units: Units) -> None:
    ids = await setup(units, [sms(1), tg(1)])

    def store(conn: Connection) -> None:
        for address, channel in ((sms(1)[1], "sms"), (tg(1)[1], "telegram")):
            replies.store(conn, ids[address], channel, Reply("hello"), NOW, LEASE, reply_to=None)

    await units.run(store)
    sent = await units.run(
        lambda conn: replies.store(
            conn, ids[sms(1)[1]], "sms", Reply("done"), NOW, LEASE, reply_to=None
        )
    )
    await units.run(lambda conn: replies.finish(conn, sent, "sent", NOW, attempt=1))

    during = await units.read(lambda conn: backlog.read(conn, NOW + timedelta(minutes=1)))
    assert during["replies", "sms"] == Queue(later=1)  # being sent under its lease
    after = NOW + LEASE + timedelta(seconds=30)  # its process died: anyone may send it
    found = await units.read(lambda conn: backlog.read(conn, after))
    assert (found["replies", "sms"].waiting, found["replies", "sms"].later) == (1, 0)
    assert found["replies", "sms"].oldest_age(after) == 30.0
    assert found["replies", "telegram"].waiting == 1
    assert found["deliveries", "sms"].waiting == 1  # the broadcast from setup()
