"""The one-worker lock on both databases: one holder at a time, free again once released or
once its holder is gone."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.store.engine import create_engine
from bot.store.locks import WorkerLock, lock_path


async def terminate_lock_holder(engine: AsyncEngine) -> None:
    """Have PostgreSQL drop the connection that holds this database's advisory lock."""
    async with engine.connect() as conn:
        killed = await conn.execute(
            text(
                # Only this test database's holder: other tests may share the server.
                "SELECT pg_terminate_backend(l.pid) FROM pg_locks l "
                "JOIN pg_database d ON d.oid = l.database "
                "WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()"
            )
        )
        assert killed.scalars().all() == [True]


async def test_one_holder_at_a_time_and_free_again_after_release(engine: AsyncEngine) -> None:
    first, second = WorkerLock(engine), WorkerLock(engine)
    assert await first.try_acquire()
    try:
        assert not await second.try_acquire(), "held by the first"
        assert await first.still_held()
    finally:
        await first.release()
    assert await second.try_acquire(), "released, the next one takes it"
    await second.release()


async def test_a_second_engine_on_the_same_database_sees_the_lock(db_url: str) -> None:
    """Another process has its own engine: the lock is the database's, not the engine's."""
    mine, theirs = create_engine(db_url), create_engine(db_url)
    try:
        held = WorkerLock(mine)
        assert await held.try_acquire()
        try:
            assert not await WorkerLock(theirs).try_acquire()
        finally:
            await held.release()
        other = WorkerLock(theirs)
        assert await other.try_acquire()
        await other.release()
    finally:
        await mine.dispose()
        await theirs.dispose()


async def test_release_without_holding_changes_nothing(engine: AsyncEngine) -> None:
    never = WorkerLock(engine)
    await never.release()
    holder = WorkerLock(engine)
    assert await holder.try_acquire()
    await never.release()  # not the holder's: the lock stays taken
    assert not await WorkerLock(engine).try_acquire()
    await holder.release()


async def test_on_postgres_a_lost_connection_is_a_lost_lock(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the advisory lock lives on a PostgreSQL connection")
    held = WorkerLock(engine)
    assert await held.try_acquire()
    await terminate_lock_holder(engine)  # a server restart, a network cut
    assert not await held.still_held()
    other = WorkerLock(engine)
    assert await other.try_acquire(), "the server let the lock go with the connection"
    await other.release()
    await held.release()  # already gone: nothing to do, and no error


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_on_sqlite_the_lock_is_a_file_beside_the_database(
    db_url: str, engine: AsyncEngine
) -> None:
    path = lock_path(db_url)
    assert path is not None
    assert path.parent == Path(engine.url.database or "").parent
    assert path.name == Path(engine.url.database or "").name + ".worker.lock"
    held = WorkerLock(engine)
    assert await held.try_acquire()
    assert path.exists()
    await held.release()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("link", ["file", "directory"])
async def test_on_sqlite_a_symlinked_path_shares_the_lock(
    db_url: str, tmp_path: Path, link: str
) -> None:
    """Two ``serve`` reaching one database file through a symbolic link (to the file, or to
    its directory) take one lock: the second is a standby, not a second dispatcher."""
    real = Path(make_url(db_url).database or "")
    if link == "file":
        other = tmp_path / "elsewhere" / "linked.db"
        other.parent.mkdir()
        other.symlink_to(real)
    else:
        other = tmp_path / "linked-dir" / real.name
        other.parent.symlink_to(real.parent, target_is_directory=True)
    assert lock_path(f"sqlite+aiosqlite:///{other}") == lock_path(db_url)
    mine = create_engine(db_url)
    theirs = create_engine(f"sqlite+aiosqlite:///{other}")
    try:
        held = WorkerLock(mine)
        assert await held.try_acquire()
        try:
            assert not await WorkerLock(theirs).try_acquire(), "the same file, the same lock"
        finally:
            await held.release()
        next_one = WorkerLock(theirs)
        assert await next_one.try_acquire()
        await next_one.release()
    finally:
        await mine.dispose()
        await theirs.dispose()


async def test_a_relative_path_is_the_file_it_names_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert lock_path("sqlite+aiosqlite:///data/x.db") == tmp_path / "data" / "x.db.worker.lock"


@pytest.mark.parametrize(
    "url", ["sqlite+aiosqlite://", "sqlite+aiosqlite:///:memory:"], ids=["default", "memory"]
)
async def test_an_in_memory_database_is_always_free(url: str) -> None:
    """Nobody else can open it, so there is nothing to wait for."""
    engine = create_async_engine(url)
    try:
        assert lock_path(url) is None
        first, second = WorkerLock(engine), WorkerLock(engine)
        assert await first.try_acquire()
        assert await second.try_acquire()
        await first.release()
        await second.release()
    finally:
        await engine.dispose()
