"""The ``outreach`` command: serve the bot, talk to it, check content, manage subscriber
lists. The database's commands (migrations, backups) are in :mod:`bot.cli.db`; the
coordinators' in :mod:`bot.cli.broadcast`, :mod:`bot.cli.schedule` and :mod:`bot.cli.report`;
what the commands share is in :mod:`bot.cli.common`.

Every command but ``outreach db upgrade`` needs the database at the current schema and says
so in one line (exit 1) when it is not; none of them migrates it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.answers import answers_app
from bot.cli.broadcast import broadcast_app
from bot.cli.common import (
    ChannelOption,
    check_schema,
    database_errors,
    err,
    fail,
    first_line,
    load_or_exit,
    load_settings,
    on_db,
    out,
    setup_logging,
    write_csv,
)
from bot.cli.coordinators import coordinators_app
from bot.cli.db import db_app
from bot.cli.doctor import doctor
from bot.cli.inbox import inbox_app
from bot.cli.report import report
from bot.cli.schedule import schedule_app

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.core.catalog import Catalog

app = typer.Typer(
    help="Dhanote Outreach: answers residents over SMS and Telegram.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
content_app = typer.Typer(help="Check the content coordinators edit (content/*.yaml).")
app.add_typer(content_app, name="content")
app.add_typer(db_app, name="db")
telegram_app = typer.Typer(help="The Telegram bot.")
app.add_typer(telegram_app, name="telegram")
subscribers_app = typer.Typer(help="Subscriber lists: import and export CSV, list.")
app.add_typer(subscribers_app, name="subscribers")
app.add_typer(broadcast_app, name="broadcast")
app.add_typer(schedule_app, name="schedule")
app.add_typer(answers_app, name="answers")
app.add_typer(inbox_app, name="inbox")
app.add_typer(coordinators_app, name="coordinators")
app.command()(report)
app.command()(doctor)

SANDBOX_SMS_SENDER = "+923000000000"
SANDBOX_TELEGRAM_CHAT = "1000001"


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
) -> None:
    """Serve the web endpoints and the bot (sandbox mode when no provider is configured).

    Refuses to start when the content is invalid. Run `outreach db upgrade` first.
    """
    import uvicorn

    from bot.routes.app import create_app

    settings = load_settings()
    setup_logging(settings.log_level, settings.log_format)
    catalog = load_or_exit(settings.content_dir)
    check_schema(settings)
    out.print(
        f"Dhanote Outreach: {settings.mode} mode, {settings.database_kind} database, "
        f"http://{host}:{port}/healthz (Ctrl-C stops)"
    )
    if settings.console_enabled and settings.mode == "sandbox":
        from bot.cli.coordinators import local_admin_link

        out.print("Coordinators' console (this link signs you in once):")
        out.print(local_admin_link(settings, f"http://{host}:{port}"), soft_wrap=True)
    uvicorn.run(
        create_app(settings, catalog=catalog, tune_gc=True),
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        # uvicorn's own lines (and a start-up failure's traceback) go through the handler
        # setup_logging made, which masks the secrets.
        log_config=None,
        access_log=False,
    )


@app.command()
def worker() -> None:
    """Run only the scheduler, the dispatcher and the replies' sweeper, without the web endpoints.

    For deployments that run `outreach serve` with RUN_WORKER=false (see the Procfile). One
    worker sends at a time; another started against the same database waits as a standby.
    Ctrl-C or SIGTERM stops it once the sends in flight have finished.
    """
    import asyncio

    settings = load_settings()
    setup_logging(settings.log_level, settings.log_format)
    catalog = load_or_exit(settings.content_dir)
    check_schema(settings)
    out.print(f"Dhanote Outreach worker: {settings.mode} mode, {settings.database_kind} database")
    asyncio.run(_run_worker(settings, catalog))


async def _run_worker(settings: Settings, catalog: Catalog) -> None:
    import asyncio
    import contextlib
    import signal

    from bot.app.runtime import open_runtime
    from bot.outreach.worker import Worker

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with open_runtime(settings, catalog=catalog) as rt:
        # The worker only sends on Telegram; it does not take updates (the web process does).
        # Telegram gets ready beside the rest: SMS must not wait for it, nor die with it.
        telegram = rt.telegram
        starting = None
        if telegram is not None and not await telegram.try_start(send_only=True):
            starting = asyncio.create_task(
                telegram.keep_starting(settings.telegram_retry_seconds, send_only=True)
            )
        try:
            worker = Worker(rt.engine, rt.units, rt.senders, settings, providers=rt.providers)
            await worker.run(stop)
        finally:
            if starting is not None:
                starting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await starting
            if telegram is not None:
                await telegram.application.bot.shutdown()


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
    import asyncio

    from bot.cli.chat import run_chat

    settings = load_settings()
    setup_logging("WARNING")
    catalog = load_or_exit(settings.content_dir)
    address = sender or (
        SANDBOX_SMS_SENDER if channel is ChannelOption.sms else SANDBOX_TELEGRAM_CHAT
    )
    with database_errors(settings):
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
    """Validate the content; print a summary, or every problem with its file and line.

    Then check the answers coordinators added (`outreach answers`) against it, when the
    database is there.
    """
    import json

    from bot.cli.answers import check_stored
    from bot.content.load import ContentError, load_catalog, summarize

    folder = directory or load_settings().content_dir
    try:
        catalog = load_catalog(folder)
    except ContentError as exc:
        err.print(f"Content in {folder} is not valid:\n{exc}", markup=False)
        raise typer.Exit(1) from exc
    summary = summarize(catalog)
    out.print(f"Content in {folder} is valid (version {catalog.version}).")
    out.print(json.dumps(summary, indent=2, ensure_ascii=False), markup=False)
    if not check_stored(catalog, folder):
        raise typer.Exit(1)


@telegram_app.command("setup")
def telegram_setup() -> None:
    """Register the command menus (English and Urdu) and the webhook with Telegram.

    With PUBLIC_BASE_URL set the webhook points at PUBLIC_BASE_URL/telegram/webhook with the
    secret token; without it the webhook is removed so long polling works. `outreach serve`
    does the same at start.
    """
    settings = load_settings()
    setup_logging("WARNING")
    if settings.telegram_bot_token is None:
        err.print("TELEGRAM_BOT_TOKEN is not set: there is no bot to set up.")
        raise typer.Exit(1)
    catalog = load_or_exit(settings.content_dir)
    import asyncio

    from telegram.error import TelegramError

    from bot.channels.telegram import build_bot
    from bot.telegram.webhook import register

    async def run() -> list[str]:
        async with build_bot(settings) as bot:
            return await register(bot, catalog, settings)

    try:
        done = asyncio.run(run())
    except TelegramError as exc:
        fail(f"Telegram refused the set-up: {exc}")
    for line in done:
        out.print(f"✓ {line}", markup=False)


@subscribers_app.command("import")
def subscribers_import(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV with a header: phone and/or telegram_chat_id, name, language, city, "
            "topics (an export's sms_status, telegram_status too)."
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every row, store nothing.")
    ] = False,
) -> None:
    """Import subscribers from CSV: every row is checked first, then all are stored or none.

    Phones are normalised to E.164 (numbers without a country code are taken as Pakistani).
    A bad row is reported with its row number and nothing is stored. UTF-8 with or without a
    BOM (Excel's "CSV UTF-8"). A file from `outreach subscribers export` imports as it is.
    Someone already opted out stays opted out; a status other than active in the file is kept.
    An empty cell (a name, a city) leaves what is on file.
    """
    from datetime import UTC, datetime

    from bot.core.roster import RosterError
    from bot.outreach.roster import import_roster, preview_import
    from bot.outreach.spreadsheets import NotUtf8, decode

    settings = load_settings()
    setup_logging("WARNING")
    catalog = load_or_exit(settings.content_dir)
    try:
        text = decode(file.read_bytes())
    except OSError as exc:
        fail(f"Cannot read {file}: {first_line(exc)}")
    except NotUtf8 as exc:
        fail(f"Cannot read {file}: {exc}")
    checked = preview_import(text, catalog, settings.phone_region)
    if not checked.ok:
        err.print(f"{file}: nothing imported, {len(checked.problems)} problem(s):", markup=False)
        err.print(str(RosterError(checked.problems)), markup=False)
        raise typer.Exit(1)
    rows = checked.rows
    if dry_run:
        out.print(f"{file}: {len(rows)} rows are valid (dry run, nothing stored).")
        return
    with out.status(f"Importing {len(rows)} subscribers…"):
        now = datetime.now(UTC)
        report = on_db(settings, lambda units: import_roster(units, rows, now))
    out.print(
        f"{file}: {len(rows)} rows imported: {report.created} new, {report.updated} updated"
        + (f", {report.opted_out} kept opted out" if report.opted_out else "")
        + "."
    )


@subscribers_app.command("export")
def subscribers_export(
    file: Annotated[
        Path | None, typer.Argument(help="Where to write the CSV (default: the terminal).")
    ] = None,
) -> None:
    """Export every subscriber as CSV (UTF-8 with a BOM, so Excel shows Urdu).

    Columns: phone, telegram_chat_id, name, language, city, topics, sms_status,
    telegram_status; a Telegram-only person has an empty phone. The file imports again as
    it is.
    """
    from bot.outreach.roster import people, people_csv

    settings = load_settings()
    setup_logging("WARNING")
    found = on_db(settings, people)
    write_csv(people_csv(found), file)
    if file is not None:
        out.print(f"{len(found)} subscribers written to {file}.")


@subscribers_app.command("list")
def subscribers_list(
    limit: Annotated[int, typer.Option(help="Show at most this many.")] = 50,
) -> None:
    """Show subscribers (numbers and chats masked) and how many there are by status."""
    from collections import Counter

    from rich.table import Table
    from rich.text import Text

    from bot.core.phones import mask
    from bot.outreach.roster import people

    settings = load_settings()
    setup_logging("WARNING")
    found = on_db(settings, people)
    table = Table(
        "phone", "telegram", "name", "language", "city", "topics", "sms", "telegram status"
    )
    for p in found[:limit]:
        table.add_row(
            " ".join(mask(a) for a, _ in p.sms) or "-",
            " ".join(mask(a) for a, _ in p.telegram) or "-",
            Text(p.name or "-"),  # as written: "[b]" in a name is not markup
            p.language or "-",
            p.city or "-",
            ";".join(p.topics),
            " ".join(s for _, s in p.sms) or "-",
            " ".join(s for _, s in p.telegram) or "-",
        )
    out.print(table)
    if len(found) > limit:
        out.print(f"… and {len(found) - limit} more (--limit).")

    def summary(channel: str, statuses: Counter[str]) -> str:
        counts = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
        return f"{channel}: {counts or 'none'}"

    sms: Counter[str] = Counter(s for p in found for _, s in p.sms)
    telegram: Counter[str] = Counter(s for p in found for _, s in p.telegram)
    out.print(f"{len(found)} subscribers ({summary('SMS', sms)}; {summary('Telegram', telegram)}).")


def main() -> None:
    # python-telegram-bot 22 reports retry_after as a timedelta only when asked to, and warns
    # on every flood-control answer otherwise; our adapter accepts both.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    app()
