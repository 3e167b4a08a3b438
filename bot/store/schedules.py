"""Schedules: when an announcement goes out, and each run the scheduler dealt with.

Synchronous Core on a ``Connection``, run through :class:`bot.store.units.Units`; none of
them commits, and ``now`` must be timezone-aware. The coordinators' commands add, list,
pause and delete schedules; the scheduler (:mod:`bot.outreach.scheduler`) reads
:func:`stored_schedules` and starts a run with :func:`fire_schedule` or records it with
:func:`record_missed`. A run's broadcast is keyed by :func:`broadcast_key`, so a double fire
(two processes, a restart in the middle) sends once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, exists, insert, select, update

from bot.core.audience import audience_from_dict
from bot.store.broadcasts import create_broadcast, mark_missed, start_broadcast
from bot.store.models import require_aware
from bot.store.tables import announcements as _announcements
from bot.store.tables import broadcasts as _broadcasts
from bot.store.tables import schedules as _schedules


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
    text_ur: str | None = None
    updated_by: str | None = None
    text_ur_latn: str | None = None


def list_schedules(conn: Connection, schedule_id: int | None = None) -> list[ScheduleRow]:
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
        a.c.text_ur,
        s.c.updated_by,
        a.c.text_ur_latn,
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
            text_ur=row.text_ur,
            updated_by=row.updated_by,
            text_ur_latn=row.text_ur_latn,
        )
        for row in conn.execute(stmt.order_by(s.c.id))
    ]


def set_enabled(
    conn: Connection, schedule_id: int, enabled: bool, now: datetime, *, by: str | None = None
) -> bool:
    """Pause or resume a schedule, ``by`` whom; False when there is no such schedule.

    ``updated_at`` moves to ``now`` even when nothing changes, so runs that fell due while it
    was paused are never sent late (the scheduler counts missed runs from there).
    """
    require_aware(now)
    result = conn.execute(
        update(_schedules)
        .where(_schedules.c.id == schedule_id)
        .values(enabled=enabled, updated_by=by, updated_at=now)
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
class StoredSchedule:
    """What the scheduler builds a schedule's job from; ``updated_at`` marks changes."""

    id: int
    announcement_id: int
    rule: dict[str, Any]
    audience: dict[str, Any]
    enabled: bool
    last_fired_at: datetime | None
    created_at: datetime
    updated_at: datetime


def stored_schedules(conn: Connection) -> list[StoredSchedule]:
    """Every schedule, enabled or not, by id."""
    s = _schedules
    rows = conn.execute(
        select(
            s.c.id,
            s.c.announcement_id,
            s.c.rule,
            s.c.audience,
            s.c.enabled,
            s.c.last_fired_at,
            s.c.created_at,
            s.c.updated_at,
        ).order_by(s.c.id)
    )
    return [StoredSchedule(*row) for row in rows]


def broadcast_key(schedule_id: int, fire: datetime) -> str:
    """The unique key of a schedule's run: the same run always gets the same key."""
    return f"schedule:{schedule_id}:{fire.astimezone(UTC).isoformat()}"


def fire_schedule(
    conn: Connection, schedule_id: int, fire: datetime, now: datetime
) -> tuple[int | None, int]:
    """Start the schedule's broadcast for the run at ``fire`` (nothing when the schedule is gone
    or paused, or that run was already started); ``(broadcast id, queued)``."""
    row = _what_to_send(conn, schedule_id)
    if row is None or not row.enabled:
        return None, 0
    started = start_broadcast(
        conn,
        row.announcement_id,
        audience_from_dict(row.audience),
        broadcast_key(schedule_id, fire),
        fire,
        now,
        schedule_id=schedule_id,
        created_by="schedule",
    )
    _fired(conn, schedule_id, fire)
    return started


def record_missed(conn: Connection, schedule_id: int, fire: datetime, now: datetime) -> bool:
    """Record the run at ``fire`` as ``missed`` (not sent, nothing queued); False when that run
    exists already or the schedule is gone."""
    row = _what_to_send(conn, schedule_id)
    if row is None:
        return False
    broadcast_id = create_broadcast(
        conn,
        row.announcement_id,
        audience_from_dict(row.audience),
        broadcast_key(schedule_id, fire),
        fire,
        now,
        schedule_id,
    )
    if broadcast_id is None:
        return False
    mark_missed(conn, broadcast_id, now, created_by="schedule")
    _fired(conn, schedule_id, fire)
    return True


def _what_to_send(conn: Connection, schedule_id: int) -> Any:
    s = _schedules
    return conn.execute(
        select(s.c.announcement_id, s.c.audience, s.c.enabled).where(s.c.id == schedule_id)
    ).one_or_none()


def _fired(conn: Connection, schedule_id: int, fire: datetime) -> None:
    """Remember the newest run dealt with (``updated_at`` is left alone: it marks changes)."""
    s = _schedules
    conn.execute(
        update(s)
        .where(s.c.id == schedule_id, (s.c.last_fired_at.is_(None)) | (s.c.last_fired_at < fire))
        .values(last_fired_at=fire)
    )
