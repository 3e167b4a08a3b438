"""Scratch databases on a PostgreSQL server, for the tests and the benchmarks.

Both are given one server URL (``OUTREACH_TEST_POSTGRES_URL``, SQLAlchemy's form) and make
databases of their own beside the one it names: :func:`admin` creates and drops them,
:func:`database_url` names one for the project and :func:`asyncpg_dsn` for asyncpg.
"""

from __future__ import annotations

import asyncpg
from sqlalchemy.engine import make_url


def database_url(server_url: str, database: str) -> str:
    """The server's URL with another database."""
    url = make_url(server_url).set(database=database)
    return url.render_as_string(hide_password=False)


def asyncpg_dsn(server_url: str, database: str | None = None) -> str:
    """The server's URL as asyncpg takes it, with another database if given."""
    url = make_url(server_url).set(drivername="postgresql")
    if database is not None:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


async def admin(server_url: str, statement: str) -> None:
    """Run a statement (CREATE/DROP DATABASE) on the server, outside any transaction."""
    conn = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()
