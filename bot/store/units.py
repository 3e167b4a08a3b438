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

:class:`Together` gathers calls that each need the same small unit for one item (a reply
recorded as sent, the dispatcher's read before each send and its record of each send's
outcome) into one unit for all of them: on PostgreSQL every unit costs its own BEGIN and
COMMIT round trips and a pooled connection, so the calls made while one such unit runs wait
for it and then share the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.engine import READERS, create_sync_sqlite_engine, database_kind

T = TypeVar("T")
Item = TypeVar("Item")

# Units per transaction at most: bounds how long one commit holds the others.
MAX_BATCH = 256
# A failed batch's items tried again at once at most (each a unit of its own): a few, so that
# items that each wait out a lock timeout do not wait in a row, nor empty the pool.
_RERUNS = 4

_Unit = tuple[Callable[[Connection], Any], asyncio.Future[Any]]

# PostgreSQL's error codes for a lock not granted within lock_timeout, and for a deadlock.
_GAVE_UP = frozenset({"55P03", "40P01"})


def wait_at_most(conn: Connection, timeout: timedelta) -> None:
    """On PostgreSQL, let the rest of this unit's transaction wait at most ``timeout`` for any
    one lock (``lock_timeout``) and then fail with an error :func:`gave_up_waiting` knows;
    SQLite's one writer never waits for a row."""
    if conn.dialect.name == "postgresql":
        milliseconds = max(1, int(timeout / timedelta(milliseconds=1)))
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = {milliseconds}")


def gave_up_waiting(exc: DBAPIError) -> bool:
    """Whether the database refused ``exc``'s statement for waiting too long for a lock
    (:func:`wait_at_most`) or for a deadlock: the same work may well pass alone, or later."""
    return getattr(exc.orig, "sqlstate", None) in _GAVE_UP


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

    @property
    def commits_together(self) -> bool:
        """Whether units that arrive while the writer is busy are committed together (SQLite's
        writer thread), rather than each in a transaction of its own (PostgreSQL)."""
        return self._writer is not None

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


class Together(Generic[Item, T]):
    """``await together(item)`` runs ``unit(conn, items)`` for ``item`` and every other item
    given while the unit before was running, in one unit of work; ``unit`` returns one result
    per item, in their order, and each caller gets its own. With nothing running, an item
    goes at once (no waiting for company); at most ``most`` go in one unit.

    With ``gather_on_sqlite`` false, each item is a unit of its own on SQLite, whose writer
    commits waiting units together already: for a unit that costs less for one item than
    for many (a prepared statement against one built for the batch).

    When a unit for several items raises, they are tried again one unit each (a few at a
    time), so that an item the database refuses fails alone and the others are done. A
    caller that is cancelled does not take its item back: it is done all the same.
    """

    def __init__(
        self,
        units: Units,
        unit: Callable[[Connection, list[Item]], Sequence[T]],
        most: int = MAX_BATCH,
        *,
        gather_on_sqlite: bool = True,
    ) -> None:
        self._units = units
        self._unit = unit
        self._most = most
        self._alone = units.commits_together and not gather_on_sqlite
        self._waiting: list[tuple[Item, asyncio.Future[T]]] = []
        self._running: asyncio.Task[None] | None = None

    async def __call__(self, item: Item) -> T:
        if self._alone:
            return (await self._units.run(lambda conn: self._unit(conn, [item])))[0]
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if self._running is None:
            self._running = asyncio.create_task(self._run_waiting())
        return await done  # a caller cancelled meanwhile leaves its item in the batch

    async def _run_waiting(self) -> None:
        batch: list[tuple[Item, asyncio.Future[T]]] = []
        try:
            while self._waiting:
                batch = self._waiting[: self._most]
                self._waiting = self._waiting[self._most :]
                await self._run(batch)
        finally:
            self._running = None
            for _, done in batch:  # only when this task itself was cancelled
                if not done.done():
                    done.cancel()

    async def _run(self, batch: list[tuple[Item, asyncio.Future[T]]]) -> None:
        items = [item for item, _ in batch]
        try:
            results = await self._units.run(lambda conn: self._unit(conn, items))
        except Exception as exc:
            if len(batch) > 1:  # one each: whatever was refused fails alone
                slots = asyncio.Semaphore(_RERUNS)

                async def alone(one: tuple[Item, asyncio.Future[T]]) -> None:
                    async with slots:
                        await self._run([one])

                await asyncio.gather(*(alone(one) for one in batch))
            elif not batch[0][1].done():
                batch[0][1].set_exception(exc)
            return
        for (_, done), result in zip(batch, results, strict=True):
            if not done.done():
                done.set_result(result)
