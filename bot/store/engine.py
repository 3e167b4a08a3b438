"""Engines for SQLite (the embedded default) and PostgreSQL.

SQLite is set up for one process with many concurrent tasks:

* every connection runs ``journal_mode=WAL`` (readers never block the writer),
  ``busy_timeout=5000`` (wait for a lock instead of failing at once), ``foreign_keys=ON``
  (off by default in SQLite!) and ``synchronous=NORMAL`` (safe with WAL, far fewer fsyncs);
* every transaction starts with ``BEGIN IMMEDIATE``, taking the write lock up front. With
  the driver's deferred ``BEGIN``, a transaction that reads and then writes while another
  one wrote in between fails with "database is locked" at once, whatever the busy_timeout
  (its snapshot is stale); with IMMEDIATE it waits its turn instead. The price: read-only
  transactions queue behind writers too; so the reads that take long (the console's
  counts) go through a reader engine (:func:`create_sync_sqlite_engine` with
  ``reader=True``): deferred ``BEGIN`` and ``query_only=ON``, a snapshot beside the writer.
  To emit our own BEGIN, the driver's transaction handling is switched off
  (``isolation_level = None`` on the DBAPI connection) and SQLAlchemy's "begin" event sends
  it; COMMIT and ROLLBACK still go through the driver. This also makes DDL transactional,
  which Alembic relies on.

PostgreSQL goes through asyncpg. A connection taken from the pool is first asked whether
its socket is still open (:func:`_refuse_closed`), which costs no round trip: when the server
restarts or ends a connection, asyncpg sees the socket close and the pool opens a new
connection instead of failing the request. SQLAlchemy's ``pool_pre_ping`` would ask the
server instead, in three round trips on asyncpg (BEGIN, an empty query, ROLLBACK): six of the
fifteen round trips of an SMS webhook, for a failure the socket already reports.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

DatabaseKind = Literal["sqlite", "postgresql"]

SQLITE_PRAGMAS: tuple[tuple[str, str], ...] = (
    ("journal_mode", "WAL"),
    ("busy_timeout", "5000"),
    ("foreign_keys", "ON"),
    ("synchronous", "NORMAL"),
)


# Reader connections (threads) beside SQLite's one writer: see Units.read.
READERS = 2


class UnsupportedDatabase(ValueError):
    """The URL names a database other than SQLite or PostgreSQL."""


def database_kind(url: str | URL) -> DatabaseKind:
    """``sqlite`` or ``postgresql`` for a SQLAlchemy URL; raises :class:`UnsupportedDatabase`."""
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return "sqlite"
    if backend == "postgresql":
        return "postgresql"
    raise UnsupportedDatabase(
        f"unsupported database {backend!r}: use sqlite+aiosqlite:// or postgresql+asyncpg://"
    )


# Seconds a transaction may wait for the one SQLite connection before failing.
SQLITE_POOL_TIMEOUT = 60.0


def create_engine(url: str, *, echo: bool = False, foreign_keys: bool = True) -> AsyncEngine:
    """An async engine for ``url``, set up as the module docstring describes.

    For a SQLite file the parent directory is created. ``foreign_keys=False`` is for
    migrations only: SQLite batch mode recreates tables, and dropping a table with foreign
    keys enforced would cascade-delete the rows that reference it.
    """
    parsed = make_url(url)
    if database_kind(parsed) == "postgresql":
        engine = _create_async_engine(parsed, echo=echo, hide_parameters=True)
        event.listen(engine.sync_engine, "checkout", _refuse_closed)
        return engine
    _make_parent_dir(parsed)
    # SQLite has one writer at a time and every transaction here takes the write lock, so
    # one connection per process queues our own transactions in order instead of letting
    # them race for the lock (under load some lost that race past busy_timeout: "database
    # is locked", a message not stored). Other processes still wait on busy_timeout.
    engine = _create_async_engine(
        parsed,
        echo=echo,
        pool_size=1,
        max_overflow=0,
        pool_timeout=SQLITE_POOL_TIMEOUT,
        hide_parameters=True,  # errors must not carry message bodies or numbers into logs
    )
    _configure_sqlite(engine.sync_engine, foreign_keys=foreign_keys)
    return engine


def create_sync_sqlite_engine(url: str | URL, *, reader: bool = False) -> Engine:
    """A synchronous engine (pysqlite) on the same SQLite file, set up the same way.

    One connection, for one writer thread (see :mod:`bot.store.units`); with ``reader``,
    :data:`READERS` connections that only read (``query_only``: a write raises) in a
    deferred transaction, which never takes the write lock.
    """
    parsed = make_url(url).set(drivername="sqlite+pysqlite")
    _make_parent_dir(parsed)
    engine = sa_create_engine(
        parsed,
        pool_size=READERS if reader else 1,
        max_overflow=0,
        connect_args={"check_same_thread": False},
        hide_parameters=True,
    )
    _configure_sqlite(engine, foreign_keys=True, reader=reader)
    return engine


_PING = text("SELECT 1")


async def ping(conn: AsyncConnection) -> None:
    """One round trip to the database on ``conn``; raises SQLAlchemy's errors (or
    ``OSError``) when the database or the connection is gone."""
    await conn.execute(_PING)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose objects stay readable after commit (``expire_on_commit=False``).

    For reading ORM objects in tests and tools only: the application reads and writes
    through :class:`bot.store.units.Units`, the one road to the database (on SQLite, a
    session writing beside its writer thread would be a second writer).
    """
    return async_sessionmaker(engine, expire_on_commit=False)


def _refuse_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pooled PostgreSQL connection whose socket closed is not handed out: the pool drops
    it and takes another (SQLAlchemy's documented way to veto a checkout)."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed this connection")


def sqlite_file(url: str | URL) -> Path | None:
    """The file a SQLite ``url`` names, its symbolic links resolved and a relative path taken
    from the working directory, as SQLite opens it: every path to one file gives the same
    answer. None for an in-memory database or another kind."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None
    return Path(os.path.realpath(os.path.expanduser(database)))


def _make_parent_dir(url: URL) -> None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: Engine, *, foreign_keys: bool, reader: bool = False) -> None:
    pragmas = [
        (name, value if name != "foreign_keys" or foreign_keys else "OFF")
        for name, value in SQLITE_PRAGMAS
    ]
    if reader:
        pragmas.append(("query_only", "ON"))
    begin = "BEGIN" if reader else "BEGIN IMMEDIATE"

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the driver; _on_begin sends our own.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for name, value in pragmas:
                cursor.execute(f"PRAGMA {name}={value}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql(begin)
