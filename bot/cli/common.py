"""What the ``outreach`` commands share: consoles, settings, logging, a migrated database,
and one-line errors (never a traceback for a person's mistake)."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

import typer
from rich.console import Console

from bot.config import Settings
from bot.content.load import ContentError, load_catalog
from bot.core.catalog import Catalog

if TYPE_CHECKING:
    from bot.store.units import Units

out = Console(highlight=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)  # paths and rows stay whole

T = TypeVar("T")


class ChannelOption(StrEnum):
    sms = "sms"
    telegram = "telegram"


def load_settings() -> Settings:
    return Settings()


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # APScheduler logs every job run at INFO (the schedule table is re-read every few
    # seconds); our own scheduler logs the runs that matter.
    if logging.getLogger().level > logging.DEBUG:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)


def load_or_exit(directory: Path) -> Catalog:
    try:
        return load_catalog(directory)
    except ContentError as exc:
        err.print(f"Content in {directory} is not valid:\n{exc}", markup=False)
        raise typer.Exit(1) from exc


def fail(message: str) -> NoReturn:
    """One clear line on stderr, exit 1."""
    err.print(message, markup=False)
    raise typer.Exit(1)


def coordinator_settings() -> Settings:
    """The settings, with TIMEZONE checked: every time shown is in it."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    settings = load_settings()
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        fail(f"TIMEZONE {settings.timezone!r} is not a time zone name such as Asia/Karachi.")
    return settings


def parse_number(text: str, what: str) -> int:
    """A broadcast or schedule number as typed ("12" or "#12"); anything else exits 1."""
    digits = text.strip().removeprefix("#")
    if not digits.isascii() or not digits.isdigit():
        fail(f"{text!r} is not a {what} number; `outreach {what} list` shows them.")
    return int(digits)


def on_db(settings: Settings, work: Callable[[Units], Awaitable[T]]) -> T:
    """``work`` on a migrated database; a database failure is one line and exit 1."""
    from sqlalchemy.exc import SQLAlchemyError

    async def run() -> T:
        async with open_units(settings) as units:
            return await work(units)

    try:
        return asyncio.run(run())
    except (SQLAlchemyError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        fail(f"The {settings.database_kind} database failed: {first}")


@asynccontextmanager
async def open_units(settings: Settings) -> AsyncIterator[Units]:
    """A migrated database and a unit runner on it, closed afterwards."""
    from bot.store.engine import create_engine
    from bot.store.migrate import upgrade
    from bot.store.units import Units

    await upgrade(settings.database_url)
    engine = create_engine(settings.database_url)
    units = Units(engine)
    try:
        yield units
    finally:
        units.close()
        await engine.dispose()
