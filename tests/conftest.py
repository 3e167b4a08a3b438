"""Fixtures shared by the whole suite: a clean environment and migrated databases.

* ``clean_environ`` (autouse) removes every variable ``Settings`` reads, so a developer's
  shell never leaks into a test. Tests that need settings pass their own values.
* ``db_url`` is a database migrated to head with the real Alembic migrations, once per test
  and per backend: ``sqlite`` (a file in ``tmp_path``) and ``postgres`` (a fresh database on
  the server named by ``OUTREACH_TEST_POSTGRES_URL``, dropped afterwards; skipped when the
  variable is unset). Restrict a test to one backend with
  ``@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)``.
* ``engine`` and ``sessions`` are built on ``db_url`` with the project's own setup.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.store.engine import create_engine, session_factory
from bot.store.migrate import upgrade
from bot.store.units import Units

POSTGRES_ENV = "OUTREACH_TEST_POSTGRES_URL"

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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty database migrated to head; see the module docstring."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'outreach.db'}"
        await upgrade(url)
        yield url
        return
    async with _fresh_postgres_database() as url:
        await upgrade(url)
        yield url


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


@asynccontextmanager
async def _fresh_postgres_database() -> AsyncIterator[str]:
    server_url = os.environ.get(POSTGRES_ENV)
    if not server_url:
        pytest.skip(
            f"PostgreSQL tests need {POSTGRES_ENV}, e.g. "
            "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
        )
    server = make_url(server_url)
    name = f"t_{uuid.uuid4().hex}"
    admin = await asyncpg.connect(
        server.set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
