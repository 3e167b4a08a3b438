"""Broadcasts and their reports: the list (newest first, a page at a time), one broadcast
with its funnel as a chart and a table, live while it is being sent, cancel (after asking),
and the report as CSV (the same file as ``outreach report --csv``).

The reports are :mod:`bot.outreach.coordinate`'s, as the CLI and Telegram show them: counts
come from one ``GROUP BY`` per page, never from loading deliveries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.console.base import form_fields, me, page, render, runtime, utcnow
from bot.core.schedule import format_fire
from bot.outreach import reporting
from bot.outreach.reporting import Report
from bot.outreach.spreadsheets import CONTENT_TYPE, reports_csv

PAGE_SIZE = 20
# While a broadcast has one of these statuses its page polls for progress and can be cancelled.
LIVE = ("queued", "sending")


@dataclass(frozen=True, slots=True)
class Stage:
    """One bar of the funnel: ``n`` of the report's ``total`` deliveries."""

    label: str
    n: int
    css: str
    note: str = ""


def funnel(report: Report) -> list[Stage]:
    """Queued → sent → delivered / failed / skipped, and those still waiting.

    ``sent`` counts what the provider accepted, including what the phone then confirmed
    (``delivered``); Telegram never confirms, so its messages stay at ``sent``.
    """
    s = report.by_status
    return [
        Stage("Queued", report.total, "queued"),
        Stage("Sent", s["sent"] + s["delivered"], "sent", "accepted by the provider"),
        Stage("Delivered", s["delivered"], "delivered", "the phone confirmed it"),
        Stage("Failed", s["failed"], "failed"),
        Stage("Skipped", s["skipped"], "skipped"),
        Stage("Waiting", report.waiting, "waiting", "not sent yet"),
    ]


def _local(request: Request, when: datetime | None) -> str:
    if when is None:
        return ""
    return format_fire(when.astimezone(ZoneInfo(runtime(request).settings.timezone)))


def _short(request: Request, when: datetime) -> str:
    """``03 Dec 15:11`` in the configured time zone, for the list (as `broadcast list`)."""
    return when.astimezone(ZoneInfo(runtime(request).settings.timezone)).strftime("%d %b %H:%M")


def _number(request: Request) -> int:
    return int(request.path_params["id"])


async def _report(request: Request) -> Report:
    broadcast_id = _number(request)
    found = await reporting.get_report(runtime(request).units, broadcast_id)
    if found is None:
        raise HTTPException(404, f"There is no broadcast {broadcast_id}.")
    return found


def _progress_context(request: Request, report: Report) -> dict[str, Any]:
    return {
        "r": report,
        "live": report.broadcast.status in LIVE,
        "stages": funnel(report),
        "local": lambda when: _local(request, when),
    }


@page
async def broadcast_list(request: Request) -> Response:
    raw = request.query_params.get("before", "")
    if raw and not raw.isdigit():
        raise HTTPException(400, f"{raw!r} is not a broadcast number.")
    before = int(raw) if raw else None
    reports = await reporting.list_summaries(runtime(request).units, PAGE_SIZE + 1, before=before)
    older = reports[PAGE_SIZE - 1].broadcast.id if len(reports) > PAGE_SIZE else None
    return render(
        request,
        "broadcasts.html",
        reports=reports[:PAGE_SIZE],
        before=before,
        older=older,
        short=lambda when: _short(request, when),
    )


@page
async def broadcast_page(request: Request) -> Response:
    report = await _report(request)
    return render(request, "broadcast.html", **_progress_context(request, report))


@page
async def broadcast_progress(request: Request) -> Response:
    """The funnel alone, for htmx to poll every 2 s; it stops polling once the broadcast has
    ended (the fragment it swaps in no longer asks for more)."""
    report = await _report(request)
    return render(request, "broadcast_progress.html", **_progress_context(request, report))


@page
async def broadcast_cancel(request: Request) -> Response:
    """First post: "Are you sure?"; with ``confirm=yes``: cancel, as ``broadcast cancel``."""
    report = await _report(request)
    b = report.broadcast
    if b.status not in LIVE:
        raise HTTPException(409, f"Broadcast {b.id} is already {b.status}: nothing to cancel.")
    fields = await form_fields(request)
    if fields.get("confirm") != "yes":
        return render(request, "broadcast_cancel.html", r=report)
    after = await reporting.cancel_broadcast(
        runtime(request).units, b.id, utcnow(), by=me(request).name
    )
    if after is None or after.broadcast.status != "cancelled":
        status = after.broadcast.status if after is not None else "gone"
        raise HTTPException(409, f"Broadcast {b.id} is already {status}: nothing to cancel.")
    return RedirectResponse(f"/console/broadcasts/{b.id}", status_code=303)


def _csv(request: Request, reports: list[Report], filename: str) -> Response:
    text = reports_csv(reports, runtime(request).settings)
    return Response(
        text.encode("utf-8"),
        media_type=CONTENT_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@page
async def broadcast_csv(request: Request) -> Response:
    """One broadcast's report: the row ``outreach report ID --csv`` writes."""
    report = await _report(request)
    return _csv(request, [report], f"broadcast-{report.broadcast.id}.csv")


@page
async def list_csv(request: Request) -> Response:
    """The latest broadcasts' reports (a page's worth), as ``outreach report --csv``."""
    reports = await reporting.list_reports(runtime(request).units, PAGE_SIZE)
    return _csv(request, reports, "broadcasts.csv")


routes = [
    Route("/broadcasts", broadcast_list, methods=["GET"]),
    Route("/broadcasts.csv", list_csv, methods=["GET"]),
    Route("/broadcasts/{id:int}", broadcast_page, methods=["GET"]),
    Route("/broadcasts/{id:int}/progress", broadcast_progress, methods=["GET"]),
    Route("/broadcasts/{id:int}/cancel", broadcast_cancel, methods=["POST"]),
    Route("/broadcasts/{id:int}.csv", broadcast_csv, methods=["GET"]),
]
