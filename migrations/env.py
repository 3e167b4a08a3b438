"""Alembic environment: runs the migrations through the project's own async engine.

The database URL comes from, in order: ``config.attributes["url"]`` (set by
:mod:`bot.store.migrate`), ``alembic -x url=...``, then the ``DATABASE_URL`` setting.

On SQLite the migrations run in batch mode (SQLite cannot ALTER most things, so Alembic
recreates the table) with foreign-key enforcement off, because dropping the old table with
enforcement on would cascade-delete every row that references it. ``PRAGMA foreign_key_check``
afterwards makes sure the copy broke nothing.
"""

from __future__ import annotations

import asyncio
from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection

from bot.store.engine import create_engine, database_kind
from bot.store.models import JSONList, UTCDateTime
from bot.store.tables import metadata

config = context.config
target_metadata = metadata

# Only the alembic command line has an ini file; programmatic callers keep their logging.
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


class ForeignKeyViolation(RuntimeError):
    """A migration left rows whose foreign keys point nowhere (SQLite)."""


def _database_url() -> str:
    url = config.attributes.get("url") or context.get_x_argument(as_dictionary=True).get("url")
    if url:
        return str(url)
    from bot.config import Settings  # reads the environment and .env, so only when needed

    return Settings().database_url


def _render_item(type_: str, obj: object, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render our types as the plain types they store, so revisions never import models."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, JSONList):
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return 'sa.JSON().with_variant(postgresql.JSONB(), "postgresql")'
    return False


def _configure(**kwargs: Any) -> None:
    sqlite = database_kind(_database_url()) == "sqlite"
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        render_item=_render_item,
        render_as_batch=sqlite,
        # Our SQLite engine emits its own BEGIN, so DDL is transactional there too: a
        # failed upgrade leaves the database as it was.
        transactional_ddl=True,
        **kwargs,
    )


def run_migrations_offline() -> None:
    """Print the SQL instead of running it (``alembic upgrade head --sql``)."""
    _configure(url=_database_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def do_migrations(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()
    if connection.dialect.name == "sqlite":
        _check_foreign_keys(connection)


def _check_foreign_keys(connection: Connection) -> None:
    problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    connection.rollback()
    if problems:
        shown = ", ".join(
            f"{table} row {rowid} -> {parent}" for table, rowid, parent, _ in problems
        )
        raise ForeignKeyViolation(f"foreign keys broken after migrating: {shown}")


async def run_async_migrations() -> None:
    engine = create_engine(_database_url(), foreign_keys=False)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_migrations)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    asyncio.run(run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
