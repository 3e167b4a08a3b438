"""bot.store.engine: how SQLite connections are set up, and which URLs are accepted."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.engine import UnsupportedDatabase, create_engine, database_kind, ping
from bot.store.units import Units
from tests.conftest import eventually, postgres_only

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@sqlite_only
async def test_sqlite_connections_are_set_up(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        pragmas = {
            name: (await conn.execute(text(f"PRAGMA {name}"))).scalar_one()
            for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")
        }
    assert pragmas == {
        "journal_mode": "wal",
        "busy_timeout": 5000,
        "foreign_keys": 1,
        "synchronous": 1,
    }


@sqlite_only
async def test_sqlite_transactions_take_the_write_lock_at_begin(
    engine: AsyncEngine, db_url: str
) -> None:
    path = make_url(db_url).database
    assert path is not None
    async with engine.begin() as conn:
        await conn.execute(text("SELECT 1"))  # a read, yet the transaction holds the write lock
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()


async def test_create_engine_makes_the_sqlite_folder(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'new' / 'dir' / 'outreach.db'}"
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER)"))
    finally:
        await engine.dispose()
    assert (tmp_path / "new" / "dir" / "outreach.db").is_file()


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("sqlite+aiosqlite:///./data/outreach.db", "sqlite"),
        ("sqlite+aiosqlite://", "sqlite"),
        ("postgresql+asyncpg://postgres@127.0.0.1:5432/test", "postgresql"),
    ],
)
def test_database_kind(url: str, kind: str) -> None:
    assert database_kind(url) == kind


def test_database_kind_rejects_other_databases() -> None:
    with pytest.raises(UnsupportedDatabase, match="mysql"):
        database_kind("mysql+aiomysql://root@localhost/outreach")


async def test_ping_answers_while_the_database_is_there(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await ping(conn)


@postgres_only
async def test_a_connection_the_server_ended_is_never_handed_out(
    engine: AsyncEngine, db_url: str
) -> None:
    """A restart or an administrator ending a connection: the next unit of work gets a new
    connection instead of failing on the dead one (and no round trip is spent asking)."""
    units = Units(engine)
    backend = await units.run(lambda conn: conn.execute(_BACKEND).scalar_one())
    async with engine.connect() as conn:  # the same pooled connection, to watch its socket
        pooled = (await conn.get_raw_connection()).driver_connection
        assert await conn.scalar(_BACKEND) == backend
    admin = await asyncpg.connect(
        make_url(db_url).set(drivername="postgresql").render_as_string(False)
    )
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", backend)
    finally:
        await admin.close()
    await eventually(pooled.is_closed, "the client seeing its connection closed")

    assert await units.run(lambda conn: conn.execute(_BACKEND).scalar_one()) != backend


_BACKEND = text("SELECT pg_backend_pid()")
