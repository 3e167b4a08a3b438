"""The dispatcher's long-running loop, the per-person daily cap, delivery reports and finished
broadcasts, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Connection, select

from bot.channels.base import SendResult
from bot.core.audience import Audience
from bot.core.decision import Channel, Reply
from bot.outreach.dispatcher import Dispatcher
from bot.outreach.pacing import Pacer
from bot.store import broadcasts, deliveries
from bot.store.tables import broadcasts as _broadcasts
from bot.store.units import Units
from fakes.clock import FakeClock
from tests.conftest import eventually
from tests.outreach.test_dispatcher import NOW, Recorder, broadcast, person, rows, setup, sms, tg


async def broadcast_row(units: Units, broadcast_id: int) -> dict[str, object]:
    def unit(conn: Connection) -> dict[str, object]:
        row = conn.execute(select(_broadcasts).where(_broadcasts.c.id == broadcast_id)).one()
        return dict(row._mapping)

    return await units.run(unit)


async def only_broadcast(units: Units) -> int:
    def unit(conn: Connection) -> int:
        bid: int = conn.execute(select(_broadcasts.c.id)).scalar_one()
        return bid

    return await units.run(unit)


@dataclass
class Gate:
    """Holds every send until released; counts how many are held at once."""

    channel: Channel
    release: asyncio.Event = field(default_factory=asyncio.Event)
    held: int = 0
    most_held: int = 0
    sent: list[str] = field(default_factory=list)

    async def send(self, to: str, reply: Reply) -> SendResult:
        self.held += 1
        self.most_held = max(self.most_held, self.held)
        try:
            await self.release.wait()
        finally:
            self.held -= 1
        self.sent.append(to)
        return SendResult(provider_id=f"g-{to}")


async def run_until_final(dispatcher: Dispatcher, units: Units, channel: Channel) -> None:
    """Run the loop until no delivery is pending or sending, marking broadcasts done when idle."""
    stop = asyncio.Event()

    async def on_idle(now: datetime) -> None:
        await units.run(lambda conn: broadcasts.finish_broadcasts(conn, now))
        if not {"pending", "sending"} & {str(r["status"]) for r in (await rows(units)).values()}:
            stop.set()

    await asyncio.wait_for(
        dispatcher.run(channel, stop, clock=lambda: NOW, idle=0.01, on_idle=on_idle), timeout=30
    )


async def test_the_loop_sends_everything_and_the_broadcast_ends_done(units: Units) -> None:
    await setup(units, [tg(n) for n in range(1, 8)])
    bid = await only_broadcast(units)
    assert (await broadcast_row(units, bid))["status"] == "queued"
    sender = Recorder("telegram")
    dispatcher = Dispatcher(units, {"telegram": sender}, batch=3)
    await run_until_final(dispatcher, units, "telegram")
    assert sorted(to for to, _ in sender.sent) == [str(1000 + n) for n in range(1, 8)]
    assert {r["status"] for r in (await rows(units)).values()} == {"sent"}
    row = await broadcast_row(units, bid)
    assert row["status"] == "done"
    assert row["finished_at"] == NOW


async def test_claiming_starts_the_broadcast(units: Units) -> None:
    await setup(units, [tg(1), tg(2)])
    bid = await only_broadcast(units)
    await units.run(lambda conn: deliveries.claim(conn, "telegram", NOW, 1, timedelta(minutes=5)))
    assert (await broadcast_row(units, bid))["status"] == "sending"
    # One delivery still pending: not done yet.
    assert await units.run(lambda conn: broadcasts.finish_broadcasts(conn, NOW)) == []


async def test_the_loop_keeps_at_most_concurrency_in_flight(units: Units) -> None:
    await setup(units, [tg(n) for n in range(1, 11)])
    gate = Gate("telegram")
    dispatcher = Dispatcher(units, {"telegram": gate}, batch=3)
    stop = asyncio.Event()
    loop = asyncio.create_task(dispatcher.run("telegram", stop, clock=lambda: NOW, idle=0.01))
    await eventually(lambda: gate.held == 3)
    in_db = [r for r in (await rows(units)).values() if r["status"] == "sending"]
    assert gate.held == 3
    assert len(in_db) == 3  # the most a crash right now could send twice
    gate.release.set()
    await eventually(lambda: len(gate.sent) == 10)
    stop.set()
    await asyncio.wait_for(loop, timeout=10)
    assert gate.most_held == 3
    assert sorted(gate.sent) == [str(1000 + n) for n in range(1, 11)]


class WatchedStop(asyncio.Event):
    """A stop event that says (``seen``) when the dispatcher first reads it as set."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = asyncio.Event()

    def is_set(self) -> bool:
        if super().is_set():
            self.seen.set()
            return True
        return False


async def test_stopping_finishes_the_sends_in_flight(units: Units) -> None:
    await setup(units, [tg(1), tg(2)])
    gate = Gate("telegram")
    dispatcher = Dispatcher(units, {"telegram": gate}, batch=5)
    stop = WatchedStop()
    loop = asyncio.create_task(dispatcher.run("telegram", stop, clock=lambda: NOW, idle=0.01))
    await eventually(lambda: gate.held == 2)
    stop.set()
    await stop.seen.wait()  # the loop has read the stop while both sends are held
    gate.release.set()
    await asyncio.wait_for(loop, timeout=10)
    # Cut off, the two would be left "sending"; finished, they are "sent".
    assert {r["status"] for r in (await rows(units)).values()} == {"sent"}


async def test_wake_claims_new_work_without_waiting_for_idle(units: Units) -> None:
    sender = Recorder("telegram")
    dispatcher = Dispatcher(units, {"telegram": sender})
    stop, wake, idle = asyncio.Event(), asyncio.Event(), asyncio.Event()
    loop = asyncio.create_task(
        dispatcher.run(
            "telegram", stop, wake=wake, clock=lambda: NOW, idle=3600, on_idle=lambda _: idle.set()
        )
    )
    await idle.wait()  # the loop found nothing and waits (an hour, unless woken)
    await setup(units, [tg(1)])
    wake.set()
    await eventually(lambda: bool(sender.sent))
    stop.set()
    await asyncio.wait_for(loop, timeout=10)
    assert [to for to, _ in sender.sent] == ["1001"]


async def queue_for_person(units: Units, count: int, channels: list[Channel]) -> list[int]:
    """One person with a contact on each of ``channels`` and ``count`` broadcasts queued."""

    def unit(conn: Connection) -> list[int]:
        first = person(conn, channels[0], "+923001112222" if channels[0] == "sms" else "2001")
        if len(channels) > 1:
            subscriber_id = conn.execute(
                select(deliveries._contacts.c.subscriber_id).where(
                    deliveries._contacts.c.id == first
                )
            ).scalar_one()
            conn.execute(
                deliveries._contacts.insert().values(
                    subscriber_id=subscriber_id,
                    channel=channels[1],
                    address="2001" if channels[1] == "telegram" else "+923001112222",
                    status="active",
                    status_changed_at=NOW,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
        ids = []
        for _ in range(count):
            bid = broadcast(conn)
            broadcasts.queue_deliveries(conn, bid, Audience(both_channels=True), NOW)
            ids.append(bid)
        return ids

    return await units.run(unit)


async def test_the_daily_cap_holds_more_announcements_until_the_next_day(units: Units) -> None:
    await queue_for_person(units, 3, ["telegram"])
    sender = Recorder("telegram")
    dispatcher = Dispatcher(units, {"telegram": sender}, daily_cap=2)
    assert await dispatcher.run_once("telegram", NOW) == 3
    assert len(sender.sent) == 2
    held = [r for r in (await rows_by_id(units)).values() if r["status"] == "pending"]
    assert len(held) == 1
    assert held[0]["attempts"] == 0  # nothing was tried
    assert held[0]["next_attempt_at"] == NOW + timedelta(days=1)
    # Not before the day has passed; then it goes.
    assert await dispatcher.run_once("telegram", NOW + timedelta(hours=23)) == 0
    assert await dispatcher.run_once("telegram", NOW + timedelta(days=1)) == 1
    assert len(sender.sent) == 3


async def test_one_broadcast_on_both_channels_counts_once(units: Units) -> None:
    await queue_for_person(units, 2, ["telegram", "sms"])
    tg_sender, sms_sender = Recorder("telegram"), Recorder("sms")
    dispatcher = Dispatcher(units, {"telegram": tg_sender, "sms": sms_sender}, daily_cap=2)
    await dispatcher.run_once("telegram", NOW)
    await dispatcher.run_once("sms", NOW)
    # Two broadcasts, each on both channels: two announcements, within the cap of two.
    assert len(tg_sender.sent) == 2
    assert len(sms_sender.sent) == 2


async def test_no_cap_when_it_is_zero(units: Units) -> None:
    await queue_for_person(units, 4, ["telegram"])
    sender = Recorder("telegram")
    dispatcher = Dispatcher(units, {"telegram": sender}, daily_cap=0)
    assert await dispatcher.run_once("telegram", NOW) == 4
    assert len(sender.sent) == 4


async def rows_by_id(units: Units) -> dict[int, dict[str, object]]:
    def unit(conn: Connection) -> dict[int, dict[str, object]]:
        result = conn.execute(select(deliveries._deliveries))
        return {row.id: dict(row._mapping) for row in result}

    return await units.run(unit)


async def test_delivery_reports_move_sent_rows_forward_only(units: Units) -> None:
    ids = await setup(units, [sms(1), sms(2)])
    sender = Recorder("sms")
    dispatcher = Dispatcher(units, {"sms": sender})
    await dispatcher.run_once("sms", NOW)
    by_address = await rows(units)
    first, second = (str(by_address[sms(n)[1]]["provider_id"]) for n in (1, 2))
    later = NOW + timedelta(minutes=1)

    def unit(conn: Connection) -> list[int | None]:
        return [
            deliveries.report(conn, "sms", first, "delivered", later),
            deliveries.report(conn, "sms", second, "failed", later, error="30003: unreachable"),
            deliveries.report(conn, "sms", first, "failed", later),  # after delivered: ignored
            deliveries.report(conn, "sms", "no-such-id", "delivered", later),
            deliveries.report(conn, "sms", first, "delivered", later),  # repeated: ignored
        ]

    results = await units.run(unit)
    assert results == [ids[sms(1)[1]], ids[sms(2)[1]], None, None, None]
    after = await rows(units)
    assert after[sms(1)[1]]["status"] == "delivered"
    assert after[sms(2)[1]]["status"] == "failed"
    assert after[sms(2)[1]]["error"] == "30003: unreachable"
    # A report on the other channel with the same id touches nothing.
    other = await units.run(lambda c: deliveries.report(c, "telegram", first, "failed", later))
    assert other is None


async def test_sent_rows_record_when_they_went(units: Units) -> None:
    await setup(units, [tg(1)])
    await Dispatcher(units, {"telegram": Recorder("telegram")}).run_once("telegram", NOW)
    assert (await rows(units))["1001"]["sent_at"] == NOW


@dataclass
class Stamping:
    """A Telegram sender that notes when each send went, on the dispatcher's pacing clock."""

    channel: Channel = "telegram"
    clock: FakeClock = field(default_factory=FakeClock)
    stamps: list[float] = field(default_factory=list)

    async def send(self, to: str, reply: Reply) -> SendResult:
        self.stamps.append(self.clock.monotonic())
        return SendResult(provider_id=f"s-{len(self.stamps)}")


async def test_telegram_sends_to_one_chat_are_spaced(units: Units) -> None:
    await queue_for_person(units, 2, ["telegram"])
    sender = Stamping()
    stamps = sender.stamps
    dispatcher = Dispatcher(units, {"telegram": sender}, chat_gap=0.2, pace_clock=sender.clock)
    assert await dispatcher.run_once("telegram", NOW) == 2
    assert len(stamps) == 2
    assert stamps[1] - stamps[0] >= 0.2


async def test_rows_of_a_cancelled_broadcast_that_come_back_are_not_sent(units: Units) -> None:
    await setup(units, [tg(1), tg(2)])
    bid = await only_broadcast(units)
    lease = timedelta(minutes=5)
    # Both claimed (in flight), then the broadcast is cancelled; one send fails and comes back.
    claimed = await units.run(lambda conn: deliveries.claim(conn, "telegram", NOW, 10, lease))
    await units.run(
        lambda conn: conn.execute(
            _broadcasts.update().where(_broadcasts.c.id == bid).values(status="cancelled")
        )
    )
    first, second = claimed
    await units.run(lambda conn: deliveries.finish(conn, first.delivery_id, "sent", NOW))
    await units.run(lambda conn: deliveries.retry(conn, second.delivery_id, NOW, "502", now=NOW))
    sender = Recorder("telegram")
    await Dispatcher(units, {"telegram": sender}).run_once("telegram", NOW)
    assert sender.sent == []
    result = await rows(units)
    assert result["1001"]["status"] == "sent"  # it had gone before the cancel
    assert (result["1002"]["status"], result["1002"]["error"]) == ("skipped", "cancelled")


async def test_a_database_error_pauses_the_loop_and_it_carries_on(
    units: Units, caplog: pytest.LogCaptureFixture
) -> None:
    await setup(units, [tg(1), tg(2)])
    sender = Recorder("telegram")
    dispatcher = Dispatcher(units, {"telegram": sender}, error_pause=0.05)
    rename = "ALTER TABLE deliveries RENAME TO {}"
    await units.run(lambda conn: conn.exec_driver_sql(rename.format("deliveries_away")))
    stop = asyncio.Event()
    loop = asyncio.create_task(dispatcher.run("telegram", stop, clock=lambda: NOW, idle=0.01))
    await eventually(lambda: "claiming failed" in caplog.text and caplog.text.count("failed") >= 2)
    assert not loop.done()
    await units.run(
        lambda conn: conn.exec_driver_sql("ALTER TABLE deliveries_away RENAME TO deliveries")
    )
    await eventually(lambda: len(sender.sent) == 2)
    stop.set()
    await asyncio.wait_for(loop, timeout=10)
    assert sorted(to for to, _ in sender.sent) == ["1001", "1002"]


async def test_a_pace_slower_than_the_lease_sends_each_row_once(units: Units) -> None:
    # Ten rows, four sends a second, a one-second lease: a claim of all ten would leave rows
    # waiting for their turn past their lease, to be claimed (and sent) again.
    await setup(units, [tg(n) for n in range(1, 11)])
    # The wall clock the leases are on moves with the pacing clock: a row left waiting past
    # its lease (2.5 s of sends against 1 s) would be claimed again and sent twice.
    ticks = FakeClock(0.0)
    sender = Recorder("telegram")
    dispatcher = Dispatcher(
        units,
        {"telegram": sender},
        batch=10,
        lease=timedelta(seconds=1),
        rate={"telegram": Pacer(4, clock=ticks)},
        pace_clock=ticks,
    )
    stop = asyncio.Event()
    wall = lambda: NOW + timedelta(seconds=ticks.now)  # noqa: E731
    loop = asyncio.create_task(dispatcher.run("telegram", stop, clock=wall, idle=0.01))
    await eventually(lambda: len(sender.sent) >= 10)
    stop.set()
    await asyncio.wait_for(loop, timeout=10)
    assert sorted(to for to, _ in sender.sent) == [str(1000 + n) for n in range(1, 11)]
    assert ticks.now >= 2.0  # the sends took longer than a lease, as the test means them to


async def test_sends_to_one_chat_at_the_same_moment_are_spaced_too(units: Units) -> None:
    await queue_for_person(units, 3, ["telegram"])
    sender = Stamping()
    stamps = sender.stamps
    dispatcher = Dispatcher(units, {"telegram": sender}, chat_gap=0.2, pace_clock=sender.clock)
    assert await dispatcher.run_once("telegram", NOW) == 3  # all three claimed together
    stamps.sort()
    assert all(b - a >= 0.2 for a, b in itertools.pairwise(stamps))
