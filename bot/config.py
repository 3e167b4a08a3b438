"""Settings: environment variables and ``.env``, read once into one typed object.

Secrets have no defaults and are ``SecretStr`` so they never print. Tests build their own
``Settings(...)`` and pass it in; nothing reads the environment behind their back.
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.core.windows import OfficeHours, parse_office_days, parse_office_hours
from bot.observe.logs import LogFormat

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/outreach.db"

Mode = Literal["sandbox", "live"]
SmsProvider = Literal["auto", "twilio", "smsgate", "simulator"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    database_url: str = DEFAULT_DATABASE_URL
    content_dir: Path = Path("content")
    public_base_url: str | None = None
    timezone: str = "Asia/Karachi"

    # The park's public contact line, shown in HELP. Coordinators fill it in; never invented.
    park_contact_line: str | None = None

    # SMS replies to keywords are cut to at most this many segments.
    sms_max_segments: int = Field(default=2, ge=1, le=10)
    # Default region for phone numbers written without a country code.
    phone_region: str = "PK"
    # Which SMS provider sends: "auto" picks Twilio when its credentials are set, else the
    # gateway when SMSGATE_URL is set, else the sandbox simulator.
    sms_provider: SmsProvider = "auto"
    # Cost guard: at most this many replies to one number per hour (compliance replies excepted).
    sms_replies_per_hour: int = Field(default=10, ge=1)
    # Loop guard: the same text from one number this many times within the window (another
    # auto-responder, most likely) gets no more replies.
    loop_guard_repeats: int = Field(default=3, ge=2)
    loop_guard_minutes: int = Field(default=10, ge=1)

    telegram_bot_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org"
    # When the Bot API can't be reached or refuses the token at start-up, `serve` runs on (SMS
    # too) and tries again after this many seconds, doubling up to 5 minutes.
    telegram_retry_seconds: float = Field(default=5.0, gt=0)

    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from_number: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_api_base_url: str = "https://api.twilio.com"
    # The account uses Twilio's Advanced Opt-Out: Twilio confirms STOP/START itself, so we
    # record the opt-out but send no second confirmation.
    twilio_advanced_opt_out: bool = False

    smsgate_url: str | None = None
    smsgate_username: str | None = None
    smsgate_password: SecretStr | None = None
    smsgate_signing_key: SecretStr | None = None

    # Telegram user ids (comma-separated) allowed to use /announce, /schedules and /report.
    coordinator_telegram_ids: str = ""

    # Broadcast pacing and cost. The price is what the coordinators' SMS provider charges per
    # segment; unset, previews show segments but no cost (no invented fees).
    sms_price_per_segment: Decimal | None = Field(default=None, ge=0)
    sms_currency: str = "PKR"
    # Announcements go to a person's Telegram chat only when they have one (it costs nothing);
    # true sends them by SMS as well. Coordinators can choose per announcement.
    broadcast_both_channels: bool = False
    sms_per_second: float = Field(default=1.0, gt=0)
    telegram_per_second: float = Field(default=30.0, gt=0)
    # Telegram allows about one message per second to one chat.
    telegram_chat_seconds: float = Field(default=1.0, ge=0)

    # The dispatcher: at most this many sends in flight (also the most that a crash can send
    # twice), attempts before a retryable error fails a delivery, the first retry's wait
    # (doubling after), and how long a claimed delivery is held before another claim may take it.
    dispatcher_concurrency: int = Field(default=50, ge=1, le=1000)
    dispatcher_max_attempts: int = Field(default=5, ge=1)
    dispatcher_retry_seconds: float = Field(default=30.0, ge=0)
    # At least a minute: longer than any one send may take (the Telegram client can wait 35 s).
    dispatcher_lease_seconds: float = Field(default=300.0, ge=60)
    # Replies to residents are retried like announcements (DISPATCHER_MAX_ATTEMPTS and
    # DISPATCHER_RETRY_SECONDS, no quiet hours, no daily cap). The process that stores a reply
    # sends it at once and holds it this long; after that (its process died), the worker sends
    # it. Longer than one send may take (see DISPATCHER_LEASE_SECONDS); tests set it short.
    reply_lease_seconds: float = Field(default=60.0, ge=1)
    # How often delivery reports that came before their send was recorded are applied.
    early_reports_seconds: float = Field(default=10.0, gt=0)
    # No SMS announcements in quiet hours (local time in TIMEZONE); equal times turn it off.
    quiet_hours_start: time = time(21, 0)
    quiet_hours_end: time = time(9, 0)
    # At most this many announcements per person in any 24 hours (0: no cap); more wait.
    announcements_per_day: int = Field(default=3, ge=0)
    # A scheduled run missed while the bot was down is still sent when younger than this;
    # older ones are recorded as missed.
    schedule_grace_hours: float = Field(default=6.0, ge=0)
    # When a person at the park answers hand-overs (local time in TIMEZONE): outside them a
    # resident handed over is told the answer comes in office hours.
    office_hours: str = "09:00-17:00"
    office_days: str = "mon-sat"
    # Run the scheduler and the dispatcher inside `outreach serve` (off: run `outreach worker`).
    run_worker: bool = True
    # How often a standby worker tries the one-worker lock: the longest the work waits after
    # the active worker is gone.
    worker_standby_seconds: float = Field(default=5.0, gt=0)

    # A request's body must have arrived this long after the request began, else 408 and the
    # connection is closed (the console's own requests get 120 s: uploads from phones).
    request_body_seconds: float = Field(default=10.0, gt=0)

    # The coordinators' web console at /console (off: false). Its session cookies are signed
    # with CONSOLE_SECRET_KEY, or, unset, with a key made once and kept in the database (so
    # every web process shares it). A one-time sign-in link is good for this many minutes.
    console_enabled: bool = True
    console_secret_key: SecretStr | None = None
    console_link_minutes: float = Field(default=15.0, gt=0, le=24 * 60)

    log_level: str = "INFO"
    # "text" (one readable line each) or "json" (one object a line, with the request id).
    log_format: LogFormat = "text"
    # /metrics asks for `Authorization: Bearer <token>` when set; unset, it answers only
    # clients on a loopback or private address that did not come through a proxy.
    metrics_token: SecretStr | None = None

    @field_validator("log_format", mode="before")
    @classmethod
    def _log_format(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("office_hours")
    @classmethod
    def _office_hours(cls, value: str) -> str:
        parse_office_hours(value)
        return value

    @field_validator("office_days")
    @classmethod
    def _office_days(cls, value: str) -> str:
        parse_office_days(value)
        return value

    def secrets(self) -> list[str]:
        """What no log line, traceback or printed error may show (``bot.observe.redact``):
        the providers' tokens, passwords and keys, the Telegram token's part after the colon
        (it is the secret, the bot id before it is not), and the password in
        ``DATABASE_URL``."""
        values = [
            s.get_secret_value()
            for s in (
                self.telegram_bot_token,
                self.telegram_webhook_secret,
                self.twilio_auth_token,
                self.smsgate_password,
                self.smsgate_signing_key,
                self.console_secret_key,
                self.metrics_token,
            )
            if s is not None
        ]
        if self.telegram_bot_token is not None:
            values.append(self.telegram_bot_token.get_secret_value().partition(":")[2])
        try:
            password = urlsplit(self.database_url).password
        except ValueError:
            password = None
        if password:
            values.append(password)
        return values

    @cached_property
    def mode(self) -> Mode:
        """``sandbox`` when no provider credentials are set: outbound goes to the simulator."""
        live = (
            self.telegram_bot_token is not None or self.twilio_configured or self.smsgate_configured
        )
        return "live" if live else "sandbox"

    @property
    def coordinator_ids(self) -> frozenset[int]:
        """``COORDINATOR_TELEGRAM_IDS`` as ids; entries that are not numbers are ignored."""
        parts = (p.strip() for p in self.coordinator_telegram_ids.split(","))
        return frozenset(int(p) for p in parts if p.lstrip("-").isdigit())

    @property
    def office(self) -> OfficeHours:
        """``OFFICE_HOURS`` and ``OFFICE_DAYS`` in ``TIMEZONE`` (checked when read)."""
        start, end = parse_office_hours(self.office_hours)
        return OfficeHours(start, end, parse_office_days(self.office_days), self.timezone)

    @property
    def twilio_configured(self) -> bool:
        return self.twilio_account_sid is not None and self.twilio_auth_token is not None

    @property
    def smsgate_configured(self) -> bool:
        return self.smsgate_url is not None and self.smsgate_password is not None

    @property
    def sms_sender(self) -> Literal["twilio", "smsgate", "simulator"]:
        """The SMS provider that sends, after resolving ``auto``."""
        if self.sms_provider != "auto":
            return self.sms_provider
        if self.twilio_configured:
            return "twilio"
        if self.smsgate_configured:
            return "smsgate"
        return "simulator"

    @property
    def unconfigured_channels(self) -> frozenset[str]:
        """Channels that cannot send announcements: none in sandbox mode (the simulator takes
        everything); in live mode SMS without a provider and Telegram without a bot token.
        Previews leave them out as sending does (:func:`bot.outreach.worker.live_senders`)."""
        if self.mode == "sandbox":
            return frozenset()
        missing = set()
        if self.sms_sender == "simulator":
            missing.add("sms")
        if self.telegram_bot_token is None:
            missing.add("telegram")
        return frozenset(missing)

    @property
    def console_url(self) -> str | None:
        """Where coordinators open the console: under ``PUBLIC_BASE_URL``, if set."""
        if self.public_base_url is None:
            return None
        return self.public_base_url.rstrip("/") + "/console"

    @property
    def database_kind(self) -> str:
        """``sqlite`` or ``postgresql``: the dialect name of ``database_url``."""
        return self.database_url.split(":", 1)[0].split("+", 1)[0]
