"""The coordinators' service layer, shared by the ``outreach`` CLI and the Telegram commands.

Preview an announcement (who gets it, what it costs, how long it takes), send it now, schedule
it, pause, resume or remove schedules, and report and cancel broadcasts.

Every function takes the :class:`~bot.store.units.Units` to run on and, where time matters,
``now`` (aware) from the caller; none reads the clock. ``by`` names who acts: ``"cli"`` or
``"telegram:<user id>"``. Results are frozen dataclasses. Input that names nothing (an unknown
schedule or broadcast id) gives None or False, never an exception.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from bot.config import Settings
from bot.core.audience import CHANNELS, Audience, audience_from_dict, audience_to_dict
from bot.core.catalog import Lang
from bot.core.preview import money, render_preview, send_duration, sms_cost
from bot.core.schedule import Rule, describe, format_fire, next_fires, rule_from_dict, rule_to_dict
from bot.core.segments import count_segments
from bot.outreach.pacing import Pacer
from bot.store import announcements, broadcasts, schedules
from bot.store.broadcasts import audience_size, start_broadcast
from bot.store.models import DELIVERY_STATUSES
from bot.store.units import Units

log = logging.getLogger(__name__)

TITLE_MAX = 60
NEXT_COUNT = 3
PRICE_UNSET_NOTE = "(set SMS_PRICE_PER_SEGMENT to see the SMS cost)"
_CHANNEL_LABELS = {"sms": "SMS", "telegram": "Telegram"}


@dataclass(frozen=True, slots=True)
class Draft:
    """An announcement not yet stored: its texts, who gets it, its topic tags and title."""

    text_en: str
    text_ur: str | None
    audience: Audience
    topics: tuple[str, ...] = ()
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Preview:
    """Recipients per channel (channels with none left out), their total, and the lines to
    show: :func:`bot.core.preview.render_preview` plus a note when SMS has no price set."""

    recipients: dict[str, int]
    total: int
    lines: list[str]


def _title(draft: Draft) -> str:
    """``draft.title``, or the first line of the English text cut to 60 characters."""
    if draft.title and draft.title.strip():
        return draft.title.strip()[:200]
    first = next((line.strip() for line in draft.text_en.splitlines() if line.strip()), "")
    return first if len(first) <= TITLE_MAX else first[: TITLE_MAX - 1].rstrip() + "…"


async def preview(units: Units, settings: Settings, draft: Draft) -> Preview:
    """Who ``draft`` would reach now, what its SMS cost and how long sending takes.

    Counts come from the same SQL that queues a broadcast, so they match what
    :func:`send_now` would queue at this moment.
    """
    sizes = await units.run(lambda conn: audience_size(conn, draft.audience))
    totals: dict[str, int] = {ch: sum(sizes.get(ch, {}).values()) for ch in CHANNELS}
    by_channel = {ch: n for ch, n in totals.items() if n}
    sms_by_lang = sizes.get("sms", {})
    texts: dict[Lang, str] = {"en": draft.text_en}
    if draft.text_ur:
        texts["ur"] = draft.text_ur
    price = settings.sms_price_per_segment
    # Roman Urdu readers get the English text: announcements have no Roman Urdu one.
    english = sms_by_lang.get("en", 0) + sms_by_lang.get("ur-Latn", 0)
    cost = sms_cost(
        texts,
        {"en": english, "ur": sms_by_lang.get("ur", 0)},
        price if price is not None else Decimal(0),
    )
    sms_people = by_channel.get("sms", 0)
    duration = send_duration(
        by_channel,
        # The pace the dispatcher keeps (a little under each provider's limit).
        {
            "sms": Pacer(settings.sms_per_second).per_second,
            "telegram": Pacer(settings.telegram_per_second).per_second,
        },
        # Providers' rates count segments: a two-segment text takes twice as long.
        segments_per_sms=cost.total_segments / sms_people if sms_people else 1,
    )
    lines = render_preview(cost, by_channel, duration, currency=settings.sms_currency)
    if price is None:
        lines.append(PRICE_UNSET_NOTE)
    return Preview(recipients=dict(by_channel), total=sum(by_channel.values()), lines=lines)


@dataclass(frozen=True, slots=True)
class Sent:
    """The broadcast created and how many deliveries it queued."""

    broadcast_id: int
    queued: int


async def send_now(units: Units, draft: Draft, now: datetime, *, by: str) -> Sent:
    """Store ``draft`` as an announcement and queue it to its audience at once, in one
    transaction; the dispatcher (``outreach serve``) sends it. An audience with nobody in it
    gives a broadcast that is ``done`` at once with 0 queued.
    """

    def unit(conn: Connection) -> Sent:
        aid = announcements.create_announcement(
            conn, _title(draft), draft.text_en, draft.text_ur, draft.topics, now
        )
        bid, queued = start_broadcast(
            conn, aid, draft.audience, f"manual:{uuid.uuid4().hex}", now, now, created_by=by
        )
        if bid is None:  # a random key is never taken; a clash means something else is wrong
            raise RuntimeError("a broadcast key clashed; nothing was sent")
        return Sent(broadcast_id=bid, queued=queued)

    sent = await units.run(unit)
    log.info("broadcast %d queued by %s: %d deliveries", sent.broadcast_id, by, sent.queued)
    return sent


@dataclass(frozen=True, slots=True)
class ScheduleInfo:
    """A schedule as coordinators see it. ``next_times`` are the next three fire times after
    ``now`` in the rule's zone (none while paused or once it fires no more); ``missed`` the
    times of runs recorded as missed, oldest first."""

    id: int
    title: str
    text_en: str
    enabled: bool
    rule: Rule
    description: str
    next_times: list[datetime]
    audience: Audience
    last_fired_at: datetime | None
    missed: list[datetime]
    created_by: str | None
    text_ur: str | None = None


def _info(row: schedules.ScheduleRow, now: datetime) -> ScheduleInfo:
    rule = rule_from_dict(row.rule)
    return ScheduleInfo(
        id=row.id,
        title=row.title,
        text_en=row.text_en,
        enabled=row.enabled,
        rule=rule,
        description=describe(rule),
        next_times=next_fires(rule, now, NEXT_COUNT) if row.enabled else [],
        audience=audience_from_dict(row.audience),
        last_fired_at=row.last_fired_at,
        missed=list(row.missed),
        created_by=row.created_by,
        text_ur=row.text_ur,
    )


async def add_schedule(
    units: Units, draft: Draft, rule: Rule, now: datetime, *, by: str
) -> ScheduleInfo:
    """Store ``draft`` and an enabled schedule sending it to its audience by ``rule``."""

    def unit(conn: Connection) -> schedules.ScheduleRow:
        aid = announcements.create_announcement(
            conn, _title(draft), draft.text_en, draft.text_ur, draft.topics, now
        )
        sid = schedules.create_schedule(
            conn, aid, rule_to_dict(rule), audience_to_dict(draft.audience), now, created_by=by
        )
        return schedules.list_schedules(conn, sid)[0]

    row = await units.run(unit)
    log.info("schedule %d added by %s", row.id, by)
    return _info(row, now)


async def list_schedules(units: Units, now: datetime) -> list[ScheduleInfo]:
    """Every schedule, oldest first."""
    rows = await units.run(schedules.list_schedules)
    return [_info(row, now) for row in rows]


async def get_schedule(units: Units, schedule_id: int, now: datetime) -> ScheduleInfo | None:
    """The schedule, or None when there is no such id."""
    rows = await units.run(lambda conn: schedules.list_schedules(conn, schedule_id))
    return _info(rows[0], now) if rows else None


async def set_schedule_enabled(
    units: Units, schedule_id: int, enabled: bool, now: datetime
) -> ScheduleInfo | None:
    """Pause (``enabled=False``) or resume a schedule; None when there is no such id.

    Runs that fell due while it was paused are not sent on resume.
    """

    def unit(conn: Connection) -> list[schedules.ScheduleRow]:
        if not schedules.set_enabled(conn, schedule_id, enabled, now):
            return []
        return schedules.list_schedules(conn, schedule_id)

    rows = await units.run(unit)
    if not rows:
        return None
    log.info("schedule %d %s", schedule_id, "resumed" if enabled else "paused")
    return _info(rows[0], now)


async def remove_schedule(units: Units, schedule_id: int) -> bool:
    """Delete a schedule (its past broadcasts and their reports stay); False when unknown."""
    removed = await units.run(lambda conn: schedules.delete_schedule(conn, schedule_id))
    if removed:
        log.info("schedule %d removed", schedule_id)
    return removed


@dataclass(frozen=True, slots=True)
class Report:
    """One broadcast and what became of its deliveries.

    ``by_status`` has every delivery status (0 included); ``by_channel`` only channels with
    deliveries. Reasons are the recorded errors of failed and skipped deliveries ("unknown"
    when none was recorded; "cancelled" for those a cancel stopped).
    """

    broadcast_id: int
    title: str
    status: str
    scheduled_for: datetime
    created_by: str | None
    cancelled_by: str | None
    finished_at: datetime | None
    schedule_id: int | None
    total: int
    by_status: dict[str, int]
    by_channel: dict[str, int]
    failed_by_reason: dict[str, int]
    skipped_by_reason: dict[str, int]
    # Segments of the SMS the provider accepted, counted from the announcement's text in each
    # recipient's language (Telegram costs nothing).
    sms_segments: int = 0

    @property
    def waiting(self) -> int:
        """Deliveries not yet final (pending or being sent)."""
        return self.by_status["pending"] + self.by_status["sending"]

    def cost(self, price_per_segment: Decimal | None) -> Decimal | None:
        """What its SMS cost at ``price_per_segment`` (SMS_PRICE_PER_SEGMENT), to the cent;
        None when no price is set: a fee is never guessed."""
        if price_per_segment is None:
            return None
        return money(self.sms_segments * price_per_segment)


def _sorted_counts(counts: Mapping[str, int]) -> dict[str, int]:
    """Largest first, then by name, so reports read the same every time."""
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _segments(accepted: list[broadcasts.SmsAccepted]) -> dict[int, int]:
    """SMS segments per broadcast: Urdu readers got the Urdu text when there was one, everyone
    else the English one (as the dispatcher chooses)."""
    segments: dict[int, int] = {}
    for a in accepted:
        text = a.text_ur if a.language == "ur" and a.text_ur else a.text_en
        per_sms = count_segments(text).segments
        segments[a.broadcast_id] = segments.get(a.broadcast_id, 0) + per_sms * a.n
    return segments


def _reports(
    rows: list[broadcasts.BroadcastRow],
    tallies: list[broadcasts.Tally],
    accepted: list[broadcasts.SmsAccepted],
) -> list[Report]:
    grouped: dict[int, list[broadcasts.Tally]] = {}
    for tally in tallies:
        grouped.setdefault(tally.broadcast_id, []).append(tally)
    segments = _segments(accepted)
    reports: list[Report] = []
    for row in rows:
        by_status: dict[str, int] = dict.fromkeys(DELIVERY_STATUSES, 0)
        by_channel: dict[str, int] = {}
        reasons: dict[str, dict[str, int]] = {"failed": {}, "skipped": {}}
        for t in grouped.get(row.id, []):
            by_status[t.status] = by_status.get(t.status, 0) + t.n
            by_channel[t.channel] = by_channel.get(t.channel, 0) + t.n
            if t.status in reasons and t.reason is not None:
                reasons[t.status][t.reason] = reasons[t.status].get(t.reason, 0) + t.n
        reports.append(
            Report(
                broadcast_id=row.id,
                title=row.title,
                status=row.status,
                scheduled_for=row.scheduled_for,
                created_by=row.created_by,
                cancelled_by=row.cancelled_by,
                finished_at=row.finished_at,
                schedule_id=row.schedule_id,
                total=sum(by_status.values()),
                by_status=by_status,
                by_channel={ch: by_channel[ch] for ch in sorted(by_channel)},
                failed_by_reason=_sorted_counts(reasons["failed"]),
                skipped_by_reason=_sorted_counts(reasons["skipped"]),
                sms_segments=segments.get(row.id, 0),
            )
        )
    return reports


def _load_reports(
    conn: Connection, *, limit: int | None = None, broadcast_id: int | None = None
) -> list[Report]:
    rows = broadcasts.list_broadcasts(conn, limit=limit, broadcast_id=broadcast_id)
    ids = [r.id for r in rows]
    return _reports(rows, broadcasts.tallies(conn, ids), broadcasts.sms_accepted(conn, ids))


async def list_reports(units: Units, limit: int = 20) -> list[Report]:
    """The ``limit`` newest broadcasts' reports, newest first."""
    return await units.run(lambda conn: _load_reports(conn, limit=limit))


async def get_report(units: Units, broadcast_id: int) -> Report | None:
    """The broadcast's report, or None when there is no such id."""
    found = await units.run(lambda conn: _load_reports(conn, broadcast_id=broadcast_id))
    return found[0] if found else None


async def cancel_broadcast(
    units: Units, broadcast_id: int, now: datetime, *, by: str
) -> Report | None:
    """Stop a broadcast that is still going: deliveries not yet picked up are skipped
    ("cancelled"), and it becomes ``cancelled``. Those already sent, or being sent at this
    moment, are not called back. A broadcast already done, missed or cancelled is returned
    unchanged; None when there is no such id.
    """

    def unit(conn: Connection) -> list[Report]:
        if broadcasts.cancel(conn, broadcast_id, by, now):
            log.info("broadcast %d cancelled by %s", broadcast_id, by)
        return _load_reports(conn, broadcast_id=broadcast_id)

    found = await units.run(unit)
    return found[0] if found else None


def _local(when: datetime, tz: str) -> str:
    return format_fire(when.astimezone(ZoneInfo(tz)))


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{reason} {n:,}" for reason, n in counts.items())


def report_lines(report: Report, tz: str) -> list[str]:
    """A short plain-text summary of ``report``, times in ``tz``, for the CLI and Telegram."""
    s = report.by_status
    origin = f" (schedule #{report.schedule_id})" if report.schedule_id is not None else ""
    lines = [
        f"#{report.broadcast_id} {report.title}",
        f"Status: {report.status}{origin}",
        f"For: {_local(report.scheduled_for, tz)}"
        + (f", by {report.created_by}" if report.created_by else ""),
    ]
    if report.finished_at is not None:
        lines.append(
            f"Ended: {_local(report.finished_at, tz)}"
            + (f", cancelled by {report.cancelled_by}" if report.cancelled_by else "")
        )
    reach = ", ".join(f"{n:,} {_CHANNEL_LABELS.get(ch, ch)}" for ch, n in report.by_channel.items())
    lines.append(f"Recipients: {report.total:,}" + (f" ({reach})" if reach else ""))
    lines.append(
        f"Delivered {s['delivered']:,}, sent {s['sent']:,}, failed {s['failed']:,}, "
        f"skipped {s['skipped']:,}, waiting {report.waiting:,}"
    )
    if report.failed_by_reason:
        lines.append(f"Failed: {_counts(report.failed_by_reason)}")
    if report.skipped_by_reason:
        lines.append(f"Skipped: {_counts(report.skipped_by_reason)}")
    return lines
