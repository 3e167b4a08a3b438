"""Fixtures shared by the whole suite: a clean environment and migrated databases.

* ``clean_environ`` (autouse) removes every variable ``Settings`` reads, so a developer's
  shell never leaks into a test. Tests that need settings pass their own values.
* ``db_url`` is an empty database at head, one per test and per backend: ``sqlite`` (a file in
  ``tmp_path``) and ``postgres`` (a database on the server named by
  ``OUTREACH_TEST_POSTGRES_URL``; skipped when the variable is unset). The real Alembic
  migrations run once per test process, into a template. SQLite gets a copy of the template
  file. PostgreSQL gets one database per test process, emptied before each test (other
  connections ended, every row deleted, sequences back to 1), and made again from the template
  when a test changed its schema: ``CREATE DATABASE ... TEMPLATE`` per test cost 0.13-0.2 s
  and 0.17 s of kernel time (files written and synced), about a minute of the gate's two
  cores; emptying costs 0.01 s. Restrict a test to one backend with
  ``@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)``.
* ``engine`` and ``sessions`` are built on ``db_url`` with the project's own setup.

:func:`eventually` is the one way a test waits for something the code does in the background.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import hypothesis
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.store.engine import create_engine, session_factory
from bot.store.migrate import upgrade
from bot.store.tables import metadata
from bot.store.units import Units
from fakes.postgres import admin, asyncpg_dsn, database_url

POSTGRES_ENV = "OUTREACH_TEST_POSTGRES_URL"
T = TypeVar("T")

# The CLI's rich consoles read the width once, when bot.cli is first imported (in any test
# process, by whichever test comes first): tables one row per line, whatever runs the tests.
os.environ["COLUMNS"] = "200"

# Long enough for two cores shared with other work; a test that passes never waits it out.
PATIENCE = 30.0

# Hypothesis' per-example deadline (200 ms) is a timing assert: on two busy cores an example
# that is merely slow would fail the gate. Speed is measured by the benchmarks instead.
hypothesis.settings.register_profile("gate", deadline=None)
hypothesis.settings.load_profile("gate")


async def eventually(
    check: Callable[[], bool | Awaitable[bool]],
    what: str = "the condition",
    *,
    within: float = PATIENCE,
    every: float = 0.01,
) -> None:
    """Return as soon as ``check()`` (a plain or async function) holds, checking every
    ``every`` seconds; fail naming ``what`` after ``within`` seconds. ``check`` may raise
    ``AssertionError`` itself to fail at once (say, when the process it watches has died)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        held = check()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        if loop.time() > deadline:
            raise AssertionError(f"never happened within {within:g} s: {what}")
        await asyncio.sleep(every)


async def create_elsewhere(other: AsyncConnection, address: str, at: datetime) -> int:
    """An SMS contact and its subscriber made ``at`` in ``other``'s transaction (left open,
    as a roster import's would be); the subscriber's id."""
    from sqlalchemy import insert

    from bot.store.models import Contact, Subscriber

    made = await other.execute(
        insert(Subscriber).values(topics=[], created_at=at, updated_at=at).returning(Subscriber.id)
    )
    theirs: int = made.scalar_one()
    await other.execute(
        insert(Contact).values(
            subscriber_id=theirs,
            channel="sms",
            address=address,
            status="active",
            status_changed_at=at,
            created_at=at,
            updated_at=at,
        )
    )
    return theirs


async def waiting_for_a_lock(engine: AsyncEngine) -> bool:
    """Whether a session of ``engine``'s PostgreSQL database waits for a lock now: no event
    reaches a test from a backend that waits, so a test that needs one waiting polls this
    (with :func:`eventually`)."""
    from sqlalchemy import text

    async with engine.connect() as probe:
        waiting = await probe.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return bool(waiting)


# Settings fields come from these families too, including ones not declared yet.
_SETTINGS_PREFIXES = ("telegram_", "twilio_", "smsgate_")


# Last: after `-k`/`-m` have deselected, so the shares are counted on the tests that run.
@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Slow tests first in each test process's share, so that ``make test`` starts them early,
    side by side, instead of finding one last, alone, at the end of the run (see
    :func:`_slow_first`).

    A module marked ``sqlite_only`` runs its ``db_url`` tests on SQLite alone: the database is
    not what it proves (a command's output, a chat's screens, a page), and every query it
    reaches is tested on both databases in ``tests/store`` and by the webhook and crash tests.
    """
    on_postgres = [
        item
        for item in items
        if item.get_closest_marker("sqlite_only") is not None
        and getattr(item, "callspec", None) is not None
        and item.callspec.params.get("db_url") == "postgres"
    ]
    if on_postgres:
        config.hook.pytest_deselected(items=on_postgres)
        dropped = set(on_postgres)
        items[:] = [item for item in items if item not in dropped]
    items[:] = _slow_first(items, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))


def _slow_first(items: list[pytest.Item], workers: int) -> list[pytest.Item]:
    """``items`` with the tests marked ``slow`` at the head of each worker's first share.

    ``--dist worksteal`` first hands each of the ``workers`` an equal run of the list, in
    order (the first ``len // workers`` items to one, an equal share of the rest to the next,
    and so on), then moves tests from busy workers to idle ones. With every slow test at the
    head of the list they all fell in the first worker's share and ran one after another
    (130 s of the gate's 155); dealt out one per share they run side by side.
    """
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    rest = iter([item for item in items if item.get_closest_marker("slow") is None])
    ordered: list[pytest.Item] = []
    left = len(items)
    for k in range(workers):
        share = left // (workers - k)
        left -= share
        heads = slow[k::workers]
        ordered += heads
        ordered += itertools.islice(rest, max(0, share - len(heads)))
    ordered += rest  # none, unless a share was smaller than its slow tests
    return ordered


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove the environment variables ``Settings`` reads (names are case-insensitive)."""
    fields = {name.lower() for name in Settings.model_fields}
    for key in list(os.environ):
        lower = key.lower()
        if lower in fields or lower.startswith(_SETTINGS_PREFIXES):
            monkeypatch.delenv(key)
    # What `outreach` sets at start: python-telegram-bot 22 warns on every RetryAfter otherwise.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per test process; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "outreach.db"
    _run_apart(upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


@dataclass(frozen=True)
class _PostgresDatabase:
    server_url: str
    name: str
    template: str
    schema: str  # what _schema() read from the template


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[_PostgresDatabase]:
    """This test process's PostgreSQL database and the template it is made from, both migrated
    to head once and dropped at the end."""
    server_url = os.environ.get(POSTGRES_ENV)
    if not server_url:
        pytest.skip(
            f"PostgreSQL tests need {POSTGRES_ENV}, e.g. "
            "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
        )
    suffix = uuid.uuid4().hex
    template, name = f"tmpl_{suffix}", f"t_{suffix}"

    async def make() -> str:
        await admin(server_url, f'CREATE DATABASE "{template}"')
        await upgrade(database_url(server_url, template))
        await admin(server_url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        conn = await asyncpg.connect(asyncpg_dsn(server_url, name))
        try:
            return await _schema(conn)
        finally:
            await conn.close()

    async def drop() -> None:
        for database in (name, template):
            await admin(server_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    try:
        schema = _run_apart(make())
        yield _PostgresDatabase(server_url, name, template, schema)
    finally:
        _run_apart(drop())


# A test of the PostgreSQL path only (run when OUTREACH_TEST_POSTGRES_URL is set).
postgres_only = pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database migrated to head; see the module docstring."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "outreach.db"
        shutil.copyfile(template, path)
        return f"sqlite+aiosqlite:///{path}"
    database: _PostgresDatabase = request.getfixturevalue("postgres_database")
    await _empty(database)
    return database_url(database.server_url, database.name)


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """An empty SQLite database migrated to head, for tests whose subject is not the database
    (the console in a browser): they run once, not once per database."""
    path = tmp_path / "outreach.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


async def _empty(database: _PostgresDatabase) -> None:
    """Leave ``database`` as its template was: end every other connection (a killed
    ``outreach serve`` may leave one holding the worker's advisory lock), delete every row and
    restart every sequence; make it again from the template when its schema changed."""
    conn = await asyncpg.connect(asyncpg_dsn(database.server_url, database.name))
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        try:
            same = await _schema(conn) == database.schema
        except asyncpg.PostgresError:  # for example alembic_version dropped
            same = False
        if same:
            async with conn.transaction():
                for table in reversed(metadata.sorted_tables):
                    await conn.execute(f'DELETE FROM "{table.name}"')  # noqa: S608 (a model's)
                await conn.execute(
                    "SELECT setval(format('%I.%I', schemaname, sequencename), 1, false)"
                    " FROM pg_sequences WHERE schemaname = 'public'"
                )
            return
    finally:
        await conn.close()
    await admin(database.server_url, f'DROP DATABASE "{database.name}" WITH (FORCE)')
    await admin(
        database.server_url, f'CREATE DATABASE "{database.name}" TEMPLATE "{database.template}"'
    )


async def _schema(conn: asyncpg.Connection) -> str:
    """What the public schema holds (relations, columns, indexes, constraints) and its Alembic
    revision, as one string: two databases with the same string have the same schema. Read
    from PostgreSQL's own catalogs: through ``information_schema`` it cost 14 ms a test of the
    server's CPU, here 4 ms."""
    return await conn.fetchval(
        """
        SELECT string_agg(item, E'\\n' ORDER BY item) FROM (
            SELECT format('column %s.%s %s %s %s', c.relname, a.attname,
                          format_type(a.atttypid, a.atttypmod), a.attnotnull,
                          pg_get_expr(d.adbin, d.adrelid)) AS item
              FROM pg_attribute a
              JOIN pg_class c ON c.oid = a.attrelid
              LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v')
               AND a.attnum > 0 AND NOT a.attisdropped
            UNION ALL SELECT format('relation %s %s', relname, relkind) FROM pg_class
             WHERE relnamespace = 'public'::regnamespace
            UNION ALL SELECT 'index ' || pg_get_indexdef(i.indexrelid) FROM pg_index i
              JOIN pg_class c ON c.oid = i.indrelid
             WHERE c.relnamespace = 'public'::regnamespace
            UNION ALL SELECT format('constraint %s %s', conname, pg_get_constraintdef(oid))
              FROM pg_constraint WHERE connamespace = 'public'::regnamespace
            UNION ALL SELECT 'revision ' || version_num FROM alembic_version
        ) AS schema
        """
    )


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def units(engine: AsyncEngine) -> Iterator[Units]:
    """The synchronous unit runner the inbox uses, on the same database."""
    runner = Units(engine)
    yield runner
    runner.close()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Use as ``async with sessions.begin() as s:``, as the application does."""
    return session_factory(engine)


def _run_apart(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to the end on a loop of its own, in a thread: session fixtures are first
    asked for from inside a test's running loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
