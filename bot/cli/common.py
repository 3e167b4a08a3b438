"""What the ``outreach`` commands share: consoles, settings, logging, a database at the
current schema, and one-line errors (never a traceback for a person's mistake).

Imports stay light here and in every command module: ``outreach --help`` loads them all, so
the settings, the database, the content and the providers' libraries are imported inside
the commands that use them."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer
from rich.console import Console

if TYPE_CHECKING:
    from pathlib import Path

    from bot.config import Settings
    from bot.core.catalog import Catalog
    from bot.observe.logs import LogFormat
    from bot.store.units import Units

out = Console(highlight=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)  # paths and rows stay whole

T = TypeVar("T")


class ChannelOption(StrEnum):
    sms = "sms"
    telegram = "telegram"


def load_settings() -> Settings:
    """The settings; from here on their secrets are masked in logs and errors
    (``bot.observe.redact``)."""
    from bot.config import Settings
    from bot.observe.redact import keep_secret

    settings = Settings()
    keep_secret(settings.secrets())
    return settings


def setup_logging(level: str, log_format: LogFormat = "text") -> None:
    """Log lines on stderr at ``level``, as text or JSON (``bot.observe.logs``); the settings'
    secrets masked in them and in any traceback nobody caught."""
    import logging

    from bot.observe.logs import formatter
    from bot.observe.redact import excepthook, install

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format))
    logging.basicConfig(level=level.upper(), handlers=[handler])
    install(logging.getLogger())
    sys.excepthook = excepthook
    # APScheduler logs every job run at INFO (the schedule table is re-read every few
    # seconds); our own scheduler logs the runs that matter.
    if logging.getLogger().level > logging.DEBUG:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)


def load_or_exit(directory: Path) -> Catalog:
    from bot.content.load import ContentError, load_catalog

    try:
        return load_catalog(directory)
    except ContentError as exc:
        err.print(f"Content in {directory} is not valid:\n{exc}", markup=False)
        raise typer.Exit(1) from exc


def fail(message: str) -> NoReturn:
    """One clear line on stderr (secrets masked), exit 1."""
    from bot.observe.redact import redact

    err.print(redact(message), markup=False)
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
    """``work`` on the database, which must be at the current schema; see
    :func:`database_errors` for what exits 1."""
    import asyncio

    async def run() -> T:
        async with open_units(settings) as units:
            return await work(units)

    with database_errors(settings):
        return asyncio.run(run())


def check_schema(settings: Settings) -> None:
    """Exit 1 with one line unless the database is at the current schema (changes nothing)."""
    import asyncio

    from bot.store.migrate import require_current

    with database_errors(settings):
        asyncio.run(require_current(settings.database_url))


@contextmanager
def database_errors(settings: Settings) -> Iterator[None]:
    """One line and exit 1 for a database that is not at the current schema
    (:class:`~bot.store.migrate.SchemaNotCurrent`: it says to run ``outreach db upgrade``) or
    that fails (SQLAlchemy's errors, ``OSError``)."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.store.migrate import SchemaNotCurrent

    try:
        yield
    except SchemaNotCurrent as exc:
        fail(str(exc))
    except (SQLAlchemyError, OSError) as exc:
        fail(f"The {settings.database_kind} database failed: {first_line(exc)}")


Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask first (for scripts).")]


def confirm_or_exit(question: str, yes: bool, refused: str, flag: str = "--yes") -> None:
    """Go on when ``yes``, or when the person at the terminal answers ``question`` yes; else
    exit 1 saying ``refused``. Without a terminal (a script, a pipe) nobody can answer: exit
    1 saying to add ``flag`` (the option that sets ``yes``)."""
    if yes:
        return
    if not sys.stdin.isatty():
        fail(f"{refused}: there is no terminal to ask on; add {flag} to go ahead.")
    try:
        agreed = typer.confirm(question, default=False)
    except typer.Abort:
        agreed = False
    if not agreed:
        fail(refused)


def write_csv(text: str, file: Path | None) -> None:
    """CSV text (BOM first) to ``file`` as UTF-8, or to standard output when None; exit 1
    with one line when the file cannot be written."""
    data = text.encode("utf-8")
    if file is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        file.write_bytes(data)
    except OSError as exc:
        fail(f"Cannot write {file}: {first_line(exc)}")


def by_name(by: str | None) -> str:
    """Who acts, as the records keep it: ``--by``, else the computer's user name; 1 to 64
    characters (exit 1, saying so, otherwise or when the computer has no user name)."""
    import getpass

    if by is None:
        try:
            by = getpass.getuser()
        except (OSError, KeyError):
            fail("Say who you are with --by NAME (this computer has no user name).")
    by = by.strip()
    if not by or len(by) > 64:
        fail("--by needs a name of 1 to 64 characters.")
    return by


def first_line(exc: BaseException) -> str:
    """The first line of what ``exc`` says (secrets masked), else its type's name."""
    from bot.observe.redact import redact

    lines = redact(str(exc)).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


@asynccontextmanager
async def open_units(settings: Settings) -> AsyncIterator[Units]:
    """A unit runner on the database, closed afterwards. Raises
    :class:`~bot.store.migrate.SchemaNotCurrent`, before touching anything, unless the
    database is at the current schema (``outreach db upgrade`` brings it there)."""
    from bot.store.engine import create_engine
    from bot.store.migrate import require_current
    from bot.store.units import Units

    await require_current(settings.database_url)
    engine = create_engine(settings.database_url)
    units = Units(engine)
    try:
        yield units
    finally:
        units.close()
        await engine.dispose()
