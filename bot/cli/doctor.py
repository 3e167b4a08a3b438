"""``outreach doctor``: check what the bot runs on and say what to fix.

The settings, ``TIMEZONE``, ``PUBLIC_BASE_URL``'s shape, the content, the database (there,
at the schema this version needs; for SQLite writable and in WAL mode), the answers
coordinators added, each configured provider through the client ``serve`` would build from
the same settings (:mod:`bot.cli.probes`: Telegram ``getMe`` and ``getWebhookInfo``; Twilio's
Account resource; the gateway's ``/health`` and ``/webhooks``), and the system clock against
the ``Date`` of the providers' answers. What each finding means is :mod:`bot.cli.findings`.

The database and the providers are probed at once, each given at most :data:`CHECK_SECONDS`;
a check that fails in a way nobody foresaw is reported as a problem, never a traceback, and
the others still run. Nothing is changed anywhere (a SQLite file is put in WAL mode, as any
command does).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from bot.cli import probes
from bot.cli.common import first_line, load_settings, out, setup_logging
from bot.cli.findings import (
    Finding,
    as_json,
    clock_finding,
    exit_code,
    is_utf8,
    ok,
    problem,
    public_url_finding,
    render,
    timezone_finding,
)

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.core.catalog import Catalog

# Seconds each probe (the database, each provider) may take, all of it.
CHECK_SECONDS = 10.0


def doctor(
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Check the settings, database, content, each configured provider and the clock, and
    say what to fix.

    One line per check; under each problem, what to do about it. Exit status 0 when nothing
    is wrong (warnings allowed), 1 otherwise. The database and each provider get at most
    10 seconds. Secrets are never printed.
    """
    from pydantic import ValidationError

    try:
        settings = load_settings()
    except ValidationError as exc:
        _report([_settings_finding(exc)], json_output)
    setup_logging("WARNING")
    findings = [
        ok("settings", f"{settings.mode} mode, {settings.database_kind} database"),
        timezone_finding(settings.timezone, datetime.now(UTC)),
        public_url_finding(
            settings.public_base_url,
            live=settings.mode == "live",
            telegram=settings.telegram_bot_token is not None,
            twilio=settings.twilio_configured,
        ),
    ]
    catalog, content = _content(settings)
    findings.append(content)
    findings += asyncio.run(_probe(settings, catalog))
    _report(findings, json_output)


def _report(findings: list[Finding], json_output: bool) -> NoReturn:
    from bot.observe.redact import redact

    if json_output:
        out.print(redact(as_json(findings)), markup=False, soft_wrap=True)
    else:
        for line in render(findings, utf8=is_utf8(out.encoding)):
            out.print(redact(line), markup=False, soft_wrap=True)
    raise typer.Exit(exit_code(findings))


def _settings_finding(exc: Any) -> Finding:
    # Each error's place and message, never its input (which could be anything typed).
    said = "; ".join(
        f"{'.'.join(str(part) for part in e['loc']).upper() or 'settings'}: {e['msg']}"
        for e in exc.errors()
    )
    return problem("settings", said, "correct them in the environment or .env")


def _content(settings: Settings) -> tuple[Catalog | None, Finding]:
    from bot.content.load import ContentError, load_catalog

    folder = settings.content_dir
    try:
        catalog = load_catalog(folder)
    except ContentError as exc:
        said = [str(p) for p in exc.problems]
        more = f" (and {len(said) - 3} more)" if len(said) > 3 else ""
        return None, problem(
            "content",
            f"not valid: {'; '.join(said[:3])}{more}",
            "fix what is named at each file and line; `outreach content check` lists them all",
        )
    return catalog, ok("content", f"{folder} is valid (version {catalog.version})")


async def _probe(settings: Settings, catalog: Catalog | None) -> list[Finding]:
    dates = probes.Dates()
    found = await asyncio.gather(
        _bounded("database", _database(settings, catalog), "is the database up and reachable?"),
        _bounded(
            "telegram",
            probes.check_telegram(settings, dates),
            "check the network (and TELEGRAM_API_BASE_URL, if set)",
        ),
        _bounded(
            "twilio",
            probes.check_twilio(settings, dates),
            "check the network (and TWILIO_API_BASE_URL, if set)",
        ),
        _bounded("smsgate", probes.check_smsgate(settings, dates), probes.GATEWAY_DOWN),
    )
    return [*(f for each in found for f in each), clock_finding(dates.samples)]


async def _bounded(
    check: str, probe: Coroutine[Any, Any, list[Finding]], slow: str
) -> list[Finding]:
    """``probe``'s findings; a problem when it takes over :data:`CHECK_SECONDS` or fails in a
    way the probe did not foresee."""
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            return await probe
    except TimeoutError:
        return [problem(check, f"no answer within {CHECK_SECONDS:g} s", slow)]
    except Exception as exc:  # one check's surprise must not hide the others
        return [
            problem(
                check,
                f"the check failed: {type(exc).__name__}: {first_line(exc)}",
                "run it again; if it stays, this is a bug to report",
            )
        ]


async def _database(settings: Settings, catalog: Catalog | None) -> list[Finding]:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from bot.outreach import answers
    from bot.store.engine import UnsupportedDatabase, create_engine, database_kind
    from bot.store.migrate import UPGRADE_HINT, SchemaNotCurrent, head_revision, require_current
    from bot.store.units import Units

    answers_skipped = Finding("added answers", "skipped", "not checked: the database is not ready")
    try:
        url = make_url(settings.database_url)
        kind = database_kind(url)
    except (ArgumentError, UnsupportedDatabase) as exc:
        fix = "set DATABASE_URL to sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB"
        return [problem("database", f"DATABASE_URL: {first_line(exc)}", fix), answers_skipped]
    where = url.database if kind == "sqlite" else f"{url.host}:{url.port or 5432}/{url.database}"
    try:
        await require_current(settings.database_url)
    except SchemaNotCurrent as exc:
        said = str(exc).removesuffix(".").removesuffix(f": {UPGRADE_HINT}")
        return [problem("database", said, UPGRADE_HINT), answers_skipped]
    except (SQLAlchemyError, OSError) as exc:
        fix = (
            "check DATABASE_URL and that this user may read and write the file and its folder"
            if kind == "sqlite"
            else "is PostgreSQL running, and DATABASE_URL right (host, port, user, password, "
            "database)?"
        )
        return [
            problem("database", f"cannot open {where}: {first_line(exc)}", fix),
            answers_skipped,
        ]
    found: list[Finding] = []
    engine = create_engine(settings.database_url)
    try:
        detail = f"{kind} {where}, schema at head ({head_revision()})"
        async with engine.connect() as conn:
            if kind == "sqlite":
                mode = str(await conn.scalar(text("PRAGMA journal_mode"))).lower()
                found += _sqlite_findings(str(url.database), detail, mode)
            else:
                version = await conn.scalar(text("SHOW server_version"))
                found.append(ok("database", f"{detail}, PostgreSQL {version}"))
        if catalog is None:
            found.append(
                Finding("added answers", "skipped", "not checked: the content is not valid")
            )
            return found
        units = Units(engine)
        try:
            stored = await answers.list_all(units)
        finally:
            units.close()
        every = answers.problems_of(stored, catalog, max_segments=settings.sms_max_segments)
        found.append(_answers_finding(every))
    finally:
        await engine.dispose()
    return found


def _sqlite_findings(path: str, detail: str, mode: str) -> list[Finding]:
    folder = os.path.dirname(os.path.abspath(path))
    if not (os.access(path, os.W_OK) and os.access(folder, os.W_OK)):
        return [
            problem(
                "database",
                f"{path} (or its folder, where SQLite keeps its -wal and -shm files) is not "
                "writable by this user",
                "run outreach as the user that owns the file, or give that user write access",
            )
        ]
    if mode != "wal":
        return [
            problem(
                "database",
                f"{detail}, but journal mode {mode}, not WAL: readers block the writer",
                "keep the database on a local disk (network file systems cannot do WAL)",
            )
        ]
    return [ok("database", f"{detail}, journal mode wal, writable")]


def _answers_finding(every: dict[str, list[str]]) -> Finding:
    bad = {key: found for key, found in every.items() if found}
    if not bad:
        return ok("added answers", f"{len(every)} checked against the content")
    key, found = next(iter(sorted(bad.items())))
    return problem(
        "added answers",
        f"{len(bad)} of {len(every)} clash with the content, {key}: {found[0]}",
        "`outreach content check` shows them all; fix with `outreach answers edit KEY` or in "
        "the content (the bot drops what clashes until then)",
    )
