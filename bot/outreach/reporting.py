"""Reports on broadcasts, shared by the ``outreach`` CLI, the Telegram ``/report`` and the
console: what became of each delivery, by status, channel and reason, the SMS segments and
cost the provider accepted, one-line summaries for lists, and cancelling a broadcast.

Like :mod:`bot.outreach.coordinate` (preview, send, schedule), every function takes the
:class:`~bot.store.units.Units` to run on; none reads the clock. An unknown broadcast id
gives None or False, never an exception.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from bot.core.preview import money
from bot.core.schedule import format_fire
from bot.core.segments import count_segments
from bot.core.sms_tail import announcement_text
from bot.outreach.coordinate import CHANNEL_LABELS
from bot.store import broadcasts
from bot.store.broadcast_models import DELIVERY_STATUSES
from bot.store.units import Units

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Report:
    """One broadcast (its row: id, title, status, who and when) and what became of its
    deliveries.

    ``by_status`` has every delivery status (0 included); ``by_channel`` only channels with
    deliveries. Reasons are the recorded errors of failed and skipped deliveries ("unknown"
    when none was recorded; "cancelled" for those a cancel stopped).
    """

    broadcast: broadcasts.BroadcastRow
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
    """SMS segments per broadcast, of the text the dispatcher sends each reader (their
    language's text if there is one, else English, with the opt-out footer)."""
    segments: dict[int, int] = {}
    for a in accepted:
        text = announcement_text(a.text_en, a.text_ur, a.language, "sms", a.text_ur_latn)
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
                broadcast=row,
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


@dataclass(frozen=True, slots=True)
class Summary:
    """A broadcast (its row) and its deliveries by status (every status, 0 included): what a
    list of broadcasts shows; :class:`Report` has channels and reasons too, and costs more."""

    broadcast: broadcasts.BroadcastRow
    total: int
    by_status: dict[str, int]

    @property
    def waiting(self) -> int:
        """Deliveries not yet final (pending or being sent)."""
        return self.by_status["pending"] + self.by_status["sending"]


async def list_summaries(
    units: Units, limit: int = 20, *, before: int | None = None
) -> list[Summary]:
    """The ``limit`` newest broadcasts, newest first (with ``before``: the newest of those older
    than that broadcast id, the next page), with their deliveries counted by status."""

    def unit(conn: Connection) -> list[Summary]:
        rows = broadcasts.list_broadcasts(conn, limit=limit, before=before)
        counts = broadcasts.status_counts(conn, [r.id for r in rows])
        summaries = []
        for row in rows:
            by_status = dict.fromkeys(DELIVERY_STATUSES, 0) | counts.get(row.id, {})
            summaries.append(
                Summary(
                    broadcast=row,
                    total=sum(by_status.values()),
                    by_status=by_status,
                )
            )
        return summaries

    return await units.run(unit)


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
    s, b = report.by_status, report.broadcast
    origin = f" (schedule #{b.schedule_id})" if b.schedule_id is not None else ""
    lines = [
        f"#{b.id} {b.title}",
        f"Status: {b.status}{origin}",
        f"For: {_local(b.scheduled_for, tz)}" + (f", by {b.created_by}" if b.created_by else ""),
    ]
    if b.finished_at is not None:
        lines.append(
            f"Ended: {_local(b.finished_at, tz)}"
            + (f", cancelled by {b.cancelled_by}" if b.cancelled_by else "")
        )
    reach = ", ".join(f"{n:,} {CHANNEL_LABELS.get(ch, ch)}" for ch, n in report.by_channel.items())
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
