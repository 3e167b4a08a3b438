"""Run one synchronous unit of work, in one transaction, in one hop to the database.

This is the one road to the database: every query is a synchronous Core function in the
store module named after what it keeps (:mod:`bot.store.contacts`, :mod:`.messages`,
:mod:`.deliveries` …), and callers compose them into a unit, a function of a ``Connection``,
and run it here. On PostgreSQL a unit runs with ``AsyncConnection.run_sync`` on the async
engine, where many connections write at once.

On SQLite, which has one writer at a time, it runs in one dedicated writer thread with its
own pysqlite connection, and units that arrive while the writer is busy are **group
committed**: the writer takes every waiting unit, runs each in its own SAVEPOINT (a unit that
raises is rolled back alone and gets its exception), commits once, and only then hands each
caller its result. So a webhook is answered only after its rows are durable, and a burst of
messages costs one commit and one thread hop instead of one per message.

:meth:`Units.read` is for a unit that only reads and may take a while (the console's
counts): on SQLite it runs on a reader connection in a thread of its own, in a snapshot
(WAL lets it read while the writer writes), so it never holds up the writer, and a write in
it raises (``query_only``); on PostgreSQL in a ``READ ONLY`` transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.engine import READERS, create_sync_sqlite_engine, database_kind

T = TypeVar("T")

# Units per transaction at most: bounds how long one commit holds the others.
MAX_BATCH = 256

_Unit = tuple[Callable[[Connection], Any], asyncio.Future[Any]]


class Units:
    """Runs ``fn(connection)`` inside a transaction that commits when ``fn`` returns."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sync: Engine | None = None
        self._writer: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._pending: list[_Unit] = []
        self._draining = False
        self._closed = False
        self._reader: Engine | None = None
        self._readers: ThreadPoolExecutor | None = None
        if database_kind(engine.url) == "sqlite":
            self._sync = create_sync_sqlite_engine(engine.url)
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
            if engine.url.database not in (None, "", ":memory:"):  # a file others can open
                self._reader = create_sync_sqlite_engine(engine.url, reader=True)
                self._readers = ThreadPoolExecutor(READERS, thread_name_prefix="sqlite-reader")

    async def run(self, fn: Callable[[Connection], T]) -> T:
        """``fn``'s result once committed; its exception (its work rolled back) if it raises."""
        if self._writer is None:
            async with self._engine.begin() as conn:
                return await conn.run_sync(fn)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the database writer is closed")
            self._pending.append((fn, future))
            start = not self._draining
            self._draining = True
        if start:
            self._writer.submit(self._drain, loop)
        return await future

    async def read(self, fn: Callable[[Connection], T]) -> T:
        """``fn``'s result, read in a transaction that changes nothing and does not wait for
        the writer (see the module docstring)."""
        if self._readers is None:
            if self._writer is not None:  # an in-memory database: only the writer sees it
                return await self.run(fn)

            def read_only(conn: Connection) -> T:
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                return fn(conn)

            async with self._engine.connect() as conn:
                try:
                    return await conn.run_sync(read_only)
                finally:
                    await conn.rollback()
        if self._closed:
            raise RuntimeError("the database is closed")
        return await asyncio.get_running_loop().run_in_executor(self._readers, self._read, fn)

    def _read(self, fn: Callable[[Connection], T]) -> T:
        assert self._reader is not None
        with self._reader.connect() as conn:
            try:
                return fn(conn)
            finally:
                conn.rollback()

    def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        """Writer thread: commit batches until nothing is waiting."""
        batch: list[_Unit] = []
        try:
            while True:
                with self._lock:
                    batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                    if not batch:
                        self._draining = False
                        return
                outcomes = self._commit(batch)
                batch = []
                loop.call_soon_threadsafe(_settle, outcomes)
        except BaseException as exc:
            # Never leave callers waiting on a writer that stopped: fail what it held and
            # what is queued, and let the next run() start a fresh drain.
            with self._lock:
                stranded, self._pending = batch + self._pending, []
                self._draining = False
            failed = [(future, exc, False) for _, future in stranded]
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                loop.call_soon_threadsafe(_settle, failed)
            raise

    def _commit(self, batch: list[_Unit]) -> list[tuple[asyncio.Future[Any], Any, bool]]:
        assert self._sync is not None
        results: list[tuple[asyncio.Future[Any], Any, bool]] = []
        try:
            with self._sync.begin() as conn:
                # SAVEPOINTs straight on the driver's cursor: conn.begin_nested() cost more
                # than a whole unit's statements. Units nest nothing, so one name will do.
                cursor = conn.connection.cursor()
                for fn, future in batch:
                    cursor.execute("SAVEPOINT unit")
                    try:
                        value = fn(conn)
                    except Exception as exc:  # the unit's own failure: only it is undone
                        cursor.execute("ROLLBACK TO SAVEPOINT unit")
                        cursor.execute("RELEASE SAVEPOINT unit")
                        results.append((future, exc, False))
                    else:
                        cursor.execute("RELEASE SAVEPOINT unit")
                        results.append((future, value, True))
                cursor.close()
        except Exception as exc:  # the commit itself failed: nothing in the batch is stored
            return [(future, exc, False) for _, future in batch]
        return results

    def close(self) -> None:
        """Finish queued units, then close the writer's connection."""
        with self._lock:
            self._closed = True
        if self._writer is not None:
            self._writer.shutdown(wait=True)
        if self._readers is not None:
            self._readers.shutdown(wait=True)
        if self._sync is not None:
            self._sync.dispose()
        if self._reader is not None:
            self._reader.dispose()


def _settle(outcomes: list[tuple[asyncio.Future[Any], Any, bool]]) -> None:
    for future, value, ok in outcomes:
        if future.done():  # the caller was cancelled; its unit is committed regardless
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
