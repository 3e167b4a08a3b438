"""One worker sends at a time: the second waits as a standby and takes over when the first
stops (PostgreSQL advisory lock; flock beside the SQLite file)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, time

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app.runtime import sandbox_senders
from bot.channels.base import SendResult
from bot.config import Settings
from bot.core.decision import Channel, Reply
from bot.outreach.dispatcher import Dispatcher
from bot.outreach.pacing import Pacer
from bot.outreach.worker import Worker
from bot.store import epochs
from bot.store.units import Units
from fakes.clock import FakeClock
from tests.conftest import eventually
from tests.outreach.test_dispatcher import Recorder, rows, setup, sms, tg
from tests.store.test_locks import terminate_lock_holder


def make_worker(engine: AsyncEngine, units: Units) -> Worker:
    settings = Settings(_env_file=None, database_url=str(engine.url))
    return Worker(engine, units, sandbox_senders(), settings, idle=0.01, standby_retry=0.02)


async def test_a_second_worker_stands_by_until_the_first_stops(
    engine: AsyncEngine, units: Units, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="bot.outreach.worker")
    first, second = make_worker(engine, units), make_worker(engine, units)
    stop_first, stop_second = asyncio.Event(), asyncio.Event()
    running_first = asyncio.create_task(first.run(stop_first))
    await eventually(lambda: first.active)
    running_second = asyncio.create_task(second.run(stop_second))
    await eventually(lambda: "waits as a standby" in caplog.text)  # it tried the lock
    assert not second.active
    stop_first.set()
    await asyncio.wait_for(running_first, timeout=10)
    await eventually(lambda: second.active)  # the standby takes over
    stop_second.set()
    await asyncio.wait_for(running_second, timeout=10)
    assert not second.active


async def test_a_standby_stops_when_asked(
    engine: AsyncEngine, units: Units, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="bot.outreach.worker")
    first, second = make_worker(engine, units), make_worker(engine, units)
    stop_first, stop_second = asyncio.Event(), asyncio.Event()
    running_first = asyncio.create_task(first.run(stop_first))
    await eventually(lambda: first.active)
    running_second = asyncio.create_task(second.run(stop_second))
    await eventually(lambda: "waits as a standby" in caplog.text)
    stop_second.set()
    await asyncio.wait_for(running_second, timeout=10)
    assert first.active and not second.active
    stop_first.set()
    await asyncio.wait_for(running_first, timeout=10)


async def test_a_worker_that_loses_the_postgres_lock_stops_and_starts_again(
    engine: AsyncEngine, units: Units
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the advisory lock lives on a PostgreSQL connection")
    settings = Settings(_env_file=None, database_url=str(engine.url))
    worker = Worker(
        engine,
        units,
        sandbox_senders(),
        settings,
        idle=0.01,
        standby_retry=0.02,
        restart_pause=0.05,
        lock_check=0.05,
    )
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    await eventually(lambda: worker.active)
    await terminate_lock_holder(engine)  # the database drops it: a restart, a network cut
    await eventually(lambda: worker.sessions == 2 and worker.active)  # stopped, re-locked, resumed
    stop.set()
    await asyncio.wait_for(running, timeout=10)


async def test_in_live_mode_a_channel_without_a_provider_fails_its_deliveries_clearly(
    engine: AsyncEngine, units: Units
) -> None:
    await setup(units, [sms(1), tg(1)])
    # A Telegram token and no SMS provider: live mode, SMS still on the simulator.
    settings = Settings(
        _env_file=None,
        database_url=str(engine.url),
        telegram_bot_token="1:x",
        quiet_hours_start=time(0, 0),  # no quiet hours: the test passes at any hour
        quiet_hours_end=time(0, 0),
    )
    tg_sender = Recorder("telegram")
    senders = {"sms": sandbox_senders()["sms"], "telegram": tg_sender}
    worker = Worker(engine, units, senders, settings, idle=0.01)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))

    async def final() -> bool:
        return {r["status"] for r in (await rows(units)).values()} <= {"sent", "failed"}

    await eventually(final, "every delivery settles")
    stop.set()
    await asyncio.wait_for(running, timeout=10)
    result = await rows(units)
    assert result[sms(1)[1]]["status"] == "failed"
    assert result[sms(1)[1]]["error"] == "sms is not configured (set an SMS provider)"
    assert result["1001"]["status"] == "sent"
    assert [to for to, _ in tg_sender.sent] == ["1001"]


@dataclass
class TakenOver:
    """Accepts everything; while its ``at``-th send is on its way another worker takes over
    (takes the next epoch, as one that found the lock free would). Sends that begin after
    that are in ``after``."""

    units: Units
    at: int
    channel: Channel = "telegram"
    before: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    taken: bool = False

    async def send(self, to: str, reply: Reply) -> SendResult:
        (self.after if self.taken else self.before).append(to)
        if len(self.before) == self.at and not self.taken:
            await self.units.run(lambda conn: epochs.take(conn, datetime.now(UTC)))
            self.taken = True
        return SendResult(provider_id=f"p-{to}")


async def test_a_worker_whose_epoch_was_taken_stops_sending_at_once(
    engine: AsyncEngine, units: Units, caplog: pytest.LogCaptureFixture
) -> None:
    """The split brain: this worker still holds its lock as far as it knows (a connection
    cut it has not noticed yet), and another worker has taken over. Its next send finds its
    epoch stale; the sends waiting their turn are dropped and the session ends."""
    caplog.set_level("INFO", logger="bot.outreach.worker")
    await setup(units, [tg(n) for n in range(1, 41)])
    settings = Settings(
        _env_file=None,
        database_url=str(engine.url),
        telegram_per_second=20,  # paced: sends wait their turn one by one
        telegram_chat_seconds=0,
        announcements_per_day=0,
    )
    sender = TakenOver(units, at=5)
    senders = {"sms": sandbox_senders()["sms"], "telegram": sender}
    worker = Worker(engine, units, senders, settings, idle=0.01, restart_pause=3600)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    await eventually(lambda: "another worker took over" in caplog.text, "the worker is fenced")
    await eventually(lambda: not worker.active, "the session ends")
    # Only a send whose read was already under way when the epoch changed may still go.
    assert len(sender.after) <= 1, sender.after
    stop.set()
    await asyncio.wait_for(running, timeout=10)
    result = await rows(units)
    sent = {address for address, row in result.items() if row["status"] == "sent"}
    assert sent == set(sender.before + sender.after)
    assert len(sent) < 40, "the rest is left for the worker that took over"


async def test_a_dispatcher_taking_over_holds_every_pace_for_one_window(units: Units) -> None:
    """The worker before it may have sent up to the rate in the window before it stopped:
    the first send of the new one waits out that window, on every paced channel."""
    clock = FakeClock()
    rate = {"sms": Pacer(5, clock=clock), "telegram": Pacer(30, clock=clock)}
    dispatcher = Dispatcher(units, {}, rate=rate, pace_clock=clock)
    assert [p.free_in() for p in rate.values()] == [0.0, 0.0]
    dispatcher.hold_pace()
    assert [p.free_in() for p in rate.values()] == pytest.approx([p.window for p in rate.values()])
    clock.advance(max(p.window for p in rate.values()))
    assert [p.free_in() for p in rate.values()] == [0.0, 0.0]


async def test_the_sending_worker_beats_its_heartbeat_and_stops_once_another_took_its_epoch(
    engine: AsyncEngine, units: Units, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="bot.outreach.worker")
    wall = [datetime(2026, 11, 25, 10, 0, tzinfo=UTC)]
    settings = Settings(_env_file=None, database_url=str(engine.url))
    worker = Worker(
        engine,
        units,
        sandbox_senders(),
        settings,
        clock=lambda: wall[0],
        idle=0.01,
        restart_pause=60,  # the session that ends here is not started again within the test
        lock_check=0.01,
        heartbeat=0,  # at every check
    )
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    await eventually(lambda: worker.epoch is not None, "the worker takes its epoch")
    first = await units.run(epochs.holder)
    assert first is not None and first.heartbeat_at == wall[0]  # taking the epoch beat

    wall[0] = datetime(2026, 11, 25, 10, 0, 30, tzinfo=UTC)

    async def beaten() -> bool:
        holder = await units.run(epochs.holder)
        return holder is not None and holder.heartbeat_at == wall[0]

    await eventually(beaten, "the heartbeat moves with the worker's clock")
    await units.run(lambda conn: epochs.take(conn, wall[0]))  # another worker took over
    await eventually(lambda: "another worker took over" in caplog.text, "the worker is fenced")
    assert not worker.active
    stop.set()
    await asyncio.wait_for(running, timeout=10)
