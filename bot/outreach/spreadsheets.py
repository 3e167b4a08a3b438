"""CSV files coordinators open in a spreadsheet: written as UTF-8 with a byte-order mark (so
Excel shows Urdu rather than mojibake), read with or without one.

Shared by the ``outreach`` CLI and the console: each function returns the file's text (BOM
first) for the caller to write or serve; :func:`decode` turns uploaded bytes into text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.core.catalog import LANGS
from bot.core.roster import BOM
from bot.core.unanswered import Group
from bot.outreach.reporting import Report
from bot.store.broadcast_models import DELIVERY_STATUSES
from bot.store.models import CHANNELS

CONTENT_TYPE = "text/csv; charset=utf-8"
REPORT_COLUMNS = (
    "broadcast_id", "title", "status", "scheduled_for", "created_by", "finished_at",
    "schedule_id", "total", *DELIVERY_STATUSES, "failed_reasons", "skipped_reasons",
    "cancelled_by", "sms_segments", "cost", "currency",
)  # fmt: skip


class NotUtf8(ValueError):
    """The file is not UTF-8 (nor UTF-16) text; the message says how to save it so."""


def csv_text(header: Sequence[object], rows: Iterable[Sequence[object]]) -> str:
    """``header`` and ``rows`` as CSV text, starting with the BOM."""
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def decode(data: bytes) -> str:
    """The text of an uploaded CSV: UTF-8 with or without a BOM (what "CSV UTF-8" and most
    programs save), or UTF-16 with its BOM; :class:`NotUtf8` otherwise. The BOM is dropped."""
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        row = data[: exc.start].count(b"\n") + 1
        raise NotUtf8(
            f"it is not UTF-8 text (row {row} cannot be read): in Excel, "
            "save it as 'CSV UTF-8 (Comma delimited)'"
        ) from exc


def _iso(when: datetime | None, tz: ZoneInfo) -> str:
    return when.astimezone(tz).replace(microsecond=0).isoformat() if when else ""


def _reasons(counts: dict[str, int]) -> str:
    return "; ".join(f"{reason}: {n}" for reason, n in counts.items())


def reports_csv(reports: Sequence[Report], settings: Settings) -> str:
    """One row per broadcast; a column per delivery status (they add up to ``total``), the
    SMS segments the provider accepted and their ``cost`` at SMS_PRICE_PER_SEGMENT (empty,
    and no currency, when no price is set). Times are ISO 8601 in TIMEZONE."""
    tz = ZoneInfo(settings.timezone)
    price = settings.sms_price_per_segment
    rows = []
    for r in reports:
        cost = r.cost(price)
        b = r.broadcast
        rows.append(
            (
                b.id,
                b.title,
                b.status,
                _iso(b.scheduled_for, tz),
                b.created_by or "",
                _iso(b.finished_at, tz),
                b.schedule_id if b.schedule_id is not None else "",
                r.total,
                *(r.by_status[status] for status in DELIVERY_STATUSES),
                _reasons(r.failed_by_reason),
                _reasons(r.skipped_by_reason),
                b.cancelled_by or "",
                r.sms_segments,
                "" if cost is None else f"{cost:.2f}",
                "" if cost is None else settings.sms_currency,
            )
        )
    return csv_text(REPORT_COLUMNS, rows)


def unanswered_csv(groups: Sequence[Group], timezone: str) -> str:
    """One row per question: a column per channel and per language (they add up to asked)."""
    tz = ZoneInfo(timezone)
    seen = {lang for g in groups for lang in g.languages}
    languages = [*LANGS, *sorted(seen - set(LANGS))]
    header = (
        "question",
        "asked",
        "examples",
        *CHANNELS,
        *(f"lang_{x}" for x in languages),
        "last_asked",
    )
    rows = (
        (
            g.key,
            g.count,
            " | ".join(g.examples()),
            *(g.channels[c] for c in CHANNELS),
            *(g.languages[x] for x in languages),
            _iso(g.last, tz),
        )
        for g in groups
    )
    return csv_text(header, rows)
