"""What the coordinators' commands read and write, as synchronous Core on a ``Connection``.

Announcements, schedules and the per-broadcast delivery counts behind reports. Run them
through :class:`bot.store.units.Units`; none of them commits, and ``now`` must be
timezone-aware. Counts are ``GROUP BY`` queries: a report never loads deliveries one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Select,
    String,
    Table,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)

from bot.store.models import Announcement, Broadcast, Delivery, Schedule
from bot.store.sql import require_aware

_announcements = cast(Table, Announcement.__table__)
_schedules = cast(Table, Schedule.__table__)
_broadcasts = cast(Table, Broadcast.__table__)
_deliveries = cast(Table, Delivery.__table__)

CANCELLED = "cancelled"  # deliveries.error of the rows a cancel skipped
_OPEN = ("queued", "sending")  # broadcast statuses a cancel still applies to


def create_announcement(
    conn: Connection,
    title: str,
    text_en: str,
    text_ur: str | None,
    topics: Sequence[str],
    now: datetime,
) -> int:
    """A new announcement's id."""
    require_aware(now)
    aid: int = conn.execute(
        insert(_announcements)
        .values(
            title=title,
            text_en=text_en,
            text_ur=text_ur,
            topics=list(topics),
            created_at=now,
            updated_at=now,
        )
        .returning(_announcements.c.id)
    ).scalar_one()
    return aid


def create_schedule(
    conn: Connection,
    announcement_id: int,
    rule: dict[str, Any],
    audience: dict[str, Any],
    now: datetime,
    *,
    created_by: str | None,
) -> int:
    """A new, enabled schedule's id (``rule`` and ``audience`` in their stored JSON form)."""
    require_aware(now)
    sid: int = conn.execute(
        insert(_schedules)
        .values(
            announcement_id=announcement_id,
            rule=rule,
            audience=audience,
            enabled=True,
            created_by=created_by,
            created_at=now,
            updated_at=now,
        )
        .returning(_schedules.c.id)
    ).scalar_one()
    return sid


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    """A schedule with its announcement; ``missed`` are the ``scheduled_for`` of its missed
    broadcasts, oldest first."""

    id: int
    title: str
    text_en: str
    enabled: bool
    rule: dict[str, Any]
    audience: dict[str, Any]
    last_fired_at: datetime | None
    created_by: str | None
    missed: tuple[datetime, ...]


def schedules(conn: Connection, schedule_id: int | None = None) -> list[ScheduleRow]:
    """Every schedule (or just ``schedule_id``, empty when unknown), by id."""
    s, a, b = _schedules, _announcements, _broadcasts
    stmt = select(
        s.c.id,
        a.c.title,
        a.c.text_en,
        s.c.enabled,
        s.c.rule,
        s.c.audience,
        s.c.last_fired_at,
        s.c.created_by,
    ).join(a, a.c.id == s.c.announcement_id)
    missed = select(b.c.schedule_id, b.c.scheduled_for).where(
        b.c.status == "missed", b.c.schedule_id.is_not(None)
    )
    if schedule_id is not None:
        stmt = stmt.where(s.c.id == schedule_id)
        missed = missed.where(b.c.schedule_id == schedule_id)
    by_schedule: dict[int, list[datetime]] = {}
    for sid, when in conn.execute(missed.order_by(b.c.scheduled_for, b.c.id)):
        by_schedule.setdefault(sid, []).append(when)
    return [
        ScheduleRow(
            id=row.id,
            title=row.title,
            text_en=row.text_en,
            enabled=bool(row.enabled),
            rule=row.rule,
            audience=row.audience,
            last_fired_at=row.last_fired_at,
            created_by=row.created_by,
            missed=tuple(by_schedule.get(row.id, ())),
        )
        for row in conn.execute(stmt.order_by(s.c.id))
    ]


def set_enabled(conn: Connection, schedule_id: int, enabled: bool, now: datetime) -> bool:
    """Pause or resume a schedule; False when there is no such schedule.

    ``updated_at`` moves to ``now`` even when nothing changes, so runs that fell due while it
    was paused are never sent late (the scheduler counts missed runs from there).
    """
    require_aware(now)
    result = conn.execute(
        update(_schedules)
        .where(_schedules.c.id == schedule_id)
        .values(enabled=enabled, updated_at=now)
    )
    return result.rowcount > 0


def delete_schedule(conn: Connection, schedule_id: int) -> bool:
    """Delete a schedule, and its announcement unless a broadcast or another schedule uses it.

    Its past broadcasts stay (their ``schedule_id`` becomes NULL). False when unknown.
    """
    s, a, b = _schedules, _announcements, _broadcasts
    announcement_id = conn.execute(
        select(s.c.announcement_id).where(s.c.id == schedule_id)
    ).scalar_one_or_none()
    if announcement_id is None:
        return False
    conn.execute(delete(s).where(s.c.id == schedule_id))
    conn.execute(
        delete(a).where(
            a.c.id == announcement_id,
            ~exists().where(b.c.announcement_id == announcement_id),
            ~exists().where(s.c.announcement_id == announcement_id),
        )
    )
    return True


@dataclass(frozen=True, slots=True)
class BroadcastRow:
    id: int
    title: str
    status: str
    scheduled_for: datetime
    created_by: str | None
    cancelled_by: str | None
    finished_at: datetime | None
    schedule_id: int | None


@dataclass(frozen=True, slots=True)
class Tally:
    """``n`` deliveries of one broadcast with this status and channel; ``reason`` is the
    error of failed and skipped rows (``"unknown"`` when none was recorded), else None."""

    broadcast_id: int
    status: str
    channel: str
    reason: str | None
    n: int


def _broadcast_rows(conn: Connection, stmt: Select[Any]) -> list[BroadcastRow]:
    return [
        BroadcastRow(
            id=row.id,
            title=row.title,
            status=row.status,
            scheduled_for=row.scheduled_for,
            created_by=row.created_by,
            cancelled_by=row.cancelled_by,
            finished_at=row.finished_at,
            schedule_id=row.schedule_id,
        )
        for row in conn.execute(stmt)
    ]


def _broadcast_select() -> Select[Any]:
    b, a = _broadcasts, _announcements
    return select(
        b.c.id,
        a.c.title,
        b.c.status,
        b.c.scheduled_for,
        b.c.created_by,
        b.c.cancelled_by,
        b.c.finished_at,
        b.c.schedule_id,
    ).join(a, a.c.id == b.c.announcement_id)


def broadcasts(
    conn: Connection, *, limit: int | None = None, broadcast_id: int | None = None
) -> list[BroadcastRow]:
    """Broadcasts newest first (at most ``limit``), or the one ``broadcast_id``."""
    stmt = _broadcast_select().order_by(_broadcasts.c.id.desc())
    if broadcast_id is not None:
        stmt = stmt.where(_broadcasts.c.id == broadcast_id)
    if limit is not None:
        stmt = stmt.limit(max(limit, 0))
    return _broadcast_rows(conn, stmt)


def tallies(conn: Connection, broadcast_ids: Sequence[int]) -> list[Tally]:
    """Delivery counts of the broadcasts by status, channel and (failed, skipped) reason."""
    if not broadcast_ids:
        return []
    d = _deliveries
    reason = case(
        (d.c.status.in_(("failed", "skipped")), func.coalesce(d.c.error, "unknown")),
        else_=literal(None, String),
    ).label("reason")
    stmt = (
        select(d.c.broadcast_id, d.c.status, d.c.channel, reason, func.count().label("n"))
        .where(d.c.broadcast_id.in_(list(broadcast_ids)))
        .group_by(d.c.broadcast_id, d.c.status, d.c.channel, reason)
    )
    return [Tally(*row) for row in conn.execute(stmt)]


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
    conn.execute(
        update(d)
        .where(and_(d.c.broadcast_id == broadcast_id, d.c.status == "pending"))
        .values(status="skipped", error=CANCELLED, updated_at=now)
    )
    return True
