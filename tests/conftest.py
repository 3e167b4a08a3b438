"""Fixtures shared by the whole suite: a clean environment and migrated databases.

* ``clean_environ`` (autouse) removes every variable ``Settings`` reads, so a developer's
  shell never leaks into a test. Tests that need settings pass their own values.
* ``db_url`` is a fresh database at head, one per test and per backend: ``sqlite`` (a file in
  ``tmp_path``) and ``postgres`` (a database on the server named by
  ``OUTREACH_TEST_POSTGRES_URL``, dropped afterwards; skipped when the variable is unset).
  The real Alembic migrations run once per test process, into a template that each test's
  database is copied from (a file copy; ``CREATE DATABASE ... TEMPLATE``): a migration per
  test cost about 1.5 s of every PostgreSQL test. Restrict a test to one backend with
  ``@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)``.
* ``engine`` and ``sessions`` are built on ``db_url`` with the project's own setup.

:func:`eventually` is the one way a test waits for something the code does in the background.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.store.engine import create_engine, session_factory
from bot.store.migrate import upgrade
from bot.store.units import Units

POSTGRES_ENV = "OUTREACH_TEST_POSTGRES_URL"

# The CLI's rich consoles read the width once, when bot.cli is first imported (in any test
# process, by whichever test comes first): tables one row per line, whatever runs the tests.
os.environ["COLUMNS"] = "200"

# Long enough for two cores shared with other work; a test that passes never waits it out.
PATIENCE = 30.0


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


# Settings fields come from these families too, including ones not declared yet.
_SETTINGS_PREFIXES = ("telegram_", "twilio_", "smsgate_")


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


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A PostgreSQL database migrated to head once per test process (dropped at the end);
    each test gets a database made from it (``CREATE DATABASE ... TEMPLATE``)."""
    server_url = os.environ.get(POSTGRES_ENV)
    if not server_url:
        pytest.skip(
            f"PostgreSQL tests need {POSTGRES_ENV}, e.g. "
            "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
        )
    name = f"tmpl_{uuid.uuid4().hex}"
    _run_apart(_admin(server_url, f'CREATE DATABASE "{name}"'))
    try:
        _run_apart(upgrade(_on(server_url, name)))
        yield name
    finally:
        _run_apart(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty database migrated to head; see the module docstring."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "outreach.db"
        shutil.copyfile(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template_name: str = request.getfixturevalue("postgres_template")
    server_url = os.environ[POSTGRES_ENV]
    name = f"t_{uuid.uuid4().hex}"
    await _admin(server_url, f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
    try:
        yield _on(server_url, name)
    finally:
        await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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


def _run_apart(coro: Coroutine[Any, Any, None]) -> None:
    """Run ``coro`` to the end on a loop of its own, in a thread: session fixtures are first
    asked for from inside a test's running loop."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coro).result()


def _on(server_url: str, database: str) -> str:
    """The server's URL with another database."""
    url = make_url(server_url).set(database=database)
    return url.render_as_string(hide_password=False)


async def _admin(server_url: str, statement: str) -> None:
    """Run a statement (CREATE/DROP DATABASE) on the server, outside any transaction."""
    server = make_url(server_url).set(drivername="postgresql")
    admin = await asyncpg.connect(server.render_as_string(hide_password=False))
    try:
        await admin.execute(statement)
    finally:
        await admin.close()
