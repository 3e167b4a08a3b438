"""The one-worker lock: at most one process at a time schedules and sends.

* PostgreSQL: a session advisory lock (``pg_try_advisory_lock``) on a connection the holder
  keeps open; the server releases it when that connection closes, including when the process
  dies or the connection is cut. The holder hears at once when the server ends the
  connection (:meth:`WorkerLock.lost`), and finds a silent cut by pinging it
  (:meth:`WorkerLock.still_held`).
* SQLite: an exclusive ``flock`` on ``<database file>.worker.lock`` beside the database file
  itself, its symbolic links resolved as SQLite resolves them: two processes reaching one
  file by different paths share the lock. The kernel releases it when the process dies. An
  in-memory database belongs to one process: its lock is always free.

Losing the lock unnoticed is fenced by the epoch its holder takes with it
(:mod:`bot.store.epochs`).

Unlike the other store modules this one does not go through :class:`bot.store.units.Units`:
an advisory lock belongs to the connection that took it, so :class:`WorkerLock` holds a
connection of its own for as long as it holds the lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.engine import database_kind, ping, sqlite_file

log = logging.getLogger(__name__)

# pg_advisory_lock key: "DHANOTE1" as a 64-bit integer.
ADVISORY_KEY = int.from_bytes(b"DHANOTE1", "big") - 2**63

_TRY_LOCK = text("SELECT pg_try_advisory_lock(:k)")
_UNLOCK = text("SELECT pg_advisory_unlock(:k)")


class WorkerLock:
    """The one-worker lock on ``engine``'s database; see the module docstring.

    Call :meth:`try_acquire` only while not holding the lock; :meth:`release` at any time.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None
        self._file: IO[bytes] | None = None
        self._lost = asyncio.Event()

    async def try_acquire(self) -> bool:
        """Take the lock if no one holds it; False, at once, when another holder has it.

        Raises SQLAlchemy's errors when the PostgreSQL server cannot be reached, ``OSError``
        when the SQLite lock file cannot be opened."""
        if database_kind(self._engine.url) == "postgresql":
            conn = await self._engine.connect()
            try:
                got = (await conn.execute(_TRY_LOCK, {"k": ADVISORY_KEY})).scalar_one()
                await conn.commit()
            except BaseException:
                await conn.close()
                raise
            if got:
                self._conn = conn
                self._lost = lost = asyncio.Event()
                driver = (await conn.get_raw_connection()).driver_connection
                if driver is not None:
                    # asyncpg calls this when the connection closes, the server's doing too.
                    driver.add_termination_listener(lambda _: lost.set())
                return True
            await conn.close()
            return False
        path = lock_path(self._engine.url)
        if path is None:
            return True
        handle = path.open("ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    async def lost(self) -> None:
        """Return when the server has ended the PostgreSQL connection holding the lock (the
        lock went with it); never for a file lock, nor for a silent network cut (see
        :meth:`still_held`)."""
        await self._lost.wait()

    async def still_held(self) -> bool:
        """False when the PostgreSQL connection holding the lock is gone (and the lock with
        it); a file lock lasts as long as the process."""
        if self._conn is None:
            return True
        try:
            await ping(self._conn)
            await self._conn.commit()
        except Exception as exc:
            log.warning("the worker lock's connection failed: %s", type(exc).__name__)
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None
            return False
        return True

    async def release(self) -> None:
        """Let the lock go (another worker may then take it)."""
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.execute(_UNLOCK, {"k": ADVISORY_KEY})
            await self._conn.close()
            self._conn = None
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def lock_path(url: str | URL) -> Path | None:
    """The lock file beside the SQLite database at ``url``; None for an in-memory one.

    Named after the database file itself (:func:`bot.store.engine.sqlite_file`: symbolic links
    resolved, relative paths taken from the working directory, as SQLite opens it), not after
    the path in ``url``: every path to one file gives one lock."""
    real = sqlite_file(url)
    return None if real is None else real.with_name(real.name + ".worker.lock")


def worker_running(url: str | URL) -> bool:
    """True when a process holds the one-worker lock of the SQLite database at ``url`` (an
    ``outreach worker``, or an ``outreach serve`` running its worker); False when none does,
    for a database without a lock file, and for PostgreSQL (ask the server instead).

    Takes the lock for an instant to find out: a worker starting just then waits as a
    standby for its next try."""
    path = lock_path(url)
    if path is None or not path.exists():
        return False
    with path.open("ab") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return False
