"""Run one synchronous unit of work, in one transaction, in one hop to the database.

The inbound hot path (:mod:`bot.store.sql`) is synchronous Core. On SQLite it runs in one
dedicated writer thread with its own pysqlite connection: a message costs one hop between the
event loop and a thread instead of one per statement, and the writer queues our own
transactions in order instead of racing for SQLite's single write lock. On PostgreSQL it runs
with ``AsyncConnection.run_sync`` on the async engine, where many connections write at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.engine import create_sync_sqlite_engine, database_kind

T = TypeVar("T")


class Units:
    """Runs ``fn(connection)`` inside a transaction that commits when ``fn`` returns."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sync: Engine | None = None
        self._writer: ThreadPoolExecutor | None = None
        if database_kind(engine.url) == "sqlite":
            self._sync = create_sync_sqlite_engine(engine.url)
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")

    async def run(self, fn: Callable[[Connection], T]) -> T:
        """``fn``'s result; its exception (the transaction rolled back) if it raises."""
        if self._writer is not None:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._writer, self._in_transaction, fn)
        async with self._engine.begin() as conn:
            return await conn.run_sync(fn)

    def _in_transaction(self, fn: Callable[[Connection], T]) -> T:
        assert self._sync is not None
        with self._sync.begin() as conn:
            return fn(conn)

    def close(self) -> None:
        """Finish queued units, then close the writer's connection."""
        if self._writer is not None:
            self._writer.shutdown(wait=True)
        if self._sync is not None:
            self._sync.dispose()
