"""Broadcasts: one firing of an announcement, its audience queued, and what became of it.

Synchronous Core on a ``Connection``, run through :class:`bot.store.units.Units`; none of
them commits, and ``now`` must be timezone-aware. A broadcast's deliveries, one per contact,
are :mod:`bot.store.deliveries`; this module queues them (:func:`queue_deliveries`: a
large audience in pages first, :mod:`bot.store.pages`) and counts them for the
coordinators' reports (:func:`tallies`, ``GROUP BY``: a report never loads deliveries one by
one; paged recipients count as waiting).

An audience (:class:`bot.core.audience.Audience`) becomes SQL once, in :func:`_recipients`,
which both :func:`audience_size` (a ``GROUP BY``) and :func:`queue_deliveries` (the contact
ids, read once into pages of 8-byte integers) use, so the preview counts exactly who will be
queued.

Topics are JSON lists: PostgreSQL tests ``subscribers.topics ?| ARRAY[...]`` on JSONB; SQLite
``instr(subscribers.topics, '"topic"') > 0`` for each topic (the JSON string in the JSON text).
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    String,
    and_,
    bindparam,
    cast,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.sql.elements import BindParameter

from bot.core.audience import Audience, audience_to_dict
from bot.core.catalog import LANGS, Lang
from bot.core.decision import Channel
from bot.store import pages
from bot.store.models import UTCDateTime, require_aware
from bot.store.tables import announcements as _announcements
from bot.store.tables import broadcasts as _broadcasts
from bot.store.tables import contacts as _contacts
from bot.store.tables import deliveries as _deliveries
from bot.store.tables import insert_ignoring
from bot.store.tables import subscribers as _subscribers

# The condition of the partial index ix_deliveries_sms_accepted (migration 0852061896db), with
# literals: a partial index is used only when the planner sees the query implies it.
SMS_ACCEPTED_OF_D = "deliveries.channel = 'sms' AND deliveries.sent_at IS NOT NULL"

_NOW: BindParameter[datetime] = bindparam("now", type_=UTCDateTime())

CANCELLED = "cancelled"  # deliveries.error of the rows a cancel skipped
_OPEN = ("queued", "sending")  # broadcast statuses a cancel still applies to
_READ_EVERY = 10_000  # audience rows fetched at a time while queueing


def _language() -> ColumnElement[str]:
    """The language a subscriber is sent: theirs, or English until they pick one."""
    return func.coalesce(_subscribers.c.language, literal("en", String))


def _has_any_topic(dialect: str, topics: list[str]) -> ColumnElement[bool]:
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql  # only there: see bot.store.tables

        wanted = bindparam("topics", topics, type_=postgresql.ARRAY(String))
        return _subscribers.c.topics.op("?|", return_type=postgresql.BOOLEAN)(wanted)
    if dialect == "sqlite":
        # A topic is in the list exactly when its JSON string, quotes included, is in the
        # list's JSON text (both written by json.dumps). instr() reads each subscriber's text
        # once; json_each() built a table per subscriber: 26-29 ms against 47-107 ms to count
        # a topic's audience among 100,000 subscribers (bench_console's town).
        found = [func.instr(_subscribers.c.topics, json.dumps(topic)) > 0 for topic in topics]
        return or_(*found)
    raise NotImplementedError(f"no topic filter for the {dialect} dialect")


def _recipients(dialect: str, audience: Audience) -> tuple[Select[Any], list[ColumnElement[bool]]]:
    """``FROM contacts JOIN subscribers`` and the WHERE clauses selecting the audience.

    Only active contacts. With the cheapest-channel rule an SMS contact is kept only when its
    subscriber has no active Telegram contact (``NOT EXISTS``).
    """
    c, s = _contacts, _subscribers
    where: list[ColumnElement[bool]] = [
        c.c.status == "active",
        c.c.channel.in_(bindparam("channels", sorted(audience.channels), expanding=True)),
    ]
    if audience.languages:
        where.append(
            _language().in_(bindparam("languages", sorted(audience.languages), expanding=True))
        )
    if audience.cities:
        cities = sorted({city.lower() for city in audience.cities})
        where.append(func.lower(s.c.city).in_(bindparam("cities", cities, expanding=True)))
    if audience.topics:
        where.append(_has_any_topic(dialect, sorted(audience.topics)))
    if audience.cheapest_channel:
        telegram = _contacts.alias("telegram")
        where.append(
            or_(
                c.c.channel == "telegram",
                ~exists().where(
                    telegram.c.subscriber_id == c.c.subscriber_id,
                    telegram.c.channel == "telegram",
                    telegram.c.status == "active",
                ),
            )
        )
    joined = select().select_from(c.join(s, s.c.id == c.c.subscriber_id))
    return joined, where


def _by_language() -> list[ColumnElement[int]]:
    """A count per language (:data:`LANGS`, the subscriber's or ``en``), in one pass: a
    ``GROUP BY`` on the language would sort every row in a temporary b-tree first."""
    language = _language()
    return [func.count().filter(language == lang).label(lang) for lang in LANGS]


def audience_size(conn: Connection, audience: Audience) -> dict[Channel, dict[Lang, int]]:
    """How many active contacts would receive a broadcast to ``audience``, per channel and
    language (the subscriber's, or ``en``). Channels and languages with none are left out.
    """
    base, where = _recipients(conn.dialect.name, audience)
    stmt = (
        base.add_columns(_contacts.c.channel, *_by_language())
        .where(and_(*where))
        .group_by(_contacts.c.channel)
    )
    sizes: dict[Channel, dict[Lang, int]] = {}
    for channel, *counts in conn.execute(stmt):
        found = {lang: n for lang, n in zip(LANGS, counts, strict=True) if n}
        if found:
            sizes[channel] = found
    return sizes


def create_broadcast(
    conn: Connection,
    announcement_id: int,
    audience: Audience,
    key: str,
    scheduled_for: datetime,
    now: datetime,
    schedule_id: int | None = None,
) -> int | None:
    """A new ``queued`` broadcast's id, or None when one with ``key`` exists already.

    Concurrent calls with the same key create one broadcast (``ON CONFLICT DO NOTHING``).
    """
    require_aware(now)
    require_aware(scheduled_for)
    stmt = (
        insert_ignoring(conn.dialect.name, _broadcasts)
        .values(
            announcement_id=announcement_id,
            schedule_id=schedule_id,
            key=key,
            audience=audience_to_dict(audience),
            status="queued",
            scheduled_for=scheduled_for,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(_broadcasts.c.id)
    )
    return conn.execute(stmt).scalar_one_or_none()


def queue_deliveries(
    conn: Connection,
    broadcast_id: int,
    audience: Audience,
    now: datetime,
    *,
    at_once: int = pages.AT_ONCE,
    page: int = pages.PAGE,
) -> int:
    """Fix who gets the broadcast: every contact in ``audience`` it does not hold yet, in
    pages of ``page`` (:mod:`bot.store.pages`), the first ``at_once`` of them (whole pages)
    written as ``pending`` deliveries due ``now`` and the rest as the dispatcher goes.

    One pass over the audience, in contact order (the earliest subscribers are sent first,
    whatever order the database keeps them in). Contacts the broadcast already holds are left
    alone, so running it again adds only contacts that joined since. Returns how many were
    added.
    """
    require_aware(now)
    base, where = _recipients(conn.dialect.name, audience)
    c, d = _contacts, _deliveries
    held = exists().where(d.c.broadcast_id == broadcast_id, d.c.contact_id == c.c.id)
    recipients = base.add_columns(c.c.id, c.c.channel).where(*where, ~held).order_by(c.c.id)
    paged = pages.paged_contacts(conn, broadcast_id)
    ids: dict[Channel, array[int]] = {}
    result = conn.execute(recipients.execution_options(yield_per=_READ_EVERY))
    for part in result.partitions():
        for contact_id, channel in part:
            if contact_id not in paged:
                ids.setdefault(channel, array("q")).append(contact_id)
    added = pages.write(conn, broadcast_id, ids, page=page)
    pages.fill(conn, now, at_once, broadcast_id=broadcast_id)
    return added


def start_broadcast(
    conn: Connection,
    announcement_id: int,
    audience: Audience,
    key: str,
    scheduled_for: datetime,
    now: datetime,
    *,
    schedule_id: int | None = None,
    created_by: str | None = None,
    queue: bool = True,
) -> tuple[int | None, int]:
    """Create the broadcast ``key`` and queue its deliveries, in the caller's transaction.

    Returns ``(broadcast id, deliveries queued)``, or ``(None, 0)`` when a broadcast with
    ``key`` exists already (a schedule fired twice for the same time). A broadcast whose
    audience is empty, or with ``queue`` false (none of its channels can send), is ``done``
    at once.
    """
    broadcast_id = create_broadcast(
        conn, announcement_id, audience, key, scheduled_for, now, schedule_id
    )
    if broadcast_id is None:
        return None, 0
    queued = queue_deliveries(conn, broadcast_id, audience, now) if queue else 0
    values: dict[str, object] = {"created_by": created_by}
    if queued == 0:
        values |= {"status": "done", "finished_at": now}
    conn.execute(_broadcasts.update().where(_broadcasts.c.id == broadcast_id).values(**values))
    return broadcast_id, queued


def mark_missed(conn: Connection, broadcast_id: int, now: datetime, *, created_by: str) -> None:
    """The broadcast was never sent: ``missed`` (its run came too late; see
    :func:`bot.store.schedules.record_missed`)."""
    require_aware(now)
    conn.execute(
        update(_broadcasts)
        .where(_broadcasts.c.id == broadcast_id)
        .values(status="missed", created_by=created_by, finished_at=now)
    )


def finish_broadcasts(conn: Connection, now: datetime) -> list[int]:
    """Mark ``done`` every ``queued`` or ``sending`` broadcast with no delivery left to send
    (none ``pending`` or ``sending``, no recipient left in its pages); their ids."""
    require_aware(now)
    b, d = _broadcasts, _deliveries
    open_rows = exists().where(d.c.broadcast_id == b.c.id, d.c.status.in_(("pending", "sending")))
    ids = list(
        conn.execute(
            update(b)
            .where(b.c.status.in_(_OPEN), ~open_rows, ~pages.any_left(b.c.id))
            .values(status="done", finished_at=now, updated_at=now)
            .returning(b.c.id)
        ).scalars()
    )
    return sorted(ids)


def cancel(conn: Connection, broadcast_id: int, by: str, now: datetime) -> bool:
    """Stop a ``queued`` or ``sending`` broadcast: its ``pending`` deliveries become ``skipped``
    (reason :data:`CANCELLED`), it becomes ``cancelled``. Rows already being sent finish as
    they will. False when there is no such broadcast or it had already ended.
    """
    require_aware(now)
    b, d = _broadcasts, _deliveries
    stopped = conn.execute(
        update(b)
        .where(b.c.id == broadcast_id, b.c.status.in_(_OPEN))
        .values(status="cancelled", finished_at=now, cancelled_by=by, updated_at=now)
    )
    if stopped.rowcount == 0:
        return False
    pages.hold(conn, broadcast_id)  # rows a fill is writing now are skipped below too
    conn.execute(
        update(d)
        .where(and_(d.c.broadcast_id == broadcast_id, d.c.status == "pending"))
        .values(status="skipped", error=CANCELLED, updated_at=now)
    )
    return True


@dataclass(frozen=True, slots=True)
class BroadcastRow:
    """A broadcast with its announcement's title, as lists and reports show it."""

    id: int
    title: str
    status: str
    scheduled_for: datetime
    created_by: str | None
    cancelled_by: str | None
    finished_at: datetime | None
    schedule_id: int | None


def list_broadcasts(
    conn: Connection,
    *,
    limit: int | None = None,
    broadcast_id: int | None = None,
    in_flight: bool = False,
    before: int | None = None,
) -> list[BroadcastRow]:
    """Broadcasts newest first (at most ``limit``; only those older than the broadcast id
    ``before``, for the next page), or the one ``broadcast_id``; with ``in_flight``, only
    those still queued or sending."""
    b, a = _broadcasts, _announcements
    stmt = (
        select(
            b.c.id,
            a.c.title,
            b.c.status,
            b.c.scheduled_for,
            b.c.created_by,
            b.c.cancelled_by,
            b.c.finished_at,
            b.c.schedule_id,
        )
        .join(a, a.c.id == b.c.announcement_id)
        .order_by(b.c.id.desc())
    )
    if broadcast_id is not None:
        stmt = stmt.where(b.c.id == broadcast_id)
    if in_flight:
        stmt = stmt.where(b.c.status.in_(_OPEN))
    if before is not None:
        stmt = stmt.where(b.c.id < before)
    if limit is not None:
        stmt = stmt.limit(max(limit, 0))
    return [BroadcastRow(*row) for row in conn.execute(stmt)]


@dataclass(frozen=True, slots=True)
class Tally:
    """``n`` deliveries of one broadcast with this status and channel; ``reason`` is the
    error of failed and skipped rows (``"unknown"`` when none was recorded), else None."""

    broadcast_id: int
    status: str
    channel: str
    reason: str | None
    n: int


def tallies(conn: Connection, broadcast_ids: Sequence[int]) -> list[Tally]:
    """Delivery counts of the broadcasts by status, channel and (failed, skipped) reason.

    One statement: by status and channel from the ``(broadcast_id, status, channel)`` index
    alone, the failed and skipped rows (the only ones read) by their error, and the paged
    recipients (``pending``; a cancelled broadcast's skipped, cancelled)."""
    if not broadcast_ids:
        return []
    d = _deliveries
    ids = d.c.broadcast_id.in_(list(broadcast_ids))
    with_reason = ("failed", "skipped")
    counts = (
        select(d.c.broadcast_id, d.c.status, d.c.channel, cast(null(), String), func.count())
        .where(ids, d.c.status.not_in(with_reason))
        .group_by(d.c.broadcast_id, d.c.status, d.c.channel)
    )
    reason = func.coalesce(d.c.error, "unknown")
    reasons = (
        select(d.c.broadcast_id, d.c.status, d.c.channel, reason, func.count())
        .where(ids, d.c.status.in_(with_reason))
        .group_by(d.c.broadcast_id, d.c.status, d.c.channel, reason)
    )
    found: dict[tuple[int, str, str, str | None], int] = {}
    for b, status, channel, why, n in conn.execute(
        union_all(counts, reasons, pages.tally(broadcast_ids, CANCELLED))
    ):
        key = (int(b), status, channel, why)
        found[key] = found.get(key, 0) + int(n)
    return [Tally(*key, n) for key, n in found.items()]


def status_counts(conn: Connection, broadcast_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Delivery counts of the broadcasts by status alone, paged recipients counted as
    ``pending`` (a cancelled broadcast's as ``skipped``); broadcasts with neither left out.
    One statement, the deliveries read from the ``(broadcast_id, status)`` index only, so a
    page of them is cheap where :func:`tallies` (channels and reasons too) reads more."""
    if not broadcast_ids:
        return {}
    d = _deliveries
    rows = select(d.c.broadcast_id, d.c.status, func.count().label("n")).where(
        d.c.broadcast_id.in_(list(broadcast_ids))
    )
    paged = pages.tally(broadcast_ids, CANCELLED).subquery()
    counts: dict[int, dict[str, int]] = {}
    for broadcast_id, status, n in conn.execute(
        union_all(
            rows.group_by(d.c.broadcast_id, d.c.status),
            select(paged.c.broadcast_id, paged.c.status, paged.c.n),
        )
    ):
        by_status = counts.setdefault(int(broadcast_id), {})
        by_status[status] = by_status.get(status, 0) + int(n)
    return counts


@dataclass(frozen=True, slots=True)
class SmsAccepted:
    """``n`` SMS of one broadcast that the provider accepted (``sent_at`` set: they are
    charged), to subscribers whose language is now ``language``, with the announcement's
    texts, from which their segments are counted."""

    broadcast_id: int
    language: str
    text_en: str
    text_ur: str | None
    text_ur_latn: str | None
    n: int


def sms_accepted(conn: Connection, broadcast_ids: Sequence[int]) -> list[SmsAccepted]:
    """The broadcasts' accepted SMS by recipient language.

    Read from the partial index ``ix_deliveries_sms_accepted`` (only SMS already sent are in
    it; its condition is repeated here with literals, so the planner may use it), counted
    per language in one pass per broadcast; the texts are read once per broadcast after."""
    if not broadcast_ids:
        return []
    d, c, b, a = _deliveries, _contacts, _broadcasts, _announcements
    counted = (
        select(d.c.broadcast_id, *_by_language())
        .select_from(
            d.join(c, c.c.id == d.c.contact_id).join(
                _subscribers, _subscribers.c.id == c.c.subscriber_id
            )
        )
        .where(d.c.broadcast_id.in_(list(broadcast_ids)), text(SMS_ACCEPTED_OF_D))
        .group_by(d.c.broadcast_id)
    )
    counts = {row[0]: row[1:] for row in conn.execute(counted)}
    if not counts:
        return []
    texts = (
        select(b.c.id, a.c.text_en, a.c.text_ur, a.c.text_ur_latn)
        .join(a, a.c.id == b.c.announcement_id)
        .where(b.c.id.in_(sorted(counts)))
    )
    found = []
    for broadcast_id, text_en, text_ur, text_ur_latn in conn.execute(texts):
        for lang, n in zip(LANGS, counts[broadcast_id], strict=True):
            if n:
                found.append(SmsAccepted(broadcast_id, lang, text_en, text_ur, text_ur_latn, n))
    return found


def progress(conn: Connection, broadcast_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """What live progress shows: :func:`status_counts`, with every broadcast asked about
    (an empty count for one with nothing)."""
    counts = status_counts(conn, broadcast_ids)
    return {int(i): counts.get(int(i), {}) for i in broadcast_ids}
