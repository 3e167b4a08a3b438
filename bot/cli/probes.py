"""The providers as ``outreach doctor`` probes them: each through the client ``serve`` builds
from the same settings, each answer's ``Date`` kept for the clock check (:class:`Dates`).

Each probe returns its findings (:mod:`bot.cli.findings`) and foresees the failures of its
provider (refused credentials, no connection, an answer that is not the provider's); the
caller bounds its time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.cli.common import first_line
from bot.cli.findings import (
    Finding,
    PhoneCheck,
    ServerDate,
    WebhookState,
    gateway_webhooks_finding,
    not_configured,
    ok,
    phone_finding,
    problem,
    twilio_account_finding,
    unset_sms_provider,
    webhook_findings,
)

if TYPE_CHECKING:
    import aiohttp
    import httpx

    from bot.config import Settings

# How long each request may take (the caller bounds each probe as a whole as well).
REQUEST_SECONDS = 10.0

GATEWAY_DOWN = (
    "is the phone on and online, the SMSGate app's server started, and SMSGATE_URL its "
    "address (http://IP:8080 on its network, or https://api.sms-gate.app/3rdparty/v1)?"
)


async def check_telegram(settings: Settings, dates: Dates) -> list[Finding]:
    """The token (``getMe``) and the webhook (``getWebhookInfo``) through ``build_bot``;
    not configured without ``TELEGRAM_BOT_TOKEN``."""
    if settings.telegram_bot_token is None:
        return [not_configured("telegram", settings.mode == "sandbox", "TELEGRAM_BOT_TOKEN")]
    from telegram.error import InvalidToken, NetworkError, TelegramError, TimedOut

    from bot.channels.telegram import build_bot
    from bot.telegram.webhook import webhook_url

    try:
        bot = build_bot(settings, timeout=REQUEST_SECONDS, trace_configs=[dates.trace("Telegram")])
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
                f"no answer from {settings.telegram_api_base_url} within {REQUEST_SECONDS:g} s",
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


async def check_twilio(settings: Settings, dates: Dates) -> list[Finding]:
    """The account (its Account resource) through ``build_twilio_client``, and a sender to send
    from when Twilio sends the SMS; not configured without its SID and auth token."""
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


async def check_smsgate(settings: Settings, dates: Dates) -> list[Finding]:
    """The phone's health (``/health``, no credentials needed) and the credentials with its
    webhooks (``/webhooks``) through ``build_smsgate_client``; not configured without
    ``SMSGATE_URL`` and ``SMSGATE_PASSWORD``."""
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
        settings, timeout=REQUEST_SECONDS, response_hooks=[dates.hook("the gateway")]
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
        return [problem("smsgate", said, GATEWAY_DOWN)]
    except httpx.TimeoutException:
        said = f"no answer from the gateway at {where} within {REQUEST_SECONDS:g} s"
        return [problem("smsgate", said, GATEWAY_DOWN)]
    except httpx.HTTPError as exc:
        said = f"cannot reach the gateway at {where}: {type(exc).__name__}"
        return [problem("smsgate", said, GATEWAY_DOWN)]
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


class Dates:
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
