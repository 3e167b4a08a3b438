"""The outbox's lifecycle, as synchronous Core on a ``Connection``.

(Over 400 lines on purpose: the claim and every way out of ``sending`` are one state
machine whose guards, ``status == 'sending'`` and the claim's attempt, must agree; they are
read and changed together. :mod:`bot.store.batches` holds the same guards for a batch of
claims: the read right before each send and the outcomes of the sends, on PostgreSQL one
statement a batch.)

Run them through :class:`bot.store.units.Units`; none of them commits, and every datetime
must be timezone-aware.

``pending`` rows that are due are :func:`claim`-ed (``sending``, under a lease, one attempt
counted) and end with :func:`finish` (``sent`` or ``failed``), :func:`retry` (back to
``pending`` later), :func:`defer` (back to ``pending`` without counting the attempt) or
:func:`skip`. A row left ``sending`` past its lease (its dispatcher died) is returned to
``pending`` by the next :func:`claim` of its channel. Every transition out of ``sending``
changes only a row that is still ``sending``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.sql.expression import ColumnElement

from bot.core.catalog import Lang
from bot.core.decision import Channel, ContactStatus
from bot.store import epochs, pages
from bot.store.epochs import Fenced
from bot.store.models import require_aware
from bot.store.prepared import Prepared
from bot.store.tables import announcements as _announcements
from bot.store.tables import broadcasts as _broadcasts
from bot.store.tables import contacts as _contacts
from bot.store.tables import deliveries as _deliveries
from bot.store.tables import subscribers as _subscribers


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery claimed for sending, with what sending it needs.

    ``contact_status`` is read in the claiming transaction; ``attempts`` counts this one;
    ``epoch`` is the claiming worker's (:mod:`bot.store.epochs`), None for an unfenced claim.
    """

    delivery_id: int
    broadcast_id: int
    contact_id: int
    subscriber_id: int
    address: str
    contact_status: ContactStatus
    language: Lang | None
    text_en: str
    text_ur: str | None
    attempts: int
    cancelled: bool = False
    text_ur_latn: str | None = None
    epoch: int | None = None


def claim(
    conn: Connection,
    channel: Channel,
    now: datetime,
    limit: int,
    lease: timedelta,
    *,
    epoch: int | None = None,
) -> list[Claimed]:
    """Claim up to ``limit`` due ``pending`` deliveries of ``channel``, oldest id first.

    Rows of the channel stuck in ``sending`` past their lease are returned to ``pending``
    first, so they are claimed again. When fewer than ``limit`` are due, paged recipients of
    the channel are written as deliveries (:func:`bot.store.pages.fill`) and claimed too. On
    PostgreSQL rows locked by another claimer are skipped (``FOR UPDATE SKIP LOCKED``);
    SQLite has one writer at a time. Their broadcasts move from ``queued`` to ``sending``. A
    row whose broadcast was cancelled while it was in flight (and came back to ``pending`` by
    a retry or an expired lease) is claimed with ``cancelled`` set, for the caller to skip.

    With ``epoch`` (the claiming worker's, :mod:`bot.store.epochs`) both statements change
    rows only while it is still the current epoch, checked in the statement itself; when it
    is not, nothing is claimed and :class:`~bot.store.epochs.Fenced` is raised.
    """
    require_aware(now)
    d, b = _deliveries, _broadcasts
    fence = () if epoch is None else (epochs.is_current(epoch),)
    conn.execute(
        update(d)
        .where(d.c.channel == channel, d.c.status == "sending", d.c.lease_until < now, *fence)
        .values(status="pending", lease_until=None, updated_at=now)
    )
    if limit <= 0:
        return []
    ids = _take_due(conn, channel, now, limit, lease, fence)
    if len(ids) < limit and pages.fill(conn, now, pages.FILL, channel=channel):
        ids += _take_due(conn, channel, now, limit - len(ids), lease, fence)
    if not ids:
        if epoch is not None and epochs.current(conn) != epoch:
            raise Fenced(epoch)
        return []
    c, s, a = _contacts, _subscribers, _announcements
    rows = conn.execute(
        select(
            d.c.id,
            d.c.broadcast_id,
            d.c.contact_id,
            c.c.subscriber_id,
            c.c.address,
            c.c.status,
            s.c.language,
            a.c.text_en,
            a.c.text_ur,
            d.c.attempts,
            b.c.status,
            a.c.text_ur_latn,
        )
        .join(c, c.c.id == d.c.contact_id)
        .join(s, s.c.id == c.c.subscriber_id)
        .join(b, b.c.id == d.c.broadcast_id)
        .join(a, a.c.id == b.c.announcement_id)
        .where(d.c.id.in_(ids))
        .order_by(d.c.id)
    )
    claimed = [
        Claimed(
            delivery_id=row[0],
            broadcast_id=row[1],
            contact_id=row[2],
            subscriber_id=row[3],
            address=row[4],
            contact_status=row[5],
            language=row[6],
            text_en=row[7],
            text_ur=row[8],
            attempts=row[9],
            cancelled=row[10] == "cancelled",
            text_ur_latn=row[11],
            epoch=epoch,
        )
        for row in rows
    ]
    started = sorted({c.broadcast_id for c in claimed})
    conn.execute(
        update(b)
        .where(b.c.id.in_(started), b.c.status == "queued")
        .values(status="sending", updated_at=now)
    )
    return claimed


def _take_due(
    conn: Connection,
    channel: Channel,
    now: datetime,
    limit: int,
    lease: timedelta,
    fence: tuple[ColumnElement[bool], ...],
) -> list[int]:
    """Mark up to ``limit`` due ``pending`` rows of ``channel`` ``sending``; their ids."""
    d = _deliveries
    # Earliest due first, in the order of the (channel, status, next_attempt_at, id) index, so
    # a claim reads only the rows it takes however long the backlog.
    due = (
        select(d.c.id)
        .where(d.c.channel == channel, d.c.status == "pending", d.c.next_attempt_at <= now)
        .order_by(d.c.next_attempt_at, d.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    return list(
        conn.execute(
            update(d)
            .where(d.c.id.in_(due.scalar_subquery()), *fence)
            .values(
                status="sending",
                lease_until=now + lease,
                attempts=d.c.attempts + 1,
                updated_at=now,
            )
            .returning(d.c.id)
        ).scalars()
    )


# Every move out of ``sending`` happens once per send, so its statements are prepared (see
# bot.store.prepared): two forms each, without and with the claim's ``attempt`` as a check.
def _leaving(values: dict[str, object]) -> tuple[Prepared, Prepared]:
    d = _deliveries
    base = (
        update(d)
        .where(d.c.id == bindparam("delivery_id"), d.c.status == "sending")
        .values(lease_until=None, **values)
    )
    return Prepared(base), Prepared(base.where(d.c.attempts == bindparam("attempt")))


_NOW = bindparam("now", type_=_deliveries.c.updated_at.type)
_FINISH = _leaving(
    {
        "status": bindparam("to_status", type_=_deliveries.c.status.type),
        "provider_id": bindparam("provider_id", type_=_deliveries.c.provider_id.type),
        "error": bindparam("error", type_=_deliveries.c.error.type),
        "updated_at": _NOW,
        "sent_at": bindparam("sent_at", type_=_deliveries.c.sent_at.type),
    }
)
_RETRY = _leaving(
    {
        "status": "pending",
        "next_attempt_at": bindparam("next_attempt_at", type_=_deliveries.c.next_attempt_at.type),
        "error": bindparam("error", type_=_deliveries.c.error.type),
        "updated_at": _NOW,
    }
)
_UNCOUNTED: ColumnElement[int] = _deliveries.c.attempts - 1  # nothing was tried
_DEFER = _leaving(
    {
        "status": "pending",
        "next_attempt_at": bindparam("next_attempt_at", type_=_deliveries.c.next_attempt_at.type),
        "attempts": _UNCOUNTED,
        "updated_at": _NOW,
    }
)
_SKIP = _leaving(
    {
        "status": "skipped",
        "error": bindparam("error", type_=_deliveries.c.error.type),
        "attempts": _UNCOUNTED,
        "updated_at": _NOW,
    }
)


def _leave_sending(
    conn: Connection,
    forms: tuple[Prepared, Prepared],
    delivery_id: int,
    attempt: int | None,
    **params: object,
) -> bool:
    """Move a ``sending`` row on; with ``attempt``, only if it is still that claim (a row
    claimed again since, after its lease ran out, belongs to the newer claim)."""
    params["delivery_id"] = delivery_id
    if attempt is None:
        return forms[0].rowcount(conn, params) > 0
    params["attempt"] = attempt
    return forms[1].rowcount(conn, params) > 0


def finish(
    conn: Connection,
    delivery_id: int,
    status: Literal["sent", "failed"],
    now: datetime,
    *,
    provider_id: str | None = None,
    error: str | None = None,
    attempt: int | None = None,
) -> bool:
    """Record the outcome of a send; False when the row was no longer ``sending`` (or, with
    ``attempt``, no longer that claim)."""
    require_aware(now)
    return _leave_sending(
        conn,
        _FINISH,
        delivery_id,
        attempt,
        to_status=status,
        provider_id=provider_id,
        error=error,
        now=now,
        sent_at=now if status == "sent" else None,
    )


def retry(
    conn: Connection,
    delivery_id: int,
    next_attempt_at: datetime,
    error: str,
    *,
    now: datetime | None = None,
    attempt: int | None = None,
) -> bool:
    """Back to ``pending``, due at ``next_attempt_at``, keeping the attempt it cost."""
    require_aware(next_attempt_at)
    return _leave_sending(
        conn,
        _RETRY,
        delivery_id,
        attempt,
        next_attempt_at=next_attempt_at,
        error=error,
        now=now or next_attempt_at,
    )


def defer(
    conn: Connection,
    delivery_id: int,
    next_attempt_at: datetime,
    now: datetime,
    *,
    attempt: int | None = None,
) -> bool:
    """Back to ``pending`` until ``next_attempt_at`` without counting the claim as an attempt
    (quiet hours, the daily cap: nothing was tried); with ``attempt``, only if the row is
    still that claim."""
    require_aware(next_attempt_at)
    require_aware(now)
    return _leave_sending(
        conn, _DEFER, delivery_id, attempt, next_attempt_at=next_attempt_at, now=now
    )


def skip(
    conn: Connection,
    delivery_id: int,
    reason: str,
    *,
    now: datetime,
    attempt: int | None = None,
) -> bool:
    """The contact may not be sent to: ``skipped`` with ``reason``; nothing was tried, so the
    claim's attempt is not counted."""
    require_aware(now)
    return _leave_sending(conn, _SKIP, delivery_id, attempt, error=reason, now=now)


def defer_due(conn: Connection, channel: Channel, now: datetime, until: datetime) -> int:
    """Every ``pending`` row of ``channel`` due by ``now`` waits until ``until`` (quiet hours),
    in one statement, attempts untouched; how many."""
    require_aware(now)
    require_aware(until)
    d = _deliveries
    result = conn.execute(
        update(d)
        .where(d.c.channel == channel, d.c.status == "pending", d.c.next_attempt_at <= now)
        .values(next_attempt_at=until, updated_at=now)
    )
    return max(result.rowcount, 0)


def recent_announcements(
    conn: Connection, subscriber_ids: Collection[int], since: datetime, exclude: Collection[int]
) -> dict[int, tuple[set[int], datetime | None]]:
    """For each subscriber: the broadcasts they were sent after ``since`` or that are being sent
    to them now (``sending``, other than the deliveries in ``exclude``), and the oldest send
    time among them. A broadcast sent on both channels counts once.
    """
    require_aware(since)
    if not subscriber_ids:
        return {}
    d, c = _deliveries, _contacts
    rows = conn.execute(
        select(c.c.subscriber_id, d.c.broadcast_id, func.min(d.c.sent_at))
        .join(c, c.c.id == d.c.contact_id)
        .where(
            c.c.subscriber_id.in_(sorted(subscriber_ids)),
            or_(
                d.c.sent_at > since,
                and_(d.c.status == "sending", d.c.id.not_in(sorted(exclude))),
            ),
        )
        .group_by(c.c.subscriber_id, d.c.broadcast_id)
    )
    out: dict[int, tuple[set[int], datetime | None]] = {}
    for subscriber_id, broadcast_id, sent_at in rows:
        broadcasts, oldest = out.get(subscriber_id, (set(), None))
        broadcasts.add(broadcast_id)
        if sent_at is not None and (oldest is None or sent_at < oldest):
            oldest = sent_at
        out[subscriber_id] = (broadcasts, oldest)
    return out


# A delivery report may move a row only forward: sent -> delivered | failed.
_REPORTABLE: dict[str, tuple[str, ...]] = {"delivered": ("sent",), "failed": ("sent",)}


def report(
    conn: Connection,
    channel: Channel,
    provider_id: str,
    status: Literal["delivered", "failed"],
    now: datetime,
    *,
    error: str | None = None,
) -> int | None:
    """Apply a provider's delivery report to the delivery it calls ``provider_id``.

    Returns the delivery's contact id when a row moved, None when no ``sent`` delivery of
    ``channel`` has that id (a reply rather than an announcement, or a late or repeated report).
    """
    require_aware(now)
    d = _deliveries
    values: dict[str, object] = {"status": status, "updated_at": now}
    if status == "failed":
        values["error"] = error or "failed (provider report)"
    contact_id: int | None = (
        conn.execute(
            update(d)
            .where(
                d.c.channel == channel,
                d.c.provider_id == provider_id,
                d.c.status.in_(_REPORTABLE[status]),
            )
            .values(**values)
            .returning(d.c.contact_id)
        )
        .scalars()
        .first()
    )
    return contact_id


def contact_of_delivery(conn: Connection, channel: Channel, provider_id: str) -> int | None:
    """The contact a delivery with this provider id went to, if any."""
    d = _deliveries
    contact_id: int | None = conn.execute(
        select(d.c.contact_id)
        .where(d.c.channel == channel, d.c.provider_id == provider_id)
        .limit(1)
    ).scalar_one_or_none()
    return contact_id


def release_orphans(conn: Connection, now: datetime) -> int:
    """Return every ``sending`` row to ``pending`` at once, whatever its lease: for the one
    worker that holds the worker lock, at its start, when no other sender can be alive (rows
    left ``sending`` belong to a worker that died). How many came back."""
    require_aware(now)
    d = _deliveries
    result = conn.execute(
        update(d)
        .where(d.c.status == "sending")
        .values(status="pending", lease_until=None, updated_at=now)
    )
    return max(result.rowcount, 0)


@dataclass(frozen=True, slots=True)
class Received:
    """An announcement sent (or meant) to one of a person's contacts: its delivery."""

    delivery_id: int
    broadcast_id: int
    title: str
    contact_id: int
    channel: Channel
    status: str
    error: str | None
    sent_at: datetime | None
    updated_at: datetime


def of_contacts(conn: Connection, contact_ids: list[int], *, limit: int) -> list[Received]:
    """The last ``limit`` deliveries to any of ``contact_ids``, the newest broadcast's first,
    with their announcement's title (a large broadcast's recipient still in one of its pages,
    :mod:`bot.store.pages`, has no delivery to show yet)."""
    if not contact_ids:
        return []
    d, b, a = _deliveries, _broadcasts, _announcements
    rows = conn.execute(
        select(
            d.c.id,
            d.c.broadcast_id,
            a.c.title,
            d.c.contact_id,
            d.c.channel,
            d.c.status,
            d.c.error,
            d.c.sent_at,
            d.c.updated_at,
        )
        .join(b, b.c.id == d.c.broadcast_id)
        .join(a, a.c.id == b.c.announcement_id)
        .where(d.c.contact_id.in_(contact_ids))
        .order_by(d.c.broadcast_id.desc(), d.c.id.desc())
        .limit(limit)
    ).all()
    return [Received(*row) for row in rows]
