"""``outreach doctor``: check what the bot runs on and say what to fix.

The settings, ``TIMEZONE``, ``PUBLIC_BASE_URL``'s shape, the content, the database (there,
at the schema this version needs; for SQLite writable and in WAL mode), the answers
coordinators added, each configured provider through the client ``serve`` would build from
the same settings (Telegram ``getMe`` and ``getWebhookInfo``; Twilio's Account resource;
the gateway's ``/health`` and ``/webhooks``), and the system clock against the ``Date`` of the
providers' answers. What each finding means is :mod:`bot.cli.findings`.

The database and the providers are probed at once, each given at most :data:`CHECK_SECONDS`;
a check that fails in a way nobody foresaw is reported as a problem, never a traceback, and
the others still run. Nothing is changed anywhere (a SQLite file is put in WAL mode, as any
command does).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from bot.cli.common import first_line, load_settings, out, setup_logging
from bot.cli.findings import (
    Finding,
    PhoneCheck,
    ServerDate,
    WebhookState,
    as_json,
    clock_finding,
    exit_code,
    gateway_webhooks_finding,
    is_utf8,
    not_configured,
    ok,
    phone_finding,
    problem,
    public_url_finding,
    render,
    timezone_finding,
    twilio_account_finding,
    unset_sms_provider,
    webhook_findings,
)

if TYPE_CHECKING:
    import aiohttp
    import httpx

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
    from bot.redact import redact

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
    dates = _Dates()
    found = await asyncio.gather(
        _bounded("database", _database(settings, catalog), "is the database up and reachable?"),
        _bounded(
            "telegram",
            _telegram(settings, dates),
            "check the network (and TELEGRAM_API_BASE_URL, if set)",
        ),
        _bounded(
            "twilio",
            _twilio(settings, dates),
            "check the network (and TWILIO_API_BASE_URL, if set)",
        ),
        _bounded("smsgate", _smsgate(settings, dates), _GATEWAY_DOWN),
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


async def _telegram(settings: Settings, dates: _Dates) -> list[Finding]:
    if settings.telegram_bot_token is None:
        return [not_configured("telegram", settings.mode == "sandbox", "TELEGRAM_BOT_TOKEN")]
    from telegram.error import InvalidToken, NetworkError, TelegramError, TimedOut

    from bot.channels.telegram import build_bot
    from bot.telegram.webhook import webhook_url

    try:
        bot = build_bot(settings, timeout=CHECK_SECONDS, trace_configs=[dates.trace("Telegram")])
    except ValueError:
        return [problem("telegram", "TELEGRAM_BOT_TOKEN is empty", "set the token @BotFather gave")]
    try:
        async with bot:
            info = await bot.get_webhook_info()
            me = bot.bot
    except InvalidToken:
        return [
            problem(
                "telegram",
                "Telegram rejected the token",
                "check TELEGRAM_BOT_TOKEN (ask @BotFather)",
            )
        ]
    except TimedOut:
        return [
            problem(
                "telegram",
                f"no answer from {settings.telegram_api_base_url} within {CHECK_SECONDS:g} s",
                "check the network (and TELEGRAM_API_BASE_URL, if set)",
            )
        ]
    except NetworkError as exc:
        return [
            problem(
                "telegram",
                f"cannot reach Telegram at {settings.telegram_api_base_url}: {first_line(exc)}",
                "check the network (and TELEGRAM_API_BASE_URL, if set)",
            )
        ]
    except TelegramError as exc:
        return [
            problem(
                "telegram",
                f"Telegram answered {type(exc).__name__}: {first_line(exc)}",
                "check TELEGRAM_BOT_TOKEN and TELEGRAM_API_BASE_URL",
            )
        ]
    state = WebhookState(
        url=info.url or "",
        pending=info.pending_update_count,
        last_error_at=info.last_error_date,
        last_error=info.last_error_message,
    )
    return [
        ok("telegram", f"token accepted: @{me.username} (bot {me.id})"),
        *webhook_findings(state, webhook_url(settings), datetime.now(UTC)),
    ]


async def _twilio(settings: Settings, dates: _Dates) -> list[Finding]:
    sends = settings.sms_sender == "twilio"
    if not settings.twilio_configured:
        names = "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
        sandbox = settings.mode == "sandbox"
        return [unset_sms_provider("twilio", sends=sends, sandbox=sandbox, settings=names)]
    import aiohttp
    from twilio.base.exceptions import TwilioRestException, TwilioServiceException

    from bot.channels.twilio import build_twilio_client, close_twilio_client

    credentials = "check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (Twilio Console, Account Info)"
    client = await build_twilio_client(settings, trace_configs=[dates.trace("Twilio")])
    try:
        account = await client.api.v2010.accounts(settings.twilio_account_sid).fetch_async()
    except (TwilioRestException, TwilioServiceException) as exc:
        status, code = exc.status, exc.code
        if status in (401, 403) or code == 20003:
            said = f"Twilio rejected the credentials (HTTP {status}, code {code})"
            return [problem("twilio", said, credentials)]
        if status == 404:
            said = "Twilio knows no account TWILIO_ACCOUNT_SID (HTTP 404)"
            return [problem("twilio", said, credentials)]
        said = f"Twilio answered HTTP {status} (code {code})"
        return [problem("twilio", said, "try again later; see status.twilio.com")]
    except aiohttp.ClientError as exc:
        said = f"cannot reach Twilio at {settings.twilio_api_base_url}: {type(exc).__name__}"
        return [problem("twilio", said, "check the network (and TWILIO_API_BASE_URL, if set)")]
    finally:
        await close_twilio_client(client)
    found = [twilio_account_finding(account.status, account.type, sends)]
    if sends and not settings.twilio_from_number and not settings.twilio_messaging_service_sid:
        found.append(
            problem(
                "twilio",
                "neither TWILIO_FROM_NUMBER nor TWILIO_MESSAGING_SERVICE_SID is set: nothing "
                "to send from",
                "set one of them (a number or Messaging Service of the account)",
            )
        )
    return found


_GATEWAY_DOWN = (
    "is the phone on and online, the SMSGate app's server started, and SMSGATE_URL its "
    "address (http://IP:8080 on its network, or https://api.sms-gate.app/3rdparty/v1)?"
)


async def _smsgate(settings: Settings, dates: _Dates) -> list[Finding]:
    sends = settings.sms_sender == "smsgate"
    if not settings.smsgate_configured:
        names = "SMSGATE_URL and SMSGATE_PASSWORD"
        sandbox = settings.mode == "sandbox"
        return [unset_sms_provider("smsgate", sends=sends, sandbox=sandbox, settings=names)]
    import httpx
    from android_sms_gateway.domain import HealthResponse
    from android_sms_gateway.errors import APIError

    from bot.channels.smsgate import build_smsgate_client, close_smsgate_client

    where = settings.smsgate_url
    client = build_smsgate_client(
        settings, timeout=CHECK_SECONDS, response_hooks=[dates.hook("the gateway")]
    )
    try:
        try:
            health = await client.health_check()
        except APIError as exc:  # an unhealthy phone answers 500 or 503 with its checks
            if not isinstance(exc.response, dict) or "status" not in exc.response:
                raise
            health = HealthResponse.from_dict(exc.response)
        webhooks = await client.get_webhooks()
    except APIError as exc:
        if exc.status_code in (401, 403):
            said = f"the gateway refused the credentials (HTTP {exc.status_code})"
            fix = "check SMSGATE_USERNAME and SMSGATE_PASSWORD (the SMSGate app shows them)"
            return [problem("smsgate", said, fix)]
        said = f"the gateway at {where} answered HTTP {exc.status_code}"
        return [problem("smsgate", said, _GATEWAY_DOWN)]
    except httpx.TimeoutException:
        said = f"no answer from the gateway at {where} within {CHECK_SECONDS:g} s"
        return [problem("smsgate", said, _GATEWAY_DOWN)]
    except httpx.HTTPError as exc:
        said = f"cannot reach the gateway at {where}: {type(exc).__name__}"
        return [problem("smsgate", said, _GATEWAY_DOWN)]
    except (KeyError, TypeError, ValueError) as exc:
        said = f"{where} does not answer as SMSGate does ({type(exc).__name__})"
        return [problem("smsgate", said, "check SMSGATE_URL: the API root, without /messages")]
    finally:
        await close_smsgate_client(client)
    role = "sends the SMS" if sends else "configured, SMS_PROVIDER picks another"
    checks = {
        name: PhoneCheck(c.status.value, c.observed_value, c.observed_unit)
        for name, c in (health.checks or {}).items()
    }
    received = [w.url for w in webhooks if w.event.value == "sms:received"]
    return [
        ok("smsgate", f"credentials accepted at {where} ({role})"),
        phone_finding(health.status.value, checks, health.version),
        gateway_webhooks_finding(received),
    ]


class _Dates:
    """Collects the ``Date`` of every provider answer, with our clock's time when it came."""

    def __init__(self) -> None:
        self.samples: list[ServerDate] = []

    def trace(self, provider: str) -> aiohttp.TraceConfig:
        """An aiohttp request hook (Telegram, Twilio)."""
        import aiohttp

        async def on_end(_: Any, __: Any, params: aiohttp.TraceRequestEndParams) -> None:
            self._add(provider, params.response.headers.get("Date"))

        trace = aiohttp.TraceConfig()
        trace.on_request_end.append(on_end)
        return trace

    def hook(self, provider: str) -> Callable[[httpx.Response], Awaitable[None]]:
        """An httpx response hook (the gateway)."""

        async def on_response(response: httpx.Response) -> None:
            self._add(provider, response.headers.get("Date"))

        return on_response

    def _add(self, provider: str, date: str | None) -> None:
        if date:
            self.samples.append(ServerDate(provider, date, datetime.now(UTC)))
