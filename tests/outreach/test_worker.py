"""One worker sends at a time: the second waits as a standby and takes over when the first
stops (PostgreSQL advisory lock; flock beside the SQLite file)."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.outreach.worker import Worker
from bot.runtime import sandbox_senders
from bot.store.units import Units
from tests.outreach.test_dispatch_loop import until


def make_worker(engine: AsyncEngine, units: Units) -> Worker:
    settings = Settings(_env_file=None, database_url=str(engine.url))
    return Worker(engine, units, sandbox_senders(), settings, idle=0.01, standby_retry=0.02)


async def test_a_second_worker_stands_by_until_the_first_stops(
    engine: AsyncEngine, units: Units
) -> None:
    first, second = make_worker(engine, units), make_worker(engine, units)
    stop_first, stop_second = asyncio.Event(), asyncio.Event()
    running_first = asyncio.create_task(first.run(stop_first))
    await until(lambda: first.active)
    running_second = asyncio.create_task(second.run(stop_second))
    await asyncio.sleep(0.2)  # several tries at the lock
    assert not second.active
    stop_first.set()
    await asyncio.wait_for(running_first, timeout=10)
    await until(lambda: second.active)  # the standby takes over
    stop_second.set()
    await asyncio.wait_for(running_second, timeout=10)
    assert not second.active


async def test_a_standby_stops_when_asked(engine: AsyncEngine, units: Units) -> None:
    first, second = make_worker(engine, units), make_worker(engine, units)
    stop_first, stop_second = asyncio.Event(), asyncio.Event()
    running_first = asyncio.create_task(first.run(stop_first))
    await until(lambda: first.active)
    running_second = asyncio.create_task(second.run(stop_second))
    await asyncio.sleep(0.05)
    stop_second.set()
    await asyncio.wait_for(running_second, timeout=10)
    assert first.active and not second.active
    stop_first.set()
    await asyncio.wait_for(running_first, timeout=10)
