"""Subscribers: find people by name (any part of it, in any script), number, chat id or city;
one person's history across channels; import a CSV (a preview naming every bad row, then a
confirmation that stores all or nothing); export everyone as a CSV that Excel opens with its
Urdu intact.

The list is newest first, a page at a time (``before`` = the last id shown), so it costs the
same with 100,000 people as with ten.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.console.base import form_fields, me, page, render, runtime, utcnow
from bot.core.catalog import Catalog
from bot.core.lookup import read_lookup
from bot.core.roster import COLUMNS, EXPORT_COLUMNS, RosterCheck
from bot.outreach import roster, spreadsheets
from bot.store import contacts, deliveries, subscribers, transcripts

log = logging.getLogger(__name__)

PAGE_SIZE = 50
# A person's page shows this many of their latest messages and of their announcements.
HISTORY = 200
# The largest CSV the console takes (about 20,000 rows); the previewed text goes back with
# the confirmation as one form field, which Starlette caps at 1 MiB. Bigger: the CLI.
MAX_IMPORT_BYTES = 1_000_000
# The largest request body the import reads (the file and the form around it): a bigger one is
# refused with a page saying the limit. A reverse proxy in front must let this much through.
MAX_BODY_BYTES = MAX_IMPORT_BYTES + 64_000
# A preview lists this many of the rows it would store (every problem is listed).
PREVIEW_ROWS = 100


def _cities_for(catalog: Catalog, word: str) -> list[str]:
    """The ids of the cities whose id or name (in any language) contains ``word``."""
    found = []
    for city in catalog.cities:
        names = (city.id, city.label.en, city.label.ur or "", city.label.ur_latn or "")
        if any(word in name.lower() for name in names if name):
            found.append(city.id)
    return found


def _before(request: Request) -> int | None:
    raw = request.query_params.get("before", "")
    return int(raw) if raw.isdecimal() and len(raw) <= 18 else None


@page
async def search(request: Request) -> Response:
    rt = runtime(request)
    q = request.query_params.get("q", "")[:100]
    lookup = read_lookup(q, rt.settings.phone_region)
    cities = _cities_for(rt.catalog, lookup.word) if lookup.word else []
    before = _before(request)

    def run(conn: Connection) -> tuple[list[subscribers.Card], int]:
        found = subscribers.find(
            conn,
            lookup,
            cities=cities,
            before=before,
            limit=PAGE_SIZE + 1,
        )
        return found, subscribers.count_subscribers(conn)

    found, total = await rt.units.run(run)
    more = len(found) > PAGE_SIZE
    found = found[:PAGE_SIZE]
    context: dict[str, object] = {
        "q": q,
        "people": found,
        "total": total,
        "next_before": found[-1].subscriber_id if more else None,
        "paged": before is not None,
        "imported": _imported(request),
        "tz": ZoneInfo(rt.settings.timezone),
    }
    template = "subscribers_results.html" if "hx-request" in request.headers else "subscribers.html"
    return render(request, template, 200, **context)


def _imported(request: Request) -> dict[str, int] | None:
    """The counts a finished import redirected here with."""
    params = request.query_params
    keys = ("created", "updated", "opted_out")
    if not all(params.get(k, "").isdecimal() for k in keys):
        return None
    return {k: int(params[k]) for k in keys}


@dataclass(frozen=True, slots=True)
class Event:
    """One line of a person's history."""

    at: datetime
    kind: str  # "in", "out", "announcement", "status", "joined"
    channel: str
    text: str
    status: str
    detail: str
    link: str | None = None


def _timeline(
    card: subscribers.Card, said: list[transcripts.Sent], got: list[deliveries.Received]
) -> list[Event]:
    channel_of = {c.contact_id: c.channel for c in card.contacts}
    events = [
        Event(
            m.created_at,
            m.direction,
            m.channel,
            m.text,
            m.status,
            m.error or (f"understood as {m.intent}" if m.direction == "in" and m.intent else ""),
        )
        for m in said
    ]
    events += [
        Event(
            d.sent_at or d.updated_at,
            "announcement",
            channel_of.get(d.contact_id, d.channel),
            d.title,
            d.status,
            d.error or "",
            f"/console/broadcasts/{d.broadcast_id}",
        )
        for d in got
    ]
    for c in card.contacts:
        events.append(Event(c.created_at, "joined", c.channel, "", "subscribed", ""))
        if c.status != "active" or c.status_reason:
            why = c.status_reason or ""
            events.append(
                Event(c.status_changed_at, "status", c.channel, c.status_words or "", c.status, why)
            )
    events.sort(key=lambda e: e.at, reverse=True)
    return events


@page
async def person(request: Request) -> Response:
    rt = runtime(request)
    subscriber_id: int = request.path_params["subscriber_id"]

    def run(
        conn: Connection,
    ) -> tuple[subscribers.Card | None, list[transcripts.Sent], list[deliveries.Received]]:
        found = subscribers.card(conn, subscriber_id)
        if found is None:
            return None, [], []
        ids = [c.contact_id for c in found.contacts]
        return (
            found,
            transcripts.of_contacts(conn, ids, limit=HISTORY),
            deliveries.of_contacts(conn, ids, limit=HISTORY),
        )

    found, said, got = await rt.units.run(run)
    if found is None:
        raise HTTPException(404, f"There is no subscriber #{subscriber_id}.")
    cities = {c.id: c.label.en for c in rt.catalog.cities}
    topics = {t.id: t.label.en for t in rt.catalog.interests}
    return render(
        request,
        "subscriber.html",
        person=found,
        events=_timeline(found, said, got),
        city=cities.get(found.city or "", found.city),
        topics=[topics.get(t, t) for t in found.topics],
        capped=len(said) >= HISTORY or len(got) >= HISTORY,
        history=HISTORY,
        tz=ZoneInfo(rt.settings.timezone),
    )


def _too_big(size: int) -> HTTPException:
    return HTTPException(
        413,
        f"The file is {size / 1_000_000:.1f} MB; the console imports up to "
        f"{MAX_IMPORT_BYTES / 1_000_000:.0f} MB (about 20,000 people) at a time. Split it, "
        "or import it with `outreach subscribers import FILE`.",
    )


def _limited(
    handler: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """Refuse a body far over the import limit before anything reads it (the session and
    CSRF checks read the form)."""

    async def checked(request: Request) -> Response:
        length = request.headers.get("content-length", "")
        if length.isdecimal() and int(length) > MAX_BODY_BYTES:
            exc = _too_big(int(length))
            return render(
                request, "error.html", 413, status=413, title="File too big", detail=exc.detail
            )
        return await handler(request)

    return checked


@page
async def import_form(request: Request) -> Response:
    return render(request, "subscribers_import.html", columns=COLUMNS, extra=EXPORT_COLUMNS)


@dataclass(frozen=True, slots=True)
class OnFile:
    """What the database already holds of a file's rows: how many people are new, already
    on file, or opted out (they stay so), and for each row number its person, if any."""

    new: int
    known: int
    opted_out: int
    person: dict[int, tuple[int, bool]]  # row -> (subscriber id, opted out on some channel)


async def _on_file(request: Request, checked: RosterCheck) -> OnFile:
    wanted = [pair for row in checked.rows for pair in row.contacts]
    found = await runtime(request).units.run(lambda conn: contacts.on_file(conn, wanted))
    new = known = opted_out = 0
    person: dict[int, tuple[int, bool]] = {}
    for row in checked.rows:
        held = [found[pair] for pair in row.contacts if pair in found]
        if not held:
            new += 1
            continue
        out = any(status == "opted_out" for _, status in held)
        known += 1
        opted_out += out
        person[row.row] = (held[0][0], out)
    return OnFile(new, known, opted_out, person)


async def _preview(request: Request, checked: RosterCheck, text: str, filename: str) -> Response:
    """The preview of a checked file: its problems, or its rows, what is on file of them,
    and the button that stores them. Nothing is stored here."""
    return render(
        request,
        "subscribers_preview.html",
        400 if checked.problems or not checked.rows else 200,
        checked=checked,
        shown=checked.rows[:PREVIEW_ROWS],
        on_file=await _on_file(request, checked),
        text=text,
        filename=filename,
    )


@page
async def import_preview(request: Request) -> Response:
    form = await request.form()
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise HTTPException(400, "Choose a CSV file to import.")
        text = await _read(upload)
    finally:
        await form.close()  # the upload's temporary file
    rt = runtime(request)
    checked = roster.preview_import(text, rt.catalog, rt.settings.phone_region)
    return await _preview(request, checked, text, upload.filename)


async def _read(upload: UploadFile) -> str:
    """The uploaded file's text; 413 when it is too big, 400 when it is not UTF-8."""
    if upload.size is not None and upload.size > MAX_IMPORT_BYTES:
        raise _too_big(upload.size)
    data = await upload.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise _too_big(upload.size or len(data))
    try:
        text = spreadsheets.decode(data)
    except spreadsheets.NotUtf8 as exc:
        raise HTTPException(400, f"{upload.filename} can't be read: {exc}.") from exc
    if len(text.encode()) > MAX_IMPORT_BYTES:
        raise _too_big(len(text.encode()))
    return text


@page
async def import_confirm(request: Request) -> Response:
    rt = runtime(request)
    fields = await form_fields(request)
    text = fields.get("text", "")
    filename = fields.get("filename", "")[:200]
    # Checked again: what is stored is what this text holds now, not what a page said.
    checked = roster.preview_import(text, rt.catalog, rt.settings.phone_region)
    if checked.problems or not checked.rows:
        return await _preview(request, checked, text, filename)
    report = await roster.import_roster(rt.units, checked.rows, utcnow())
    log.info(
        "%s imported %d rows from the console: %d new, %d updated",
        me(request).name,
        len(checked.rows),
        report.created,
        report.updated,
    )
    counts = f"created={report.created}&updated={report.updated}&opted_out={report.opted_out}"
    return RedirectResponse(f"/console/subscribers?{counts}", status_code=303)


@page
async def export(request: Request) -> Response:
    found = await roster.people(runtime(request).units)
    # 100,000 people take a while to write: not on the loop that serves everyone else.
    text = await run_in_threadpool(roster.people_csv, found)
    name = f"subscribers-{utcnow():%Y-%m-%d}.csv"
    return Response(
        text.encode("utf-8"),
        media_type=spreadsheets.CONTENT_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


routes = [
    Route("/subscribers", search, methods=["GET"]),
    Route("/subscribers/{subscriber_id:int}", person, methods=["GET"]),
    Route("/subscribers/import", import_form, methods=["GET"]),
    Route("/subscribers/import", _limited(import_preview), methods=["POST"]),
    Route("/subscribers/import/confirm", _limited(import_confirm), methods=["POST"]),
    Route("/subscribers/export.csv", export, methods=["GET"]),
]
