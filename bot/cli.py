"""The ``outreach`` command: serve the bot, talk to it, check content, migrate the database."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from bot.config import Settings
from bot.content import ContentError, load_catalog, summarize
from bot.core.catalog import Catalog, Lang

if TYPE_CHECKING:
    from bot.core.roster import RosterRow
    from bot.store.roster import ImportReport
    from bot.store.units import Units

app = typer.Typer(
    help="Dhanote Outreach: answers residents over SMS and Telegram.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
content_app = typer.Typer(help="Check the content coordinators edit (content/*.yaml).")
db_app = typer.Typer(help="Database schema (Alembic migrations).")
app.add_typer(content_app, name="content")
app.add_typer(db_app, name="db")
telegram_app = typer.Typer(help="The Telegram bot.")
app.add_typer(telegram_app, name="telegram")
subscribers_app = typer.Typer(help="Subscriber lists: import and export CSV, list.")
app.add_typer(subscribers_app, name="subscribers")
broadcast_app = typer.Typer(help="Announcements to subscribers.")
app.add_typer(broadcast_app, name="broadcast")

out = Console(highlight=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)  # paths and rows stay whole

SANDBOX_SMS_SENDER = "+923000000000"
SANDBOX_TELEGRAM_CHAT = "1000001"


class ChannelOption(StrEnum):
    sms = "sms"
    telegram = "telegram"


def _settings() -> Settings:
    return Settings()


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _load_or_exit(directory: Path) -> Catalog:
    try:
        return load_catalog(directory)
    except ContentError as exc:
        err.print(f"Content in {directory} is not valid:\n{exc}", markup=False)
        raise typer.Exit(1) from exc


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
) -> None:
    """Serve the web endpoints and the bot (sandbox mode when no provider is configured).

    Refuses to start when the content is invalid. Run `outreach db upgrade` first.
    """
    import uvicorn

    from bot.web import create_app

    settings = _settings()
    _setup_logging(settings.log_level)
    catalog = _load_or_exit(settings.content_dir)
    out.print(
        f"Dhanote Outreach: {settings.mode} mode, {settings.database_kind} database, "
        f"http://{host}:{port}/healthz (Ctrl-C stops)"
    )
    uvicorn.run(
        create_app(settings, catalog=catalog),
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        access_log=False,
    )


@app.command()
def chat(
    once: Annotated[
        str | None, typer.Option(help="Send this one message, print the reply and exit.")
    ] = None,
    channel: Annotated[
        ChannelOption, typer.Option(help="Talk as an SMS user or a Telegram user.")
    ] = ChannelOption.sms,
    sender: Annotated[
        str | None,
        typer.Option(
            "--from",
            help=f"Your address: a phone number for SMS (default {SANDBOX_SMS_SENDER}), "
            f"a chat id for Telegram (default {SANDBOX_TELEGRAM_CHAT}).",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="With --once: print one JSON object.")
    ] = False,
) -> None:
    """Text the bot from the terminal, through the same pipeline as the webhooks.

    Everything is stored in the configured database; replies go to the sandbox simulator.
    """
    from bot.chat import run_chat

    settings = _settings()
    _setup_logging("WARNING")
    catalog = _load_or_exit(settings.content_dir)
    address = sender or (
        SANDBOX_SMS_SENDER if channel is ChannelOption.sms else SANDBOX_TELEGRAM_CHAT
    )
    code = asyncio.run(
        run_chat(
            settings,
            channel.value,
            address,
            once=once,
            as_json=as_json,
            console=out,
            catalog=catalog,
        )
    )
    raise typer.Exit(code)


@content_app.command("check")
def content_check(
    directory: Annotated[
        Path | None, typer.Argument(help="Content folder (default: the configured one).")
    ] = None,
) -> None:
    """Validate the content; print a summary, or every problem with its file and line."""
    folder = directory or _settings().content_dir
    try:
        catalog = load_catalog(folder)
    except ContentError as exc:
        err.print(f"Content in {folder} is not valid:\n{exc}", markup=False)
        raise typer.Exit(1) from exc
    summary = summarize(catalog)
    out.print(f"Content in {folder} is valid (version {catalog.version}).")
    out.print(json.dumps(summary, indent=2, ensure_ascii=False), markup=False)


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply the migrations to the configured database (creates the SQLite file if needed)."""
    from bot.store.migrate import upgrade

    settings = _settings()
    _setup_logging("WARNING")
    asyncio.run(upgrade(settings.database_url, revision))
    out.print(f"Database ({settings.database_kind}) is at {revision}.")


@telegram_app.command("setup")
def telegram_setup() -> None:
    """Register the command menus (English and Urdu) and the webhook with Telegram.

    With PUBLIC_BASE_URL set the webhook points at PUBLIC_BASE_URL/telegram/webhook with the
    secret token; without it the webhook is removed so long polling works. `outreach serve`
    does the same at start.
    """
    settings = _settings()
    _setup_logging("WARNING")
    if settings.telegram_bot_token is None:
        err.print("TELEGRAM_BOT_TOKEN is not set: there is no bot to set up.")
        raise typer.Exit(1)
    catalog = _load_or_exit(settings.content_dir)
    from telegram.error import TelegramError

    from bot.channels.telegram import build_bot
    from bot.telegram_bot import register

    async def run() -> list[str]:
        async with build_bot(settings) as bot:
            return await register(bot, catalog, settings)

    try:
        done = asyncio.run(run())
    except TelegramError as exc:
        err.print(f"Telegram refused the set-up: {exc}", markup=False)
        raise typer.Exit(1) from exc
    for line in done:
        out.print(f"✓ {line}", markup=False)


@subscribers_app.command("import")
def subscribers_import(
    file: Annotated[Path, typer.Argument(help="CSV with a header: phone, language, city, topics.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every row, store nothing.")
    ] = False,
) -> None:
    """Import subscribers from CSV: every row is checked first, then all are stored or none.

    Phones are normalised to E.164 (numbers without a country code are taken as Pakistani).
    A bad row is reported with its row number and nothing is stored. Someone already opted
    out stays opted out.
    """
    from bot.core.roster import RosterError, parse_roster

    settings = _settings()
    _setup_logging("WARNING")
    catalog = _load_or_exit(settings.content_dir)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        err.print(f"Cannot read {file}: {exc}", markup=False)
        raise typer.Exit(1) from exc
    try:
        rows = parse_roster(
            text,
            region=settings.phone_region,
            cities=[c.id for c in catalog.cities],
            topics=[t.id for t in catalog.interests],
        )
    except RosterError as exc:
        err.print(f"{file}: nothing imported, {len(exc.problems)} problem(s):", markup=False)
        err.print(str(exc), markup=False)
        raise typer.Exit(1) from exc
    if dry_run:
        out.print(f"{file}: {len(rows)} rows are valid (dry run, nothing stored).")
        return
    with out.status(f"Importing {len(rows)} subscribers…"):
        report = asyncio.run(_import(settings, rows))
    out.print(
        f"{file}: {len(rows)} rows imported: {report.created} new, {report.updated} updated"
        + (f", {report.opted_out} kept opted out" if report.opted_out else "")
        + "."
    )


async def _import(settings: Settings, rows: list[RosterRow]) -> ImportReport:
    from bot.store.roster import import_rows

    now = datetime.now(UTC)
    async with _units(settings) as units:
        return await units.run(lambda conn: import_rows(conn, rows, now))


@subscribers_app.command("export")
def subscribers_export(
    file: Annotated[
        Path | None, typer.Argument(help="Where to write the CSV (default: the terminal).")
    ] = None,
) -> None:
    """Export subscribers with an SMS number as CSV (the import format plus statuses)."""
    from bot.core.roster import COLUMNS
    from bot.store.roster import export_rows

    settings = _settings()
    _setup_logging("WARNING")

    async def run() -> list[tuple[str, str, str, str, str, str]]:
        async with _units(settings) as units:
            return await units.run(export_rows)

    rows = asyncio.run(run())
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow((*COLUMNS, "sms_status", "telegram_status"))
    writer.writerows(rows)
    text = buffer.getvalue()
    if file is None:
        sys.stdout.write(text)
        return
    file.write_text(text, encoding="utf-8")
    out.print(f"{len(rows)} subscribers written to {file}.")


@subscribers_app.command("list")
def subscribers_list(
    limit: Annotated[int, typer.Option(help="Show at most this many.")] = 50,
) -> None:
    """Show subscribers (numbers masked) and how many there are by status."""
    from collections import Counter

    from rich.table import Table

    from bot.core.phones import mask
    from bot.store.roster import export_rows

    settings = _settings()
    _setup_logging("WARNING")

    async def run() -> list[tuple[str, str, str, str, str, str]]:
        async with _units(settings) as units:
            return await units.run(export_rows)

    rows = asyncio.run(run())
    table = Table("phone", "language", "city", "topics", "sms", "telegram")
    for phone, language, city, topics, sms_status, tg_status in rows[:limit]:
        table.add_row(mask(phone), language, city, topics, sms_status, tg_status or "-")
    out.print(table)
    counts = Counter(r[4] for r in rows)
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    out.print(f"{len(rows)} subscribers with an SMS number ({summary or 'none'}).")


@broadcast_app.command("preview")
def broadcast_preview(
    text_en: Annotated[str, typer.Option("--text-en", help="The English text.")],
    text_ur: Annotated[
        str | None, typer.Option("--text-ur", help="The Urdu text (else English for all).")
    ] = None,
    channel: Annotated[
        list[ChannelOption] | None, typer.Option(help="Only this channel (repeatable).")
    ] = None,
    language: Annotated[
        list[str] | None, typer.Option(help="Only subscribers with this language (en/ur).")
    ] = None,
    topic: Annotated[
        list[str] | None, typer.Option(help="Only subscribers following this topic.")
    ] = None,
    city: Annotated[list[str] | None, typer.Option(help="Only subscribers in this city.")] = None,
    both_channels: Annotated[
        bool,
        typer.Option(
            "--both-channels", help="Also text people who have Telegram (default: Telegram only)."
        ),
    ] = False,
) -> None:
    """Who would get an announcement, what it costs and how long it takes; sends nothing."""
    from decimal import Decimal

    from bot.core.audience import AudienceError, audience_from_dict
    from bot.core.preview import render_preview, send_duration, sms_cost
    from bot.store.broadcasts import audience_size

    settings = _settings()
    _setup_logging("WARNING")
    try:
        audience = audience_from_dict(
            {
                "channels": [c.value for c in channel] if channel else ["sms", "telegram"],
                "languages": language or [],
                "topics": topic or [],
                "cities": city or [],
                "both_channels": both_channels,
            }
        )
    except AudienceError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(1) from exc

    async def run() -> dict[str, dict[str, int]]:
        async with _units(settings) as units:
            sizes = await units.run(lambda conn: audience_size(conn, audience))
        return {str(ch): {str(lang): n for lang, n in by.items()} for ch, by in sizes.items()}

    sizes = asyncio.run(run())
    sms_by_lang = sizes.get("sms", {})
    texts: dict[Lang, str] = {"en": text_en}
    if text_ur:
        texts["ur"] = text_ur
    price = settings.sms_price_per_segment
    cost = sms_cost(
        texts,
        {"en": sms_by_lang.get("en", 0), "ur": sms_by_lang.get("ur", 0)},
        price if price is not None else Decimal(0),
    )
    per_channel = {ch: sum(by.values()) for ch, by in sizes.items()}
    duration = send_duration(
        per_channel,
        {"sms": settings.sms_per_second, "telegram": settings.telegram_per_second},
    )
    for line in render_preview(cost, per_channel, duration, currency=settings.sms_currency):
        out.print(line, markup=False)
    if price is None:
        out.print("(set SMS_PRICE_PER_SEGMENT to see the SMS cost)", markup=False)


@asynccontextmanager
async def _units(settings: Settings) -> AsyncIterator[Units]:
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


def main() -> None:
    # python-telegram-bot 22 reports retry_after as a timedelta only when asked to, and warns
    # on every flood-control answer otherwise; our adapter accepts both.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    app()
