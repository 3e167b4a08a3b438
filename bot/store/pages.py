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

Until filled, a page's recipients count as waiting (``pending``) wherever a broadcast's
deliveries are counted (:func:`counts`, :func:`waiting`); a cancelled broadcast's pages are
never filled and count as skipped, cancelled. The dispatcher checks each contact right
before it sends (opted out, gone), as for every delivery, so a page holds nobody back from
opting out.
"""

from __future__ import annotations

import math
import sys
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, Exists, and_, delete, exists, func, select

from bot.core.decision import Channel
from bot.store.models import require_aware
from bot.store.tables import broadcasts as _broadcasts
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

    On PostgreSQL pages another transaction is filling are skipped (``SKIP LOCKED``)."""
    require_aware(now)
    p, b = _pages, _broadcasts
    pages = (
        select(p.c.broadcast_id, p.c.channel, p.c.seq, p.c.contact_ids)
        .join(b, b.c.id == p.c.broadcast_id)
        .where(b.c.status.in_(_OPEN))
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
    if not found:
        return 0
    rows = [
        {
            "broadcast_id": bid,
            "contact_id": contact_id,
            "channel": page_channel,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for bid, page_channel, _, blob in found
        for contact_id in unpack(blob)
    ]
    d = _deliveries
    conn.execute(
        insert_ignoring(conn.dialect.name, d).on_conflict_do_nothing(
            index_elements=["broadcast_id", "contact_id"]
        ),
        rows,
    )
    for bid, page_channel, seq, _ in found:
        conn.execute(
            delete(p).where(p.c.broadcast_id == bid, p.c.channel == page_channel, p.c.seq == seq)
        )
    return len(rows)


@dataclass(frozen=True, slots=True)
class Paged:
    """``n`` recipients of one broadcast on one channel still in pages; ``cancelled`` when
    the broadcast was cancelled (they will never be written)."""

    broadcast_id: int
    channel: Channel
    n: int
    cancelled: bool


def counts(conn: Connection, broadcast_ids: Sequence[int]) -> list[Paged]:
    """The broadcasts' paged recipients by channel (none for a broadcast without pages)."""
    if not broadcast_ids:
        return []
    p, b = _pages, _broadcasts
    rows = conn.execute(
        select(p.c.broadcast_id, p.c.channel, func.sum(p.c.n), b.c.status)
        .join(b, b.c.id == p.c.broadcast_id)
        .where(p.c.broadcast_id.in_(list(broadcast_ids)))
        .group_by(p.c.broadcast_id, p.c.channel, b.c.status)
    )
    return [Paged(bid, channel, int(n), status == "cancelled") for bid, channel, n, status in rows]


def waiting(conn: Connection) -> dict[Channel, tuple[int, datetime]]:
    """Paged recipients of open broadcasts by channel, with when the earliest of those
    broadcasts was queued (they have been due since)."""
    p, b = _pages, _broadcasts
    rows = conn.execute(
        select(p.c.channel, func.sum(p.c.n), func.min(b.c.created_at))
        .join(b, and_(b.c.id == p.c.broadcast_id, b.c.status.in_(_OPEN)))
        .group_by(p.c.channel)
    )
    return {channel: (int(n), since) for channel, n, since in rows}


def any_left(broadcast_id: ColumnElement[int]) -> Exists:
    """Whether the broadcast whose id is ``broadcast_id`` has pages left (for a WHERE)."""
    return exists().where(_pages.c.broadcast_id == broadcast_id)
