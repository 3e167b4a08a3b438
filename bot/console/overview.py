"""The overview: the first page a coordinator sees.

Who subscribes (by channel, language, city and topic), who opted out, how many joined each of
the last weeks (an inline SVG chart), the broadcasts in flight with their progress, the
questions the bot could not answer and the conversations handed over, and which providers
are configured. Every figure is counted in SQL (:mod:`bot.store`, mostly from indexes alone),
read with :meth:`Units.read <bot.store.units.Units.read>` so the counting never holds up the
writer (the dispatcher's sends, residents' messages).

While a broadcast is in flight its part of the page is re-fetched every 2 s
(``/console/overview/live``, htmx); the fragment it returns polls again only while something
is still in flight, so polling stops by itself when the last one is done.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.config import Settings
from bot.console.base import page, render, runtime, utcnow
from bot.core.catalog import LANGS
from bot.core.decision import Channel, ContactStatus
from bot.core.unanswered import Group, group
from bot.store import broadcasts, contacts, messages, subscribers, threads
from bot.store.broadcasts import BroadcastRow
from bot.store.models import CHANNELS, CONTACT_STATUSES, ThreadState
from bot.store.subscribers import Breakdown
from bot.store.units import Units

WEEKS = 12  # bars in the growth chart
CITIES = 10  # cities listed, most subscribers first
IN_FLIGHT = 10  # broadcasts in flight shown
UNANSWERED_DAYS = 30
UNANSWERED_SHOWN = 5
# The most asked texts the overview groups into questions (the whole report groups all).
GROUPED = 100
LANGUAGE_NAMES = {"en": "English", "ur": "Urdu", "ur-Latn": "Roman Urdu", None: "Not chosen"}
FINAL = ("sent", "delivered", "failed", "skipped")


@dataclass(frozen=True, slots=True)
class Progress:
    """A broadcast in flight: its deliveries by status, and how many are final."""

    broadcast: BroadcastRow
    by_status: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def done(self) -> int:
        return sum(self.by_status.get(s, 0) for s in FINAL)

    @property
    def percent(self) -> int:
        return 100 * self.done // self.total if self.total else 0


@dataclass(frozen=True, slots=True)
class Week:
    start: datetime  # local midnight of its Monday
    new: int


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    configured: bool
    detail: str


@dataclass
class Figures:
    contacts: dict[tuple[Channel, ContactStatus], int] = field(default_factory=dict)
    people: Breakdown = field(default_factory=lambda: Breakdown(0, {}, {}, {}))
    weeks: list[Week] = field(default_factory=list)
    in_flight: list[Progress] = field(default_factory=list)
    threads: dict[ThreadState, int] = field(default_factory=dict)
    unanswered: int = 0
    questions: list[Group] = field(default_factory=list)

    def channel(self, channel: Channel, status: ContactStatus = "active") -> int:
        return self.contacts.get((channel, status), 0)

    def status_total(self, status: str) -> int:
        return sum(n for (_, s), n in self.contacts.items() if s == status)

    @property
    def cities(self) -> list[tuple[str | None, int]]:
        """The CITIES cities with the most people, most first (unknown last among equals)."""
        ranked = sorted(
            self.people.by_city.items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or "")
        )
        return ranked[:CITIES]

    @property
    def topics(self) -> list[tuple[str, int]]:
        return sorted(self.people.by_topic.items(), key=lambda kv: (-kv[1], kv[0]))


def week_starts(now: datetime, tz: str, weeks: int = WEEKS) -> list[datetime]:
    """The Mondays (local midnight in ``tz``) that start the last ``weeks`` weeks, the week of
    ``now`` last."""
    local = now.astimezone(ZoneInfo(tz))
    monday = (local - timedelta(days=local.weekday())).date()
    zone = ZoneInfo(tz)
    return [
        datetime.combine(monday - timedelta(weeks=n), datetime.min.time(), zone)
        for n in range(weeks - 1, -1, -1)
    ]


def _in_flight(conn: Connection) -> list[Progress]:
    rows = broadcasts.list_broadcasts(conn, limit=IN_FLIGHT, in_flight=True)
    counts = broadcasts.progress(conn, [r.id for r in rows])
    return [Progress(r, counts[r.id]) for r in rows]


def _people(conn: Connection, now: datetime, tz: str) -> Figures:
    """Who subscribes and who joined when: the half of the overview that reads subscribers."""
    starts = week_starts(now, tz)
    return Figures(
        people=subscribers.breakdown(conn),
        weeks=[
            Week(s, n)
            for s, n in zip(starts, subscribers.new_per_period(conn, starts), strict=True)
        ],
    )


def _activity(conn: Connection, now: datetime) -> Figures:
    """Contacts, broadcasts in flight, hand-overs and questions: the other half."""
    since = now - timedelta(days=UNANSWERED_DAYS)
    return Figures(
        contacts=contacts.by_channel_and_status(conn),
        in_flight=_in_flight(conn),
        threads=threads.count_by_state(conn, threads.OPEN_STATES),
        unanswered=messages.count_unanswered(conn, since),
        questions=group(messages.unanswered(conn, since, limit=GROUPED))[:UNANSWERED_SHOWN],
    )


async def figures(units: Units, now: datetime, tz: str) -> Figures:
    """Every figure of the overview, read in two halves at once (on SQLite, two reader
    connections, each on a core of its own while SQLite counts)."""
    people, activity = await asyncio.gather(
        units.read(lambda c: _people(c, now, tz)), units.read(lambda c: _activity(c, now))
    )
    activity.people, activity.weeks = people.people, people.weeks
    return activity


def providers(settings: Settings) -> list[Provider]:
    """Whether each provider is configured, from the settings (no secret is shown)."""
    sms = settings.sms_sender
    telegram = settings.telegram_bot_token is not None
    twilio_from = settings.twilio_from_number or settings.twilio_messaging_service_sid
    return [
        Provider(
            "Telegram",
            telegram,
            "sends Telegram messages"
            if telegram
            else "not configured: set TELEGRAM_BOT_TOKEN (Telegram goes to the simulator)",
        ),
        Provider(
            "Twilio",
            settings.twilio_configured,
            ("sends SMS" if sms == "twilio" else "configured, not used for SMS")
            + ("" if twilio_from else "; no sender: set TWILIO_FROM_NUMBER")
            if settings.twilio_configured
            else "not configured: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN",
        ),
        Provider(
            "SMSGate",
            settings.smsgate_configured,
            ("sends SMS" if sms == "smsgate" else "configured, not used for SMS")
            if settings.smsgate_configured
            else "not configured: set SMSGATE_URL and SMSGATE_PASSWORD",
        ),
        Provider(
            "Sandbox simulator",
            sms == "simulator" or not telegram,
            "records "
            + " and ".join(
                name for name, on in (("SMS", sms == "simulator"), ("Telegram", not telegram)) if on
            )
            + " instead of sending"
            if sms == "simulator" or not telegram
            else "not used: every channel has a provider",
        ),
    ]


def chart(weeks: list[Week], width: int = 600, height: int = 180) -> dict[str, object]:
    """Bar geometry for the growth chart's SVG: one bar per week, scaled to the highest."""
    top = max((w.new for w in weeks), default=0)
    plot = height - 40  # room for the counts above and the dates below
    step = width / max(len(weeks), 1)
    bars = []
    for i, w in enumerate(weeks):
        h = round(plot * w.new / top) if top else 0
        bars.append(
            {
                "x": round(i * step + step * 0.15, 1),
                "y": 20 + plot - h,
                "width": round(step * 0.7, 1),
                "height": h,
                "week": w,
                "label_x": round(i * step + step / 2, 1),
            }
        )
    return {"width": width, "height": height, "bars": bars, "base": 20 + plot}


def _context(request: Request, figures: Figures) -> dict[str, Any]:
    settings = runtime(request).settings
    return {
        "f": figures,
        "channels": CHANNELS,
        "statuses": CONTACT_STATUSES,
        "langs": [*LANGS, None],
        "language_names": LANGUAGE_NAMES,
        "chart": chart(figures.weeks),
        "providers": providers(settings),
        "mode": settings.mode,
        "unanswered_days": UNANSWERED_DAYS,
        "unanswered_shown": UNANSWERED_SHOWN,
        "tz": ZoneInfo(settings.timezone),
    }


@page
async def overview(request: Request) -> Response:
    rt = runtime(request)
    now, tz = utcnow(), rt.settings.timezone
    found = await figures(rt.units, now, tz)
    return render(request, "overview.html", **_context(request, found))


@page
async def live(request: Request) -> Response:
    """The broadcasts in flight alone: what the overview re-fetches every 2 s."""
    in_flight = await runtime(request).units.read(_in_flight)
    return render(request, "overview_live.html", f=Figures(in_flight=in_flight))


routes = [
    Route("/", overview, methods=["GET"]),
    Route("/overview/live", live, methods=["GET"]),
]
