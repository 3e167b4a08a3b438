"""``outreach doctor`` against the fakes: all good, and each failure shown with its fix.

The real command runs in this process (Typer's runner) on a migrated database, with the real
client libraries pointed at the fakes of Telegram, Twilio and the gateway on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakes.server import serve
from fakes.smsgate_api import PREFIX, FakeSMSGate
from fakes.telegram_api import FakeTelegram, message_update
from fakes.twilio_api import API_VERSION, FakeTwilio
from tests.cli.conftest import REPO, run

PUBLIC = "https://outreach.example.org"
WEBHOOK = f"{PUBLIC}/telegram/webhook"
TOKEN = "7000000001:AAdoctorTokenTail_5f4e3d2c1b"
TWILIO_SID = "AC" + "7" * 32
AUTH_TOKEN = "authToken_doctor_0a1b2c3d4e5f"
GATE_PASSWORD = "gatePassword_doctor"

# The database is the subject of a few tests only; the others run on SQLite.
sqlite = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

_LINE = re.compile(r"^(\S+) (.+?) {2,}(.*)$")
_FIX = re.compile(r"^ +fix: (.*)$")


def doctor(*args: str) -> tuple[int, dict[str, list[tuple[str, str, str | None]]], str]:
    """Run ``outreach doctor``: its exit code, each check's lines as (mark, detail, fix), and
    everything it printed."""
    code, stdout, stderr = run("doctor", *args)
    found: dict[str, list[tuple[str, str, str | None]]] = {}
    last: tuple[str, int] | None = None
    for line in stdout.splitlines()[:-1]:  # the last line is the summary
        fix = _FIX.match(line)
        if fix is not None:
            assert last is not None, line
            check, index = last
            mark, detail, _ = found[check][index]
            found[check][index] = (mark, detail, fix.group(1))
            continue
        matched = _LINE.match(line)
        assert matched is not None, f"not a finding: {line!r}"
        mark, check, detail = matched.groups()
        found.setdefault(check, []).append((mark, detail, None))
        last = (check, len(found[check]) - 1)
    return code, found, stdout + stderr


def only(found: dict[str, list[tuple[str, str, str | None]]], check: str) -> tuple[str, str, str]:
    """The one line of ``check``, which must be a problem with its fix."""
    (line,) = found[check]
    mark, detail, fix = line
    assert mark == "✗", line
    assert fix, line
    return mark, detail, fix


@pytest.fixture
def telegram(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTelegram]:
    fake = FakeTelegram(TOKEN)
    with serve(fake.app) as api:
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("TELEGRAM_API_BASE_URL", api)
        yield fake


@pytest.fixture
def twilio(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTwilio]:
    fake = FakeTwilio(TWILIO_SID, AUTH_TOKEN)
    with serve(fake.app) as api:
        monkeypatch.setenv("TWILIO_ACCOUNT_SID", TWILIO_SID)
        monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
        monkeypatch.setenv("TWILIO_FROM_NUMBER", "+15005550006")
        monkeypatch.setenv("TWILIO_API_BASE_URL", api)
        yield fake


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSMSGate]:
    fake = FakeSMSGate("park", GATE_PASSWORD, "signingKey_doctor")
    fake.add_webhook(f"{PUBLIC}/sms/smsgate")
    with serve(fake.app) as api:
        monkeypatch.setenv("SMSGATE_URL", api + PREFIX)
        monkeypatch.setenv("SMSGATE_USERNAME", "park")
        monkeypatch.setenv("SMSGATE_PASSWORD", GATE_PASSWORD)
        yield fake


@pytest.fixture
def live(database: str, telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> FakeTelegram:
    """Telegram set up as `outreach telegram setup` leaves it, for PUBLIC_BASE_URL."""
    monkeypatch.setenv("PUBLIC_BASE_URL", PUBLIC)
    code, _, stderr = run("telegram", "setup")
    assert code == 0, stderr
    assert telegram.webhook_url == WEBHOOK
    return telegram


def test_all_good_with_every_provider(
    database: str, live: FakeTelegram, twilio: FakeTwilio, gateway: FakeSMSGate
) -> None:
    code, found, printed = doctor()

    assert code == 0, printed
    assert printed.splitlines()[-1] == "All good."
    assert {mark for lines in found.values() for mark, _, _ in lines} == {"✓"}
    assert found["telegram"][0][1] == "token accepted: @DhanoteOutreachBot (bot 7000000001)"
    assert found["telegram webhook"][0][1] == f"{WEBHOOK}, 0 updates waiting"
    assert found["twilio"][0][1] == "account active, Full (sends the SMS)"
    assert found["smsgate phone"][0][1] == "healthy (app 1.40.0)"
    assert found["public URL"][0][1] == PUBLIC
    ((_, on_database, _),) = found["database"]
    if database.startswith("sqlite"):
        assert on_database.endswith(", journal mode wal, writable")
    else:
        assert re.search(r":\d+/\w+, schema at head \(\w+\), PostgreSQL \d+", on_database)
    # A Date header has whole seconds, and uvicorn renews its own once a second.
    assert re.fullmatch(r"within [12] s of (Telegram|Twilio|the gateway)'s", found["clock"][0][1])
    # Each provider was asked, through its own client.
    assert live.calls_to("getMe") and live.calls_to("getWebhookInfo")
    account = f"/{API_VERSION}/Accounts/{TWILIO_SID}.json"
    assert [(r.method, r.path) for r in twilio.requests] == [("GET", account)]
    assert [r.path for r in gateway.requests] == [f"{PREFIX}/health", f"{PREFIX}/webhooks"]
    assert AUTH_TOKEN not in printed, "the Account resource carries the auth token"


@sqlite
def test_in_sandbox_no_provider_is_a_failure(database: str) -> None:
    code, found, printed = doctor()
    assert code == 0, printed
    for provider in ("telegram", "twilio", "smsgate"):
        assert found[provider] == [("-", "not configured (sandbox)", None)]
    assert found["clock"] == [("-", "not checked: no provider answered", None)]
    assert found["database"][0][0] == "✓"
    assert "journal mode wal, writable" in found["database"][0][1]


@sqlite
def test_json_says_every_check_and_whether_all_is_well(database: str) -> None:
    code, stdout, _ = run("doctor", "--json")
    report = json.loads(stdout)
    assert code == 0
    assert report["ok"] is True
    checks = {c["check"]: c for c in report["checks"]}
    assert checks["telegram"] == {
        "check": "telegram",
        "status": "skipped",
        "detail": "not configured (sandbox)",
        "fix": None,
    }
    assert checks["database"]["status"] == "ok"


@sqlite
def test_a_rejected_token_is_shown_never_printed(
    live: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "7000000001:AAanotherTokenTail_0000000"
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", wrong)
    code, found, printed = doctor()
    assert code == 1
    _, detail, fix = only(found, "telegram")
    assert detail == "Telegram rejected the token"
    assert fix == "check TELEGRAM_BOT_TOKEN (ask @BotFather)"
    assert wrong.partition(":")[2] not in printed
    assert "telegram webhook" not in found, "nothing more is asked with a token refused"
    assert found["database"][0][0] == "✓", "the other checks still run"


@sqlite
def test_a_webhook_elsewhere_is_shown_and_telegram_setup_fixes_it(
    database: str, telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://old.example.org")
    assert run("telegram", "setup")[0] == 0
    monkeypatch.setenv("PUBLIC_BASE_URL", PUBLIC)

    code, found, _ = doctor()
    assert code == 1
    _, detail, fix = only(found, "telegram webhook")
    assert detail == (
        f"the webhook is set to https://old.example.org/telegram/webhook, "
        f"PUBLIC_BASE_URL says {WEBHOOK}"
    )
    assert fix == "run `outreach telegram setup`"

    assert run("telegram", "setup")[0] == 0
    code, found, printed = doctor()
    assert code == 0, printed
    assert found["telegram webhook"][0][0] == "✓"


@sqlite
def test_updates_piling_up_and_failed_deliveries_are_shown(live: FakeTelegram) -> None:
    for n in range(101):
        live.push_update(message_update(n + 1, 5550001, "jobs"))
    live.webhook_failed("Wrong response from the webhook: 502 Bad Gateway")

    code, found, _ = doctor()

    assert code == 1
    (piling, failing) = found["telegram webhook"]
    assert piling[:2] == (
        "✗",
        "101 updates are waiting at Telegram (more than 100): nothing is taking them",
    )
    assert piling[2] == f"Is `outreach serve` running, and reachable at {WEBHOOK}?"
    assert failing[0] == "✗"
    assert failing[1] == (
        "Telegram's last delivery to the webhook failed 1 min ago: Wrong response from the "
        "webhook: 502 Bad Gateway; 101 updates waiting"
    )
    assert failing[2] == (
        f"check that {WEBHOOK} reaches `outreach serve` (reverse proxy, certificate, firewall)"
    )


@sqlite
def test_twilio_credentials_rejected(
    database: str, twilio: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "authToken_wrong_9z8y7x6w5v"
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", wrong)
    code, found, printed = doctor()
    assert code == 1
    _, detail, fix = only(found, "twilio")
    assert detail == "Twilio rejected the credentials (HTTP 401, code 20003)"
    assert fix == "check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (Twilio Console, Account Info)"
    assert wrong not in printed
    assert twilio.requests[-1].auth == (TWILIO_SID, wrong), "Twilio was asked"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@sqlite
def test_a_gateway_out_of_reach_is_shown(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMSGATE_URL", f"http://127.0.0.1:{_closed_port()}{PREFIX}")
    monkeypatch.setenv("SMSGATE_PASSWORD", GATE_PASSWORD)
    code, found, _ = doctor()
    assert code == 1
    _, detail, fix = only(found, "smsgate")
    assert detail.startswith("cannot reach the gateway at http://127.0.0.1:")
    assert detail.endswith(": ConnectError")
    assert fix.startswith("is the phone on and online, the SMSGate app's server started")


@sqlite
def test_the_gateway_refusing_the_password_or_a_failing_phone_is_shown(
    database: str, gateway: FakeSMSGate, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway.set_check("battery:level", "fail", 5)
    code, found, _ = doctor()
    assert code == 1
    assert found["smsgate"][0][0] == "✓"
    _, detail, fix = only(found, "smsgate phone")
    assert detail == "the phone reports a failure: battery:level 5 percent (fail)"
    assert fix.startswith("see to the phone")

    monkeypatch.setenv("SMSGATE_PASSWORD", "not-the-password")
    code, found, _ = doctor()
    assert code == 1
    _, detail, fix = only(found, "smsgate")
    assert detail == "the gateway refused the credentials (HTTP 401)"
    assert fix == "check SMSGATE_USERNAME and SMSGATE_PASSWORD (the SMSGate app shows them)"


def test_a_schema_behind_is_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.store.migrate import head_revision, upgrade

    older = "f18cf1a88be7"
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    asyncio.run(upgrade(url, older))
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("CONTENT_DIR", str(REPO / "content"))

    code, found, _ = doctor()

    assert code == 1
    _, detail, fix = only(found, "database")
    assert (
        detail
        == f"The database schema is at revision {older}, this version needs {head_revision()}"
    )
    assert fix == "run `outreach db upgrade`"
    assert found["added answers"] == [("-", "not checked: the database is not ready", None)]


def test_a_database_url_of_another_kind_is_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://outreach@db.example.org/outreach")
    monkeypatch.setenv("CONTENT_DIR", str(REPO / "content"))
    code, found, _ = doctor()
    assert code == 1
    _, detail, fix = only(found, "database")
    assert detail.startswith("DATABASE_URL: unsupported database 'mysql'")
    assert (
        fix == "set DATABASE_URL to sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB"
    )


@sqlite
def test_invalid_content_is_shown_with_its_file_and_line(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = tmp_path / "content"
    shutil.copytree(REPO / "content", content)
    faqs = content / "faqs.yaml"
    lines = faqs.read_text(encoding="utf-8").splitlines()
    faqs.write_text("\n".join([*lines, "  - this: [is not closed"]) + "\n", encoding="utf-8")
    monkeypatch.setenv("CONTENT_DIR", str(content))

    code, found, _ = doctor()

    assert code == 1
    _, detail, fix = only(found, "content")
    # The YAML parser stops on the line after the one not closed.
    assert detail.startswith(f"not valid: {faqs}:{len(lines) + 2}: invalid YAML: ")
    assert fix == "fix what is named at each file and line; `outreach content check` lists them all"
    assert found["added answers"] == [("-", "not checked: the content is not valid", None)]


@sqlite
@pytest.mark.parametrize(
    ("url", "detail", "fix"),
    [
        (
            f"{PUBLIC}/telegram/webhook",
            f"PUBLIC_BASE_URL {PUBLIC}/telegram/webhook ends in /telegram/webhook: it is the "
            "root our paths go under",
            f"set PUBLIC_BASE_URL to {PUBLIC}",
        ),
        (
            f"{PUBLIC}/?ref=1",
            f"PUBLIC_BASE_URL {PUBLIC}/?ref=1 has a query or fragment: paths go after it, so "
            f"providers would be given {PUBLIC}/?ref=1/telegram/webhook and the like",
            "set PUBLIC_BASE_URL to the public https root alone, such as https://example.org",
        ),
        (
            "http://outreach.example.org",
            "PUBLIC_BASE_URL http://outreach.example.org is http: Telegram calls only https "
            "webhooks, and Twilio and the console's cookies want https",
            "serve the bot behind HTTPS (a reverse proxy with a certificate) and set "
            "PUBLIC_BASE_URL to its https address",
        ),
    ],
    ids=["a-webhook-url-pasted", "a-query", "http"],
)
def test_a_bad_public_url_is_shown(
    database: str,
    twilio: FakeTwilio,
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    detail: str,
    fix: str,
) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", url)
    code, found, _ = doctor()
    assert code == 1
    assert only(found, "public URL") == ("✗", detail, fix)


@sqlite
def test_an_unknown_time_zone_is_shown(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIMEZONE", "Asia/Karach")
    code, found, _ = doctor()
    assert code == 1
    assert only(found, "time zone") == (
        "✗",
        "TIMEZONE 'Asia/Karach' is not a time zone",
        "set TIMEZONE to a tz database name such as Asia/Karachi",
    )


@sqlite
def test_a_clock_off_the_providers_is_shown(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeTelegram(TOKEN)
    with serve(fake.app, clock_offset=-600) as api:  # Telegram's clock 10 minutes behind ours
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("TELEGRAM_API_BASE_URL", api)
        code, found, _ = doctor()
    assert code == 1
    _, detail, fix = only(found, "clock")
    assert re.fullmatch(
        r"the system clock is 60[01] s ahead of Telegram's \(more than 30 s\).*", detail
    )
    assert fix == "set the clock right and keep it so (NTP: `timedatectl set-ntp true`)"


def test_settings_that_cannot_be_read_are_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OFFICE_HOURS", "25:00-17:00")
    code, found, _ = doctor()
    assert code == 1
    _, detail, fix = only(found, "settings")
    assert detail.startswith("OFFICE_HOURS: ")
    assert fix == "correct them in the environment or .env"
