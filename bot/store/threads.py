"""Threads: conversations handed over to the coordinators (``open`` -> ``claimed`` -> ``closed``).

A thread belongs to one contact; its messages, both ways, point at it (``messages.thread_id``).
A contact has at most one thread that is not closed: :func:`current` finds it before
:func:`open_thread` makes another. (On SQLite every write goes through one writer, so two
messages of one resident cannot both open one; on PostgreSQL two arriving in the same instant
could, and the coordinators would see two threads, each answerable.)

:func:`claim` is one conditional UPDATE: of two coordinators claiming at once exactly one gets
the thread, the other is told who has it. Synchronous Core on a ``Connection``, run through
:class:`bot.store.units.Units`; nothing commits; ``now`` must be timezone-aware.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)

from bot.core.decision import Channel, ContactStatus
from bot.store.models import ThreadReason, ThreadState, require_aware
from bot.store.prepared import Prepared
from bot.store.tables import contacts as _contacts
from bot.store.tables import messages as _messages
from bot.store.tables import threads as _threads

OPEN_STATES: tuple[ThreadState, ...] = ("open", "claimed")


@dataclass(frozen=True, slots=True)
class Thread:
    """A thread with what coordinators need of its resident; ``messages`` counts both ways."""

    id: int
    contact_id: int
    channel: Channel
    address: str
    contact_status: ContactStatus
    language: str | None
    reason: ThreadReason
    state: ThreadState
    claimed_by: str | None
    claimed_at: datetime | None
    answered_by: str | None
    answered_at: datetime | None
    closed_by: str | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    messages: int


ClaimOutcome = Literal["claimed", "taken", "closed", "missing"]


@dataclass(frozen=True, slots=True)
class Claim:
    """What :func:`claim` did: ``claimed`` (now or already by the same person), ``taken`` by
    ``holder``, ``closed``, or ``missing`` (no such thread)."""

    outcome: ClaimOutcome
    holder: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "claimed"


_t = _threads
_COUNT = (
    select(func.count())
    .select_from(_messages)
    .where(_messages.c.thread_id == _t.c.id)
    .scalar_subquery()
)
_SELECT = select(
    _t.c.id,
    _t.c.contact_id,
    _contacts.c.channel,
    _contacts.c.address,
    _contacts.c.status.label("contact_status"),
    _t.c.language,
    _t.c.reason,
    _t.c.state,
    _t.c.claimed_by,
    _t.c.claimed_at,
    _t.c.answered_by,
    _t.c.answered_at,
    _t.c.closed_by,
    _t.c.closed_at,
    _t.c.created_at,
    _t.c.updated_at,
    _COUNT.label("messages"),
).join(_contacts, _contacts.c.id == _t.c.contact_id)


def open_thread(
    conn: Connection, contact_id: int, language: str | None, reason: ThreadReason, now: datetime
) -> int:
    """A new ``open`` thread for the contact; its id."""
    require_aware(now)
    params = {"contact_id": contact_id, "language": language, "reason": reason, "now": now}
    return int(_OPEN.scalar(conn, params))


# Opened in a resident's own unit (their message asked for a person): built once.
_OPEN = Prepared(
    insert(_t)
    .values(
        contact_id=bindparam("contact_id"),
        language=bindparam("language"),
        reason=bindparam("reason"),
        state="open",
        created_at=bindparam("now"),
        updated_at=bindparam("now"),
    )
    .returning(_t.c.id)
)


# Asked of every message a resident sends: built once (see bot.store.prepared); the states
# as ORs, since a prepared statement takes no expanding IN list.
_CURRENT = Prepared(
    select(_t.c.id)
    .where(
        _t.c.contact_id == bindparam("contact_id"),
        or_(*(_t.c.state == state for state in OPEN_STATES)),
    )
    .order_by(_t.c.id.desc())
    .limit(1)
)


def current(conn: Connection, contact_id: int) -> int | None:
    """The id of the contact's thread that is not closed, if any (the newest)."""
    found: int | None = _CURRENT.scalar(conn, {"contact_id": contact_id})
    return found


def get(conn: Connection, thread_id: int) -> Thread | None:
    row = conn.execute(_SELECT.where(_t.c.id == thread_id)).first()
    return Thread(**row._mapping) if row is not None else None


def list_threads(
    conn: Connection, states: Collection[ThreadState] = OPEN_STATES, *, limit: int = 50
) -> list[Thread]:
    """The newest ``limit`` threads in ``states``, newest first."""
    stmt = _SELECT.where(_t.c.state.in_(tuple(states))).order_by(_t.c.id.desc()).limit(limit)
    return [Thread(**row._mapping) for row in conn.execute(stmt)]


def open_first(conn: Connection, *, offset: int, limit: int, open_count: int) -> list[Thread]:
    """A page of every thread, those not closed first, then the closed ones, each newest
    first (the console's inbox); ``open_count`` is how many are not closed
    (:func:`count_by_state`). Each part is read on ``ix_threads_state_id``; only the page's
    threads are counted and joined."""
    ids: list[int] = []
    if offset < open_count:
        ids += _ids(conn, _t.c.state.in_(OPEN_STATES), offset, limit)
    if len(ids) < limit:
        skip = max(0, offset - open_count)
        ids += _ids(conn, _t.c.state == "closed", skip, limit - len(ids))
    if not ids:
        return []
    rows = conn.execute(_SELECT.where(_t.c.id.in_(ids)))
    found = {row.id: Thread(**row._mapping) for row in rows}
    return [found[i] for i in ids if i in found]


def _ids(conn: Connection, where: ColumnElement[bool], offset: int, limit: int) -> list[int]:
    stmt = select(_t.c.id).where(where).order_by(_t.c.id.desc()).offset(offset).limit(limit)
    return [int(i) for i in conn.execute(stmt).scalars()]


def count_by_state(
    conn: Connection, states: Collection[ThreadState] | None = None
) -> dict[ThreadState, int]:
    """How many threads are in each state, or in each of ``states`` (those with none left
    out)."""
    stmt = select(_t.c.state, func.count()).group_by(_t.c.state)
    if states is not None:
        stmt = stmt.where(_t.c.state.in_(tuple(states)))
    return {state: int(n) for state, n in conn.execute(stmt)}


def claim(conn: Connection, thread_id: int, by: str, now: datetime) -> Claim:
    """Make ``by`` the one who answers the thread, unless someone else already is.

    One conditional UPDATE (open, or claimed by ``by`` already): of concurrent claims exactly
    one changes the row.
    """
    require_aware(now)
    stmt = (
        update(_t)
        .where(
            _t.c.id == thread_id,
            or_(_t.c.state == "open", and_(_t.c.state == "claimed", _t.c.claimed_by == by)),
        )
        .values(
            state="claimed",
            claimed_by=by,
            claimed_at=func.coalesce(_t.c.claimed_at, now),
            updated_at=now,
        )
    )
    if conn.execute(stmt).rowcount > 0:
        return Claim("claimed", by)
    row = conn.execute(select(_t.c.state, _t.c.claimed_by).where(_t.c.id == thread_id)).first()
    if row is None:
        return Claim("missing")
    if row.state == "closed":
        return Claim("closed")
    return Claim("taken", row.claimed_by)


def mark_answered(conn: Connection, thread_id: int, by: str, now: datetime) -> None:
    """Record that ``by`` answered the thread at ``now``."""
    require_aware(now)
    conn.execute(
        update(_t)
        .where(_t.c.id == thread_id)
        .values(answered_by=by, answered_at=now, updated_at=now)
    )


def close(conn: Connection, thread_id: int, by: str, now: datetime) -> bool:
    """Close the thread; False when it was closed already or does not exist."""
    require_aware(now)
    stmt = (
        update(_t)
        .where(_t.c.id == thread_id, _t.c.state != "closed")
        .values(state="closed", closed_by=by, closed_at=now, updated_at=now)
    )
    return conn.execute(stmt).rowcount > 0


# A resident's message joins a hand-over thread, or asks whether the one before it missed:
# built once (see bot.store.prepared).
_SET_THREAD = Prepared(
    update(_messages)
    .where(_messages.c.id == bindparam("message_id"))
    .values(thread_id=bindparam("thread_id"))
)
_PREVIOUS_INBOUND = Prepared(
    select(_messages.c.text, _messages.c.created_at)
    .where(
        _messages.c.contact_id == bindparam("contact_id"),
        _messages.c.direction == "in",
        _messages.c.id < bindparam("before_id"),
    )
    .order_by(_messages.c.id.desc())
    .limit(1)
)


def set_thread(conn: Connection, message_id: int, thread_id: int) -> None:
    """Make message ``message_id`` part of hand-over ``thread_id``."""
    _SET_THREAD.rowcount(conn, {"message_id": message_id, "thread_id": thread_id})


def previous_inbound(
    conn: Connection, contact_id: int, before_id: int, since: datetime
) -> str | None:
    """The text of the contact's inbound message just before ``before_id``, if it came at or
    after ``since``; None when there is none."""
    require_aware(since)
    rows = _PREVIOUS_INBOUND.rows(conn, {"contact_id": contact_id, "before_id": before_id})
    if not rows or rows[0][1] < since:
        return None
    return str(rows[0][0])
