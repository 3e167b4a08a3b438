"""A broadcast's recipients not yet written as deliveries: pages of contact ids.

Queueing a broadcast fixes who gets it. A delivery row costs its writer about 25 µs on
PostgreSQL (the row, five indexes, two foreign keys checked row by row): 25 s for an audience
of 1,000,000, in the coordinator's transaction. So :func:`write` keeps the audience as pages
of up to :data:`PAGE` contact ids of one channel (8-byte integers, in contact order), about
4 s for 1,000,000 in one pass over the audience, and :func:`fill` turns pages into
``pending`` deliveries a few thousand at a time: the first :data:`AT_ONCE` when the broadcast
is queued (so an audience of that size or less is all deliveries at once, as before), the
rest whenever the dispatcher's claim for a channel runs short (:func:`bot.store.deliveries.claim`).
A page is deleted in the transaction that writes its deliveries, so no one is written twice
or lost whatever stops when.

Until filled, a page's recipients count as ``pending`` wherever a broadcast's deliveries are
counted (:func:`tally`, in the same statement as the deliveries), and as waiting their turn
in the backlog (:func:`waiting`); a cancelled broadcast's pages are never filled and count
as skipped, cancelled. The dispatcher checks each contact right
before it sends (opted out, gone), as for every delivery, so a page holds nobody back from
opting out.
"""

from __future__ import annotations

import math
import sys
from array import array
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Executable,
    Exists,
    Select,
    String,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    literal,
    null,
    select,
    tuple_,
)

from bot.core.decision import Channel
from bot.store.models import require_aware
from bot.store.tables import broadcasts as _broadcasts
from bot.store.tables import contacts as _contacts
from bot.store.tables import deliveries as _deliveries
from bot.store.tables import insert_ignoring
from bot.store.tables import recipient_pages as _pages

PAGE = 1_000  # contact ids in a page
AT_ONCE = 5_000  # recipients written as deliveries when a broadcast is queued
FILL = 5_000  # recipients written when a channel's claim runs short

_OPEN = ("queued", "sending")
_INSERT_EVERY = 100  # pages in one INSERT while writing


def pack(ids: Sequence[int]) -> bytes:
    """``ids`` as 8-byte little-endian integers (the same bytes on any machine)."""
    packed = array("q", ids)
    if sys.byteorder == "big":  # pragma: no cover - every machine we run on is little-endian
        packed.byteswap()
    return packed.tobytes()


def unpack(blob: bytes) -> list[int]:
    """The ids :func:`pack` packed."""
    ids = array("q")
    ids.frombytes(blob)
    if sys.byteorder == "big":  # pragma: no cover
        ids.byteswap()
    return ids.tolist()


def paged_contacts(conn: Connection, broadcast_id: int) -> set[int]:
    """The contacts in the broadcast's pages: what queueing it again must not page twice."""
    p = _pages
    found: set[int] = set()
    for (blob,) in conn.execute(select(p.c.contact_ids).where(p.c.broadcast_id == broadcast_id)):
        found.update(unpack(blob))
    return found


def write(
    conn: Connection,
    broadcast_id: int,
    recipients: Mapping[Channel, Sequence[int]],
    *,
    page: int = PAGE,
) -> int:
    """Page the contact ids of each channel in ``recipients`` (in contact order), ``page`` to
    a page, for ``broadcast_id``, after any pages it has; how many were paged."""
    p = _pages
    last = conn.execute(
        select(p.c.channel, func.max(p.c.seq))
        .where(p.c.broadcast_id == broadcast_id)
        .group_by(p.c.channel)
    ).all()
    after = {channel: int(seq) for channel, seq in last}
    rows: list[dict[str, object]] = []
    for channel in sorted(recipients):
        ids = recipients[channel]
        for number, start in enumerate(range(0, len(ids), page), after.get(channel, 0) + 1):
            some = ids[start : start + page]
            rows.append(
                {
                    "broadcast_id": broadcast_id,
                    "channel": channel,
                    "seq": number,
                    "contact_ids": pack(some),
                    "n": len(some),
                }
            )
            if len(rows) == _INSERT_EVERY:
                conn.execute(p.insert(), rows)
                rows = []
    if rows:
        conn.execute(p.insert(), rows)
    return sum(len(ids) for ids in recipients.values())


def fill(
    conn: Connection,
    now: datetime,
    most: int,
    *,
    channel: Channel | None = None,
    broadcast_id: int | None = None,
) -> int:
    """Write about ``most`` paged recipients (whole pages, the earliest broadcast's first) of
    open broadcasts as ``pending`` deliveries due ``now``, of ``channel`` or
    ``broadcast_id`` when given, and delete their pages; how many deliveries were written.

    Each page's rows are read from its contacts, in contact order: a contact gone since it
    was paged is left out. On PostgreSQL pages another transaction is filling are skipped
    (``SKIP LOCKED``), and a cancel waits for a fill under way (:func:`hold`)."""
    require_aware(now)
    p, b = _pages, _broadcasts
    open_broadcasts = select(b.c.id).where(b.c.status.in_(_OPEN))
    pages = (
        select(p.c.broadcast_id, p.c.channel, p.c.seq, p.c.contact_ids)
        .where(p.c.broadcast_id.in_(open_broadcasts.scalar_subquery()))
        .order_by(p.c.broadcast_id, p.c.seq, p.c.channel)
        .limit(max(1, math.ceil(most / PAGE)))
    )
    if channel is not None:
        pages = pages.where(p.c.channel == channel)
    if broadcast_id is not None:
        pages = pages.where(p.c.broadcast_id == broadcast_id)
    if conn.dialect.name == "postgresql":
        pages = pages.with_for_update(of=p, skip_locked=True)
    found = conn.execute(pages).all()
    written = 0
    for bid, _, _, blob in found:
        written += conn.execute(_write_page(conn.dialect.name, bid, unpack(blob), now)).rowcount
    if found:
        keys = [(bid, page_channel, seq) for bid, page_channel, seq, _ in found]
        conn.execute(delete(p).where(tuple_(p.c.broadcast_id, p.c.channel, p.c.seq).in_(keys)))
    return written


def _write_page(dialect: str, broadcast_id: int, ids: list[int], now: datetime) -> Executable:
    """``INSERT INTO deliveries … SELECT`` the page's contacts that still exist."""
    c, d = _contacts, _deliveries
    due = literal(now, d.c.created_at.type)
    rows = (
        select(
            literal(broadcast_id, d.c.broadcast_id.type),
            c.c.id,
            c.c.channel,
            literal("pending"),
            literal(0),
            due,
            due,
            due,
        )
        .where(c.c.id.in_(ids))
        .order_by(c.c.id)
    )
    columns = ["broadcast_id", "contact_id", "channel", "status", "attempts"]
    return (
        insert_ignoring(dialect, d)
        .from_select([*columns, "next_attempt_at", "created_at", "updated_at"], rows)
        .on_conflict_do_nothing(index_elements=["broadcast_id", "contact_id"])
    )


def hold(conn: Connection, broadcast_id: int) -> None:
    """Wait for any fill of the broadcast's pages under way to commit, and keep new ones off
    them until this transaction ends (PostgreSQL; SQLite has one writer): for a cancel, whose
    next statement must see every row a fill wrote."""
    p = _pages
    if conn.dialect.name == "postgresql":
        conn.execute(select(p.c.seq).where(p.c.broadcast_id == broadcast_id).with_for_update())


def tally(broadcast_ids: Sequence[int], cancelled_reason: str) -> Select[Any]:
    """The broadcasts' paged recipients as a delivery count would show them, for a ``UNION
    ALL`` with it (one statement, so a fill committing meanwhile is counted once): columns
    ``broadcast_id, status, channel, reason, n``, ``pending`` with no reason, or for a
    cancelled broadcast ``skipped`` with ``cancelled_reason``."""
    p, b = _pages, _broadcasts
    cancelled = b.c.status == "cancelled"
    return (
        select(
            p.c.broadcast_id,
            case((cancelled, "skipped"), else_="pending").label("status"),
            p.c.channel,
            case((cancelled, cancelled_reason), else_=cast(null(), String)).label("reason"),
            func.sum(p.c.n).label("n"),
        )
        .join(b, b.c.id == p.c.broadcast_id)
        .where(p.c.broadcast_id.in_(list(broadcast_ids)))
        .group_by(p.c.broadcast_id, b.c.status, p.c.channel)
    )


def waiting() -> Select[Any]:
    """Paged recipients of open broadcasts by channel (``channel, n``)."""
    p, b = _pages, _broadcasts
    return (
        select(p.c.channel, func.sum(p.c.n).label("n"))
        .join(b, and_(b.c.id == p.c.broadcast_id, b.c.status.in_(_OPEN)))
        .group_by(p.c.channel)
    )


def any_left(broadcast_id: ColumnElement[int]) -> Exists:
    """Whether the broadcast whose id is ``broadcast_id`` has pages left (for a WHERE)."""
    return exists().where(_pages.c.broadcast_id == broadcast_id)
