"""Secrets are never printed: the real ``outreach`` at LOG_LEVEL=DEBUG, with every secret set,
serving and failing, against the fakes; its stdout and stderr (where it logs) hold none of them.

The output goes to files, not pipes: at DEBUG a process writes more than a pipe holds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

import bot.observe.redact
from bot.config import Settings
from bot.observe.logs import LogFormat, formatter
from bot.observe.redact import MASK, RedactingFilter, keep_secret, redact
from fakes.http import client as http_client
from fakes.server import aserve
from fakes.smsgate_api import PREFIX, FakeSMSGate
from fakes.telegram_api import FakeTelegram, message_update
from fakes.twilio_api import FakeTwilio
from tests.conftest import eventually

REPO = Path(__file__).resolve().parents[2]
OUTREACH = Path(sys.executable).parent / "outreach"
PUBLIC = "https://outreach.example.org"

TOKEN = "7000000001:AAbotTokenTail_9f8e7d6c5b4a"
REJECTED = "7000000001:AArejectedTail_1a2b3c4d5e6f"
WEBHOOK_SECRET = "webhookSecret_Q7w8e9r0"
TWILIO_SID = "AC" + "5" * 32
AUTH_TOKEN = "authToken0b1c2d3e4f5a6b7c8d9e"
GATE_PASSWORD = "gatePassword_ZxCvBn"
SIGNING_KEY = "signingKey_PoIuYt"
METRICS_TOKEN = "metricsToken_Lk9Jh8"
# The part of a token after the colon is the secret: a URL-encoded token still shows it.
SECRETS = [
    *(TOKEN, TOKEN.partition(":")[2], REJECTED, REJECTED.partition(":")[2]),
    *(WEBHOOK_SECRET, AUTH_TOKEN, GATE_PASSWORD, SIGNING_KEY),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _env(tmp_path: Path, telegram_api: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO", "TELEGRAM", "SMS"))}
    return env | {
        "CONTENT_DIR": str(REPO / "content"),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'outreach.db'}",
        "LOG_LEVEL": "DEBUG",
        "PUBLIC_BASE_URL": PUBLIC,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "TELEGRAM_API_BASE_URL": telegram_api,
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": "+15005550006",
        "SMSGATE_URL": "http://127.0.0.1:9" + PREFIX,
        "SMSGATE_USERNAME": "park",
        "SMSGATE_PASSWORD": GATE_PASSWORD,
        "SMSGATE_SIGNING_KEY": SIGNING_KEY,
        **extra,
    }


def _start(argv: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.Popen[bytes]:
    """``outreach ARGV``; a test that starts `serve` or the worker gives it ``sqlite_url`` (a
    copy of a migrated database: `outreach db upgrade` is tested elsewhere)."""
    with (tmp_path / "out.txt").open("wb") as out, (tmp_path / "err.txt").open("wb") as err:
        return subprocess.Popen(
            [str(OUTREACH), *argv], env=env, cwd=tmp_path, stdout=out, stderr=err
        )


def _printed(proc: subprocess.Popen[bytes], tmp_path: Path) -> str:
    """Everything the process wrote, once it has ended (SIGINT if it still runs)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)
    return "\n".join((tmp_path / f).read_text(encoding="utf-8") for f in ("out.txt", "err.txt"))


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (loopback)
            return True
    except OSError:
        return False


def assert_no_secret(printed: str) -> None:
    leaked = [s for s in SECRETS if s in printed]
    assert leaked == [], f"printed: {leaked}"


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_serve_at_debug_prints_no_secret_while_it_answers_every_channel(
    tmp_path: Path, sqlite_url: str, log_format: str
) -> None:
    telegram = FakeTelegram(TOKEN)
    twilio = FakeTwilio(TWILIO_SID, AUTH_TOKEN)
    gate = FakeSMSGate("park", GATE_PASSWORD, SIGNING_KEY)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    async with aserve(telegram.app) as tg_api, aserve(twilio.app) as tw_api:
        env = _env(
            tmp_path,
            tg_api,
            TWILIO_API_BASE_URL=tw_api,
            SMS_PROVIDER="twilio",
            LOG_FORMAT=log_format,
            METRICS_TOKEN=METRICS_TOKEN,
            DATABASE_URL=sqlite_url,
        )
        proc = await asyncio.to_thread(_start, ["serve", "--port", str(port)], env, tmp_path)
        try:
            healthz = f"{base}/healthz"
            await eventually(
                lambda: asyncio.to_thread(_answers, healthz), "serve is up", within=30, every=0.1
            )
            await eventually(lambda: telegram.webhook_secret is not None, "the webhook is set")
            # Each secret at work: the signature Twilio makes with the auth token, the
            # gateway's with the signing key, Telegram's secret header, the token in each send.
            inbound = await twilio.post_inbound(
                f"{base}/sms/twilio", "+923001112222", "jobs", signed_url=f"{PUBLIC}/sms/twilio"
            )
            assert inbound.status_code == 200
            assert "<Message>" in inbound.text  # answered in the TwiML
            gate_inbound = await gate.post_received(f"{base}/sms/smsgate", "+923003334444", "HELP")
            assert gate_inbound.status_code == 200
            update = await telegram.post_update(
                f"{base}/telegram/webhook", message_update(1, 5550001, "jobs")
            )
            assert update.status_code == 200
            await eventually(lambda: twilio.sent != [], "the gateway's sender answered by Twilio")
            await eventually(lambda: telegram.sent_to(5550001) != [], "the Telegram reply sent")
            async with http_client() as client:  # the metrics token at work
                scraped = await client.get(
                    f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
                )
            assert scraped.status_code == 200
        finally:
            printed = await asyncio.to_thread(_printed, proc, tmp_path)
    assert_no_secret(printed)
    assert METRICS_TOKEN not in printed
    # The residents' numbers are masked too, even at DEBUG.
    assert [n for n in ("923001112222", "923003334444") if n in printed] == []
    if log_format == "text":
        assert f"bot{MASK}" in printed  # python-telegram-bot's "Set Bot API URL" line, masked
        assert f"'secret_token': '{MASK}'" in printed  # setWebhook's parameters, masked
        return
    # One JSON object per line, masked the same way; the lines written while the Twilio
    # webhook was handled carry the id its response gave.
    lines = [
        json.loads(line) for line in (tmp_path / "err.txt").read_text(encoding="utf-8").splitlines()
    ]
    assert all(set(line) >= {"time", "level", "logger", "message"} for line in lines)
    assert any(line["message"].endswith(f"bot{MASK}") for line in lines)
    assert any(f"'secret_token': '{MASK}'" in line["message"] for line in lines)
    request_id = inbound.headers["x-request-id"]
    handled = [line["message"] for line in lines if line.get("request_id") == request_id]
    assert any(m.startswith("sms from +92300****222: intent=") for m in handled), handled


@pytest.mark.parametrize(
    "argv", [["serve", "--port", "0"], ["telegram", "setup"], ["worker"]], ids=" ".join
)
async def test_a_rejected_token_is_not_printed(
    tmp_path: Path, sqlite_url: str, argv: list[str]
) -> None:
    telegram = FakeTelegram(TOKEN)  # the process has another token: 401, InvalidToken
    async with aserve(telegram.app) as api:
        env = _env(tmp_path, api, TELEGRAM_BOT_TOKEN=REJECTED, DATABASE_URL=sqlite_url)
        if argv[0] == "serve":
            argv = ["serve", "--port", str(_free_port())]
        proc = await asyncio.to_thread(_start, argv, env, tmp_path)
        # `telegram setup` gives up; `serve` and the worker carry on without Telegram (SMS
        # goes on) once they have said why: they are stopped then.
        await eventually(
            lambda: (
                proc.poll() is not None
                or "telegram unavailable" in (tmp_path / "err.txt").read_text(encoding="utf-8")
            ),
            "it gives up or says Telegram is unavailable",
            within=30,
            every=0.1,
        )
        printed = await asyncio.to_thread(_printed, proc, tmp_path)
    assert telegram.calls_to("getMe") != []
    assert_no_secret(printed)
    assert MASK in printed  # InvalidToken's message or the "Set Bot API URL" line, masked


async def test_doctor_prints_no_secret_when_a_provider_refuses_or_answers_with_one(
    tmp_path: Path,
) -> None:
    """Telegram refuses the token (python-telegram-bot's InvalidToken names it), Twilio answers
    with its Account resource (which holds the auth token), the gateway with its webhooks."""
    telegram = FakeTelegram(TOKEN)
    twilio = FakeTwilio(TWILIO_SID, AUTH_TOKEN)
    gate = FakeSMSGate("park", GATE_PASSWORD, SIGNING_KEY)
    async with (
        aserve(telegram.app) as tg_api,
        aserve(twilio.app) as tw_api,
        aserve(gate.app) as gate_api,
    ):
        env = _env(
            tmp_path,
            tg_api,
            TELEGRAM_BOT_TOKEN=REJECTED,
            TWILIO_API_BASE_URL=tw_api,
            SMSGATE_URL=gate_api + PREFIX,
        )
        proc = await asyncio.to_thread(_start, ["doctor", "--json"], env, tmp_path)
        await asyncio.to_thread(proc.wait, 60)
        printed = await asyncio.to_thread(_printed, proc, tmp_path)
    assert proc.returncode == 1
    assert telegram.calls_to("getMe") != []
    assert twilio.requests != [] and gate.requests != []
    assert_no_secret(printed)
    assert "Telegram rejected the token" in printed
    assert '"detail": "account active, Full (sends the SMS)"' in printed


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_log_line_masks_secrets_in_its_arguments_and_its_traceback(
    monkeypatch: pytest.MonkeyPatch, log_format: LogFormat
) -> None:
    monkeypatch.setattr(
        bot.observe.redact, "_secrets", []
    )  # this process's other tests keep theirs
    settings = Settings(
        _env_file=None,
        telegram_bot_token=TOKEN,
        twilio_auth_token=AUTH_TOKEN,
        metrics_token=METRICS_TOKEN,
        database_url="postgresql+asyncpg://outreach:dbPassword_44@db.example.org/outreach",
    )
    assert {TOKEN, TOKEN.partition(":")[2], AUTH_TOKEN, METRICS_TOKEN, "dbPassword_44"} <= set(
        settings.secrets()
    )
    keep_secret(settings.secrets())
    try:
        raise ValueError(f"token {TOKEN.partition(':')[2]} refused")
    except ValueError:
        record = logging.LogRecord(
            "x",
            logging.ERROR,
            __file__,
            1,
            "calling %s with %s",
            ("url/bot" + TOKEN, json.dumps({"auth": AUTH_TOKEN})),
            sys.exc_info(),
        )
    assert RedactingFilter().filter(record)
    line = formatter(log_format).format(record)
    assert TOKEN.partition(":")[2] not in line
    assert AUTH_TOKEN not in line
    if log_format == "json":
        entry = json.loads(line)
        assert (entry["level"], entry["logger"]) == ("ERROR", "x")
        assert entry["message"].startswith(f"calling url/bot{MASK} with")
        assert entry["exception"].endswith(f"ValueError: token {MASK} refused")
    assert f"calling url/bot{MASK} with" in line
    assert f"token {MASK} refused" in line
    # A password URL-encoded in a URL is masked too; short values and other text are not.
    keep_secret(["p@ss/word", "abc"])
    assert redact("https://u:p%40ss%2Fword@h/ abc p@ss/word") == f"https://u:{MASK}@h/ abc {MASK}"
