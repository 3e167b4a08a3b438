"""One worker sends at a time: the second waits as a standby and takes over when the first
stops (PostgreSQL advisory lock; flock beside the SQLite file)."""

from __future__ import annotations

import asyncio
from datetime import time

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.outreach.worker import Worker
from bot.runtime import sandbox_senders
from bot.store.units import Units
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
