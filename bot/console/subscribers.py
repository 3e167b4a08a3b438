"""Subscribers: find people by number, chat id or city; one person's history across channels;
import a CSV (a preview naming every bad row, then a confirmation that stores all or nothing);
export everyone as a CSV that Excel opens with its Urdu intact.

The list is newest first, a page at a time (``before`` = the last id shown), so it costs the
same with 100,000 people as with ten.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.console.base import page, render, runtime
from bot.core.catalog import Catalog
from bot.core.lookup import read_lookup
from bot.store import deliveries, messages, subscribers

PAGE_SIZE = 50
# A person's page shows this many of their latest messages and of their announcements.
HISTORY = 200


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
    card: subscribers.Card, said: list[messages.Sent], got: list[deliveries.Received]
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
    ) -> tuple[subscribers.Card | None, list[messages.Sent], list[deliveries.Received]]:
        found = subscribers.card(conn, subscriber_id)
        if found is None:
            return None, [], []
        ids = [c.contact_id for c in found.contacts]
        return (
            found,
            messages.of_contacts(conn, ids, limit=HISTORY),
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
    )


routes = [
    Route("/subscribers", search, methods=["GET"]),
    Route("/subscribers/{subscriber_id:int}", person, methods=["GET"]),
]
