"""The outboxes' backlog: what waits to be sent and for how long, read from the database so
that every web process answers ``/metrics`` and ``/healthz`` alike, whichever one sends.

* Announcements (``deliveries``), per channel: ``pending`` rows already due (``waiting``),
  ``pending`` rows due later (``later``: quiet hours, a retry's backoff, the daily cap),
  ``sending`` rows (``in_flight``), and the due time of the oldest waiting one. The counts
  read the claim's index ``(channel, status, next_attempt_at, id)`` alone, one range per
  channel and status: the cost grows with the backlog, never with the rows already sent.
* Replies (outbound ``messages`` still ``queued``), per channel: due now (``waiting``: a
  retry whose backoff is over, or a claim whose process died) or not (``later``: being sent
  under its lease, or backing off); by the index ``(status, next_attempt_at)``.

A read, nothing written: run it with :meth:`bot.store.units.Units.read`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Connection, case, cast, func, literal, null, select, union_all
from sqlalchemy.sql.expression import ColumnElement

from bot.core.decision import Channel
from bot.store import pages
from bot.store.models import CHANNELS, require_aware
from bot.store.tables import deliveries as _deliveries
from bot.store.tables import messages as _messages

Outbox = Literal["deliveries", "replies"]
OUTBOXES: tuple[Outbox, ...] = ("deliveries", "replies")


@dataclass(frozen=True, slots=True)
class Queue:
    """One outbox of one channel at one time."""

    waiting: int = 0  # due now, not claimed
    later: int = 0  # due later (or, for a reply, claimed)
    in_flight: int = 0  # claimed, being sent (announcements)
    oldest_due: datetime | None = None  # when the oldest waiting one fell due

    def oldest_age(self, now: datetime) -> float:
        """Seconds the oldest waiting one has waited since it fell due; 0 when none waits."""
        if self.oldest_due is None:
            return 0.0
        return max(0.0, (now - self.oldest_due).total_seconds())


Backlog = dict[tuple[Outbox, Channel], Queue]


def read(conn: Connection, now: datetime) -> Backlog:
    """Every outbox of every channel at ``now`` (empty ones too)."""
    require_aware(now)
    counts: Counter[tuple[Outbox, Channel, str]] = Counter()
    oldest: dict[tuple[Outbox, Channel], datetime] = {}
    d = _deliveries
    # Grouped by the index's own leading columns, so rows are read in its order and never
    # sorted; the oldest of a group is due when any of it is.
    queued = (
        select(
            d.c.channel,
            d.c.status,
            func.count(),
            _due(d.c.next_attempt_at, now),
            func.min(d.c.next_attempt_at),
        )
        .where(d.c.channel.in_(CHANNELS), d.c.status.in_(("pending", "sending")))
        .group_by(d.c.channel, d.c.status)
    )
    # A large broadcast's recipients still in pages wait their turn (later): they are written
    # as deliveries, and fall due, as the dispatcher runs short. In the same statement, so a
    # fill committing meanwhile is counted once.
    paged = pages.waiting().subquery()
    rows = conn.execute(
        union_all(
            queued,
            select(
                paged.c.channel,
                literal("paged"),
                paged.c.n,
                literal(0),
                cast(null(), d.c.next_attempt_at.type),
            ),
        )
    )
    for channel, status, count, due, first in rows:
        if status == "paged":
            counts["deliveries", channel, "later"] += int(count)
            continue
        if status == "sending":
            counts["deliveries", channel, "in_flight"] += count
            continue
        counts["deliveries", channel, "waiting"] += due
        counts["deliveries", channel, "later"] += count - due
        if due:
            oldest["deliveries", channel] = first
    m = _messages
    rows = conn.execute(
        select(
            m.c.channel, func.count(), _due(m.c.next_attempt_at, now), func.min(m.c.next_attempt_at)
        )
        .where(m.c.status == "queued")
        .group_by(m.c.channel)
    )
    for channel, count, due, first in rows:
        counts["replies", channel, "waiting"] += due
        counts["replies", channel, "later"] += count - due
        if due:
            oldest["replies", channel] = first
    return {
        (box, channel): Queue(
            waiting=counts[box, channel, "waiting"],
            later=counts[box, channel, "later"],
            in_flight=counts[box, channel, "in_flight"],
            oldest_due=oldest.get((box, channel)),
        )
        for box in OUTBOXES
        for channel in CHANNELS
    }


def _due(column: ColumnElement[datetime], now: datetime) -> ColumnElement[int]:
    """How many of the group are due at ``now``."""
    return func.coalesce(func.sum(case((column <= now, 1), else_=0)), 0)
