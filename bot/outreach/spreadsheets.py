"""CSV files coordinators open in a spreadsheet: written as UTF-8 with a byte-order mark (so
Excel shows Urdu rather than mojibake).

Shared by the ``outreach`` CLI and the console: each function returns the file's text (BOM
first) for the caller to write or serve.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.outreach.coordinate import Report
from bot.store.models import DELIVERY_STATUSES

BOM = "\ufeff"
CONTENT_TYPE = "text/csv; charset=utf-8"
REPORT_COLUMNS = (
    "broadcast_id", "title", "status", "scheduled_for", "created_by", "finished_at",
    "schedule_id", "total", *DELIVERY_STATUSES, "failed_reasons", "skipped_reasons",
    "cancelled_by",
)  # fmt: skip


def csv_text(header: Sequence[object], rows: Iterable[Sequence[object]]) -> str:
    """``header`` and ``rows`` as CSV text, starting with the BOM."""
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _iso(when: datetime | None, tz: ZoneInfo) -> str:
    return when.astimezone(tz).replace(microsecond=0).isoformat() if when else ""


def _reasons(counts: dict[str, int]) -> str:
    return "; ".join(f"{reason}: {n}" for reason, n in counts.items())


def reports_csv(reports: Sequence[Report], settings: Settings) -> str:
    """One row per broadcast; a column per delivery status (they add up to ``total``). Times
    are ISO 8601 in TIMEZONE."""
    tz = ZoneInfo(settings.timezone)
    rows = (
        (
            r.broadcast_id,
            r.title,
            r.status,
            _iso(r.scheduled_for, tz),
            r.created_by or "",
            _iso(r.finished_at, tz),
            r.schedule_id if r.schedule_id is not None else "",
            r.total,
            *(r.by_status[status] for status in DELIVERY_STATUSES),
            _reasons(r.failed_by_reason),
            _reasons(r.skipped_by_reason),
            r.cancelled_by or "",
        )
        for r in reports
    )
    return csv_text(REPORT_COLUMNS, rows)
