"""What ``outreach doctor`` makes of what it found: each check's :class:`Finding` (one line,
and what to fix when something is wrong), and the report they make.

Pure functions of plain data (and ``now`` where time matters); the probing of the database
and the providers is in :mod:`bot.cli.doctor`. A finding is ``ok``, ``warn`` (worth a look,
not a failure), ``problem`` (the command exits 1) or ``skipped`` (not configured, or not
checked because something it needs failed).
"""

from __future__ import annotations

import codecs
import ipaddress
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Status = Literal["ok", "warn", "problem", "skipped"]

# More updates than this waiting at Telegram: nobody is taking them (a served bot has ~0).
PENDING_UPDATES_LIMIT = 100
# Telegram's report of its last failed delivery to the webhook counts while this young.
RECENT_WEBHOOK_ERROR = timedelta(hours=1)
# How far the system clock may be from a provider's. A Date header has whole seconds and the
# answer takes a moment; quiet hours and schedules go by the clock, and the gateway's signed
# webhooks are refused beyond 300 s.
CLOCK_SKEW_LIMIT = 30.0
# The paths providers call under PUBLIC_BASE_URL: a root ending in one is a URL pasted whole.
OUR_PATHS = (
    "/telegram/webhook",
    "/sms/twilio/status",
    "/sms/twilio",
    "/sms/smsgate",
    "/console",
    "/healthz",
)
TELEGRAM_WEBHOOK_PATH = "/telegram/webhook"
SMSGATE_WEBHOOK_PATH = "/sms/smsgate"
# Telegram calls webhooks on these ports only.
TELEGRAM_PORTS = frozenset({80, 88, 443, 8443})

_MARKS: dict[Status, str] = {"ok": "✓", "warn": "!", "problem": "✗", "skipped": "-"}
_ASCII_MARKS: dict[Status, str] = {"ok": "OK", "warn": "WARN", "problem": "FAIL", "skipped": "--"}


@dataclass(frozen=True)
class Finding:
    check: str
    status: Status
    detail: str
    fix: str | None = None


def ok(check: str, detail: str) -> Finding:
    return Finding(check, "ok", detail)


def problem(check: str, detail: str, fix: str) -> Finding:
    return Finding(check, "problem", detail, fix)


def not_configured(check: str, sandbox: bool, settings: str) -> Finding:
    """A provider without its settings: not a failure."""
    why = "sandbox" if sandbox else f"{settings} not set"
    return Finding(check, "skipped", f"not configured ({why})")


def unset_sms_provider(check: str, *, sends: bool, sandbox: bool, settings: str) -> Finding:
    """An SMS provider without its ``settings``: a problem only when ``SMS_PROVIDER`` names
    it (``sends``), for nothing could send the SMS."""
    if not sends:
        return not_configured(check, sandbox, settings)
    return problem(
        check,
        f"SMS_PROVIDER is {check}, but {settings} are not both set",
        "set them, or choose another SMS_PROVIDER",
    )


# -- settings ----------------------------------------------------------------------------------


def timezone_finding(name: str, now: datetime) -> Finding:
    """``TIMEZONE`` names a zone of the tz database; the ok line shows the time there."""
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return problem(
            "time zone",
            f"TIMEZONE {name!r} is not a time zone",
            "set TIMEZONE to a tz database name such as Asia/Karachi",
        )
    local = now.astimezone(zone)
    offset = local.strftime("%z")
    return ok("time zone", f"{name}: {local:%H:%M} there now (UTC{offset[:3]}:{offset[3:]})")


def public_url_finding(url: str | None, *, live: bool, telegram: bool, twilio: bool) -> Finding:
    """``PUBLIC_BASE_URL``: the https root providers call, paths going under it.

    A query, a fragment, credentials or one of our paths at the end are always problems; http
    and a host the internet cannot reach are problems once a provider is configured (``live``),
    warnings in sandbox mode. Unset, Telegram polls; Twilio loses its delivery reports (a
    warning when it is configured).
    """
    check = "public URL"
    if not url:
        if twilio:
            return Finding(
                check,
                "warn",
                "PUBLIC_BASE_URL is not set: Twilio sends no delivery reports, and its "
                "signatures are checked against the URL requests arrive at (wrong behind a "
                "proxy)",
                "set PUBLIC_BASE_URL to the https address providers reach",
            )
        return ok(check, "not set" + (": Telegram is read by long polling" if telegram else ""))
    root_only = "set PUBLIC_BASE_URL to the public https root alone, such as https://example.org"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return problem(check, f"PUBLIC_BASE_URL is not a URL: {exc}", root_only)
    if url != url.strip() or any(c.isspace() for c in url):
        return problem(check, "PUBLIC_BASE_URL has spaces in it", root_only)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return problem(check, f"PUBLIC_BASE_URL {url!r} is not an https URL with a host", root_only)
    if parts.username is not None or parts.password is not None:
        return problem(check, "PUBLIC_BASE_URL carries a user name or password", root_only)
    if parts.query or parts.fragment:
        return problem(
            check,
            f"PUBLIC_BASE_URL {url} has a query or fragment: paths go after it, so providers "
            f"would be given {url.rstrip('/')}{TELEGRAM_WEBHOOK_PATH} and the like",
            root_only,
        )
    path = parts.path.rstrip("/")
    for ours in OUR_PATHS:
        if path.endswith(ours):
            root = url.rstrip("/").removesuffix(ours)
            return problem(
                check,
                f"PUBLIC_BASE_URL {url} ends in {ours}: it is the root our paths go under",
                f"set PUBLIC_BASE_URL to {root}",
            )
    severity: Status = "problem" if live else "warn"
    if parts.scheme != "https":
        return Finding(
            check,
            severity,
            f"PUBLIC_BASE_URL {url} is http: Telegram calls only https webhooks, and Twilio "
            "and the console's cookies want https",
            "serve the bot behind HTTPS (a reverse proxy with a certificate) and set "
            "PUBLIC_BASE_URL to its https address",
        )
    if _unreachable(parts.hostname):
        return Finding(
            check,
            severity,
            f"PUBLIC_BASE_URL {url}: {parts.hostname} cannot be reached from the internet",
            "set PUBLIC_BASE_URL to the public address providers reach",
        )
    if telegram and (port or 443) not in TELEGRAM_PORTS:
        return problem(
            check,
            f"PUBLIC_BASE_URL {url} is on port {port}: Telegram calls webhooks on ports "
            "443, 80, 88 and 8443 only",
            "serve the public address on port 443 (or 80, 88, 8443)",
        )
    return ok(check, url)


def _unreachable(host: str) -> bool:
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global


# -- Telegram ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookState:
    """What ``getWebhookInfo`` says (``url`` empty without a webhook)."""

    url: str
    pending: int
    last_error_at: datetime | None = None
    last_error: str | None = None


def webhook_findings(state: WebhookState, expected: str | None, now: datetime) -> list[Finding]:
    """The webhook against ``expected`` (``PUBLIC_BASE_URL``'s webhook URL; None for long
    polling), the updates waiting, and a failed delivery less than an hour old: a problem
    while updates wait, else a warning."""
    check = "telegram webhook"
    found: list[Finding] = []
    setup = "run `outreach telegram setup`"
    if state.url != (expected or ""):
        if not expected:
            found.append(
                problem(
                    check,
                    f"a webhook is set ({state.url}) but PUBLIC_BASE_URL is not: long "
                    "polling gets no update while it is",
                    f"{setup} (it removes the webhook), or set PUBLIC_BASE_URL to match",
                )
            )
        elif not state.url:
            found.append(
                problem(
                    check,
                    f"no webhook is set: Telegram keeps the updates meant for {expected}",
                    f"{setup} (`outreach serve` does it at start)",
                )
            )
        else:
            found.append(
                problem(
                    check,
                    f"the webhook is set to {state.url}, PUBLIC_BASE_URL says {expected}",
                    setup,
                )
            )
    serving = (
        f"is `outreach serve` running, and reachable at {state.url}?"
        if state.url
        else "is `outreach serve` running?"
    )
    if state.pending > PENDING_UPDATES_LIMIT:
        found.append(
            problem(
                check,
                f"{state.pending} updates are waiting at Telegram (more than "
                f"{PENDING_UPDATES_LIMIT}): nothing is taking them",
                serving[0].upper() + serving[1:],
            )
        )
    if state.last_error_at is not None and now - state.last_error_at < RECENT_WEBHOOK_ERROR:
        minutes = max(1, math.ceil((now - state.last_error_at).total_seconds() / 60))
        said = (
            f"Telegram's last delivery to the webhook failed {minutes} min ago: "
            f"{state.last_error or 'no reason given'}"
        )
        if state.pending:
            found.append(
                problem(
                    check,
                    f"{said}; {state.pending} updates waiting",
                    f"check that {state.url or expected} reaches `outreach serve` (reverse "
                    "proxy, certificate, firewall)",
                )
            )
        else:
            found.append(Finding(check, "warn", f"{said} (nothing waiting since)"))
    if not found:
        how = state.url or "long polling"
        found.append(ok(check, f"{how}, {state.pending} updates waiting"))
    return found


# -- Twilio and the gateway ----------------------------------------------------------------------


def twilio_account_finding(status: str | None, kind: str | None, sends: bool) -> Finding:
    """The account Twilio answered with: active, and not a trial (a warning)."""
    role = "sends the SMS" if sends else "configured, SMS_PROVIDER picks another"
    if status != "active":
        return problem(
            "twilio",
            f"the Twilio account is {status or 'of unknown status'}: it sends nothing",
            "see the account in the Twilio Console",
        )
    if kind == "Trial":
        return Finding(
            "twilio",
            "warn",
            f"a trial account ({role}): it sends only to verified numbers, with a notice",
            "upgrade the account in the Twilio Console",
        )
    return ok("twilio", f"account active, {kind or 'type unknown'} ({role})")


@dataclass(frozen=True)
class PhoneCheck:
    """One of the checks the SMSGate app reports in its health answer."""

    status: str
    value: object = None
    unit: str | None = None


def phone_finding(status: str, checks: Mapping[str, PhoneCheck], version: str | None) -> Finding:
    """The phone's health as the SMSGate app reports it: ``fail`` is a problem, ``warn`` a
    warning; each names the checks that did not pass."""
    check = "smsgate phone"
    failing = ", ".join(
        f"{name} {c.value}{f' {c.unit}' if c.unit else ''} ({c.status})"
        for name, c in sorted(checks.items())
        if c.status != "pass"
    )
    if status == "fail":
        return problem(
            check,
            f"the phone reports a failure: {failing or 'no check named'}",
            "see to the phone (charged, online, its SIM working); the SMSGate app shows "
            "the same checks",
        )
    if status == "warn":
        return Finding(check, "warn", f"the phone reports: {failing or 'a warning'}")
    return ok(check, f"healthy (app {version or 'version unknown'})")


def gateway_webhooks_finding(received_urls: Sequence[str]) -> Finding:
    """Whether the phone posts received SMS (``sms:received``) to a ``/sms/smsgate`` of ours
    (on PUBLIC_BASE_URL or the phone's own network, whichever: only the path is ours)."""
    check = "smsgate webhooks"
    ours = [u for u in received_urls if urlsplit(u).path.rstrip("/") == SMSGATE_WEBHOOK_PATH]
    if ours:
        return ok(check, f"received SMS go to {ours[0]}")
    return Finding(
        check,
        "warn",
        f"no sms:received webhook on the phone ends in {SMSGATE_WEBHOOK_PATH}: residents' "
        "texts do not reach the bot",
        f"register one (sms:received, sms:sent, sms:delivered, sms:failed) for "
        f"PUBLIC_BASE_URL{SMSGATE_WEBHOOK_PATH} in the SMSGate app or its API",
    )


# -- the clock ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerDate:
    """A provider's ``Date`` header and the time on our clock when the answer came."""

    provider: str
    date: str
    received: datetime


def clock_finding(samples: Sequence[ServerDate]) -> Finding:
    """The system clock against the providers' (the farthest off counts): a problem beyond
    :data:`CLOCK_SKEW_LIMIT` seconds; skipped when no provider answered with a date."""
    offsets: list[tuple[float, str]] = []
    for sample in samples:
        try:
            theirs = parsedate_to_datetime(sample.date)
        except (TypeError, ValueError):
            continue
        if theirs.tzinfo is not None:
            offsets.append(((sample.received - theirs).total_seconds(), sample.provider))
    if not offsets:
        return Finding("clock", "skipped", "not checked: no provider answered")
    offset, provider = max(offsets, key=lambda found: abs(found[0]))
    if abs(offset) > CLOCK_SKEW_LIMIT:
        way = "ahead of" if offset > 0 else "behind"
        return problem(
            "clock",
            f"the system clock is {abs(offset):.0f} s {way} {provider}'s (more than "
            f"{CLOCK_SKEW_LIMIT:g} s): quiet hours and schedules go by it, and the gateway's "
            "signed webhooks are refused 300 s off",
            "set the clock right and keep it so (NTP: `timedatectl set-ntp true`)",
        )
    return ok("clock", f"within {max(1, round(abs(offset)))} s of {provider}'s")


# -- the report ------------------------------------------------------------------------------------


def exit_code(findings: Sequence[Finding]) -> int:
    """1 when any finding is a problem, else 0."""
    return 1 if any(f.status == "problem" for f in findings) else 0


def is_utf8(encoding: str | None) -> bool:
    try:
        return codecs.lookup(encoding or "ascii").name == "utf-8"
    except LookupError:
        return False


def render(findings: Sequence[Finding], *, utf8: bool = True) -> list[str]:
    """One line per finding (its mark, check and detail), a ``fix:`` line under each that has
    one, and a summary. Without ``utf8`` the marks are words and the rest ASCII."""
    marks = _MARKS if utf8 else _ASCII_MARKS
    mark_width = max(len(m) for m in marks.values())
    width = max((len(f.check) for f in findings), default=0)
    indent = " " * (mark_width + 1 + width + 2)
    lines: list[str] = []
    for f in findings:
        lines.append(f"{marks[f.status]:<{mark_width}} {f.check:<{width}}  {f.detail}")
        if f.fix:
            lines.append(f"{indent}fix: {f.fix}")
    lines.append(_summary(findings))
    if not utf8:
        lines = [line.encode("ascii", "replace").decode("ascii") for line in lines]
    return lines


def as_json(findings: Sequence[Finding]) -> str:
    """The findings as one JSON object: ``ok`` (no problem) and ``checks`` in order."""
    return json.dumps(
        {"ok": exit_code(findings) == 0, "checks": [asdict(f) for f in findings]},
        ensure_ascii=False,
        indent=2,
    )


def _summary(findings: Sequence[Finding]) -> str:
    problems = sum(f.status == "problem" for f in findings)
    warnings = sum(f.status == "warn" for f in findings)
    also = f" ({warnings} warning{'s' if warnings != 1 else ''})" if warnings else ""
    if not problems:
        return f"All good{also}."
    return (
        f"{problems} problem{'s' if problems != 1 else ''}{also}: fix what is said above and "
        "run `outreach doctor` again."
    )
