"""What ``outreach doctor`` makes of what it found: labelled cases for each judgement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from bot.cli.findings import (
    Finding,
    PhoneCheck,
    ServerDate,
    WebhookState,
    clock_finding,
    exit_code,
    gateway_webhooks_finding,
    phone_finding,
    public_url_finding,
    render,
    timezone_finding,
    twilio_account_finding,
    webhook_findings,
)

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
WEBHOOK = "https://outreach.example.org/telegram/webhook"


@pytest.mark.parametrize(
    ("url", "live", "status", "words"),
    [
        ("https://outreach.example.org", True, "ok", "https://outreach.example.org"),
        ("https://outreach.example.org/", True, "ok", ""),
        ("https://example.org/outreach", True, "ok", "a path prefix behind a proxy is fine"),
        ("https://outreach.example.org:8443", True, "ok", "a port Telegram calls"),
        ("https://outreach.example.org:8080", True, "problem", "ports 443, 80, 88 and 8443"),
        ("https://outreach.example.org/sms/twilio", True, "problem", "ends in /sms/twilio"),
        ("https://outreach.example.org/console/", True, "problem", "ends in /console"),
        ("https://outreach.example.org#top", True, "problem", "query or fragment"),
        ("https://user:pw@outreach.example.org", True, "problem", "user name or password"),
        ("outreach.example.org", True, "problem", "not an https URL with a host"),
        ("https://outreach.example.org ", True, "problem", "spaces"),
        ("https://outreach.example.org:99999", True, "problem", "not a URL"),
        ("http://outreach.example.org", True, "problem", "is http"),
        ("http://outreach.example.org", False, "warn", "is http"),
        ("https://localhost", True, "problem", "cannot be reached from the internet"),
        ("https://192.168.1.5", True, "problem", "cannot be reached from the internet"),
        ("https://192.168.1.5", False, "warn", "cannot be reached from the internet"),
        ("https://203.0.113.9", True, "problem", "cannot be reached"),  # documentation range
        ("https://8.8.8.8", True, "ok", ""),
    ],
)
def test_public_url(url: str, live: bool, status: str, words: str) -> None:
    found = public_url_finding(url, live=live, telegram=True, twilio=False)
    assert found.status == status, found
    if status == "ok":
        assert found.detail == url
    else:
        assert words in found.detail
        assert found.fix


def test_public_url_unset_is_a_warning_only_for_twilio() -> None:
    assert public_url_finding(None, live=True, telegram=True, twilio=False) == Finding(
        "public URL", "ok", "not set: Telegram is read by long polling"
    )
    unset = public_url_finding(None, live=True, telegram=False, twilio=True)
    assert unset.status == "warn"
    assert "no delivery reports" in unset.detail


def test_a_port_matters_only_when_telegram_calls() -> None:
    url = "https://outreach.example.org:8080"
    assert public_url_finding(url, live=True, telegram=False, twilio=True).status == "ok"


@pytest.mark.parametrize(
    ("name", "status", "detail"),
    [
        ("Asia/Karachi", "ok", "Asia/Karachi: 14:00 there now (UTC+05:00)"),
        ("America/St_Johns", "ok", "America/St_Johns: 05:30 there now (UTC-03:30)"),
        ("UTC", "ok", "UTC: 09:00 there now (UTC+00:00)"),
        ("Asia/Karach", "problem", "TIMEZONE 'Asia/Karach' is not a time zone"),
        ("../etc/passwd", "problem", "TIMEZONE '../etc/passwd' is not a time zone"),
        ("", "problem", "TIMEZONE '' is not a time zone"),
    ],
)
def test_time_zone(name: str, status: str, detail: str) -> None:
    found = timezone_finding(name, NOW)
    assert (found.status, found.detail) == (status, detail)


def _webhook(
    url: str = WEBHOOK,
    pending: int = 0,
    error_ago: timedelta | None = None,
    error: str = "Connection refused",
) -> WebhookState:
    at = None if error_ago is None else NOW - error_ago
    return WebhookState(url, pending, at, error if at else None)


@pytest.mark.parametrize(
    ("state", "expected", "statuses", "words"),
    [
        (_webhook(), WEBHOOK, ["ok"], f"{WEBHOOK}, 0 updates waiting"),
        (_webhook(url=""), None, ["ok"], "long polling, 0 updates waiting"),
        (_webhook(url=""), WEBHOOK, ["problem"], "no webhook is set"),
        (_webhook(), None, ["problem"], "but PUBLIC_BASE_URL is not"),
        (_webhook(url="https://old.example/telegram/webhook"), WEBHOOK, ["problem"], "set to"),
        (_webhook(pending=100), WEBHOOK, ["ok"], "100 updates waiting"),
        (_webhook(pending=101), WEBHOOK, ["problem"], "101 updates are waiting"),
        (_webhook(error_ago=timedelta(minutes=5)), WEBHOOK, ["warn"], "nothing waiting since"),
        (
            _webhook(pending=3, error_ago=timedelta(minutes=5)),
            WEBHOOK,
            ["problem"],
            "failed 5 min ago: Connection refused; 3 updates waiting",
        ),
        (_webhook(pending=3, error_ago=timedelta(hours=2)), WEBHOOK, ["ok"], "3 updates waiting"),
        (
            _webhook(url="", pending=500, error_ago=timedelta(seconds=10)),
            WEBHOOK,
            ["problem", "problem", "problem"],
            "500 updates are waiting",
        ),
    ],
    ids=[
        "as-set-up",
        "long-polling",
        "not-set",
        "set-without-a-public-url",
        "elsewhere",
        "at-the-limit",
        "piling-up",
        "failed-recovered",
        "failing",
        "failed-long-ago",
        "everything-at-once",
    ],
)
def test_webhook(
    state: WebhookState, expected: str | None, statuses: list[str], words: str
) -> None:
    found = webhook_findings(state, expected, NOW)
    assert [f.status for f in found] == statuses
    assert any(words in f.detail for f in found), found
    assert all(f.fix for f in found if f.status == "problem")


def _date(ago: float) -> ServerDate:
    """A provider whose Date said ``NOW - ago`` when our clock read NOW."""
    theirs = NOW - timedelta(seconds=ago)
    return ServerDate("Telegram", format_datetime(theirs, usegmt=True), NOW)


@pytest.mark.parametrize(
    ("samples", "status", "detail"),
    [
        ([], "skipped", "not checked: no provider answered"),
        ([ServerDate("Twilio", "garbage", NOW)], "skipped", "not checked: no provider answered"),
        ([_date(0)], "ok", "within 1 s of Telegram's"),
        ([_date(30)], "ok", "within 30 s of Telegram's"),
        ([_date(31)], "problem", "the system clock is 31 s ahead of Telegram's"),
        ([_date(-90)], "problem", "the system clock is 90 s behind Telegram's"),
        ([_date(1), _date(-45)], "problem", "the system clock is 45 s behind"),
    ],
    ids=["none", "unreadable", "same", "at-the-limit", "ahead", "behind", "the-farthest-counts"],
)
def test_clock(samples: list[ServerDate], status: str, detail: str) -> None:
    found = clock_finding(samples)
    assert found.status == status
    assert found.detail.startswith(detail), found.detail


@pytest.mark.parametrize(
    ("status", "kind", "sends", "expected"),
    [
        ("active", "Full", True, ("ok", "account active, Full (sends the SMS)")),
        (
            "active",
            "Full",
            False,
            ("ok", "account active, Full (configured, SMS_PROVIDER picks another)"),
        ),
        (
            "active",
            "Trial",
            True,
            (
                "warn",
                "a trial account (sends the SMS): it sends only to verified numbers, with a notice",
            ),
        ),
        (
            "suspended",
            "Full",
            True,
            ("problem", "the Twilio account is suspended: it sends nothing"),
        ),
        ("closed", "Full", True, ("problem", "the Twilio account is closed: it sends nothing")),
    ],
)
def test_twilio_account(status: str, kind: str, sends: bool, expected: tuple[str, str]) -> None:
    found = twilio_account_finding(status, kind, sends)
    assert (found.status, found.detail) == expected


@pytest.mark.parametrize(
    ("status", "checks", "expected"),
    [
        (
            "pass",
            {"battery:level": PhoneCheck("pass", 94, "percent")},
            ("ok", "healthy (app 1.40.0)"),
        ),
        (
            "warn",
            {
                "battery:level": PhoneCheck("warn", 20, "percent"),
                "connection:status": PhoneCheck("pass", 1),
            },
            ("warn", "the phone reports: battery:level 20 percent (warn)"),
        ),
        (
            "fail",
            {
                "messages:failed": PhoneCheck("fail", 12, "messages"),
                "connection:status": PhoneCheck("fail", 0, "boolean"),
            },
            (
                "problem",
                "the phone reports a failure: connection:status 0 boolean (fail), "
                "messages:failed 12 messages (fail)",
            ),
        ),
    ],
    ids=["healthy", "battery-low", "offline"],
)
def test_phone(status: str, checks: dict[str, PhoneCheck], expected: tuple[str, str]) -> None:
    found = phone_finding(status, checks, "1.40.0")
    assert (found.status, found.detail) == expected


@pytest.mark.parametrize(
    ("urls", "status"),
    [
        (["https://outreach.example.org/sms/smsgate"], "ok"),
        (["http://192.168.1.5:8080/sms/smsgate/"], "ok"),  # the bot on the phone's network
        (["https://elsewhere.example/hook"], "warn"),
        ([], "warn"),
    ],
)
def test_gateway_webhooks(urls: list[str], status: str) -> None:
    assert gateway_webhooks_finding(urls).status == status


FINDINGS = [
    Finding("database", "ok", "sqlite, at head"),
    Finding("telegram webhook", "problem", "set to https://old.example — “old”", "run setup"),
    Finding("clock", "warn", "odd"),
    Finding("twilio", "skipped", "not configured (sandbox)"),
]


def test_render_puts_each_fix_under_its_line_and_sums_up() -> None:
    assert render(FINDINGS) == [
        "✓ database          sqlite, at head",
        "✗ telegram webhook  set to https://old.example — “old”",
        "                    fix: run setup",
        "! clock             odd",
        "- twilio            not configured (sandbox)",
        "1 problem (1 warning): fix what is said above and run `outreach doctor` again.",
    ]
    assert exit_code(FINDINGS) == 1
    assert exit_code([FINDINGS[0], FINDINGS[2], FINDINGS[3]]) == 0
    assert render([FINDINGS[0]])[-1] == "All good."


def test_render_in_ascii_for_a_terminal_that_is_not_utf8() -> None:
    lines = render(FINDINGS, utf8=False)
    assert lines[:5] == [
        "OK   database          sqlite, at head",
        "FAIL telegram webhook  set to https://old.example ? ?old?",
        "                       fix: run setup",
        "WARN clock             odd",
        "--   twilio            not configured (sandbox)",
    ]
    assert all(line.isascii() for line in lines)
