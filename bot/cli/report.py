"""``outreach report``: what became of the broadcasts, as text or CSV."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import coordinator_settings, fail, on_db, out, parse_number, setup_logging

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.outreach.coordinate import Report
    from bot.store.units import Units


def report(
    number: Annotated[
        str | None,
        typer.Argument(metavar="[ID]", help="Only this broadcast (default: the latest ones)."),
    ] = None,
    as_csv: Annotated[
        bool, typer.Option("--csv", help="Write CSV (for a spreadsheet) instead of text.")
    ] = False,
    limit: Annotated[
        int, typer.Option(min=1, help="How many of the latest broadcasts to include.")
    ] = 20,
) -> None:
    """What became of the broadcasts: delivered, sent, failed (and why), skipped, waiting.

    delivered: the phone confirmed it; sent: the provider accepted it (Telegram never
    confirms); failed and skipped come with their reasons. CSV times are ISO 8601 in TIMEZONE.
    """
    from bot.outreach import coordinate

    settings = coordinator_settings()
    setup_logging("WARNING")
    broadcast_id = None if number is None else parse_number(number, "broadcast")

    async def load(units: Units) -> list[Report]:
        if broadcast_id is None:
            return await coordinate.list_reports(units, limit)
        found = await coordinate.get_report(units, broadcast_id)
        return [found] if found is not None else []

    reports = on_db(settings, load)
    if broadcast_id is not None and not reports:
        fail(f"There is no broadcast {broadcast_id}; `outreach broadcast list` shows them.")
    if as_csv:
        sys.stdout.write(_reports_csv(reports, settings))
        return
    if not reports:
        out.print("No broadcasts yet.")
    for n, r in enumerate(reports):
        if n:
            out.print()
        for line in coordinate.report_lines(r, settings.timezone):
            out.print(line, markup=False)


def _reports_csv(reports: list[Report], settings: Settings) -> str:
    """One row per broadcast; a column per delivery status (they add up to ``total``)."""
    import csv
    import io
    from zoneinfo import ZoneInfo

    from bot.store.models import DELIVERY_STATUSES

    tz = ZoneInfo(settings.timezone)

    def _iso(when: datetime) -> str:
        return when.astimezone(tz).replace(microsecond=0).isoformat()

    def reasons(counts: dict[str, int]) -> str:
        return "; ".join(f"{reason}: {n}" for reason, n in counts.items())

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        (
            "broadcast_id", "title", "status", "scheduled_for", "created_by", "finished_at",
            "schedule_id", "total", *DELIVERY_STATUSES, "failed_reasons", "skipped_reasons",
            "cancelled_by",
        )
    )  # fmt: skip
    for r in reports:
        writer.writerow(
            (
                r.broadcast_id,
                r.title,
                r.status,
                _iso(r.scheduled_for),
                r.created_by or "",
                _iso(r.finished_at) if r.finished_at else "",
                r.schedule_id if r.schedule_id is not None else "",
                r.total,
                *(r.by_status[status] for status in DELIVERY_STATUSES),
                reasons(r.failed_by_reason),
                reasons(r.skipped_by_reason),
                r.cancelled_by or "",
            )
        )
    return buffer.getvalue()
