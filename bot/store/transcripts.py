"""A person's history: the messages both ways of a contact, or of all of a subscriber's
contacts, as coordinators see them (a hand-over thread, the simulator, a subscriber's page).

Synchronous Core on a ``Connection``, run through :class:`bot.store.units.Units`; reads only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from bot.core.decision import Channel
from bot.store.models import Direction, MessageStatus
from bot.store.tables import messages as _messages


@dataclass(frozen=True, slots=True)
class Line:
    """One message of a conversation, as coordinators see it."""

    id: int
    direction: Direction
    text: str
    status: MessageStatus
    created_at: datetime
    thread_id: int | None


def history(
    conn: Connection, contact_id: int, *, limit: int, thread_id: int | None = None
) -> list[Line]:
    """The contact's last ``limit`` messages both ways (only thread ``thread_id``'s when
    given), oldest first."""
    m = _messages
    where = [m.c.contact_id == contact_id]
    if thread_id is not None:
        where.append(m.c.thread_id == thread_id)
    rows = conn.execute(
        select(m.c.id, m.c.direction, m.c.text, m.c.status, m.c.created_at, m.c.thread_id)
        .where(*where)
        .order_by(m.c.id.desc())
        .limit(limit)
    ).all()
    return [Line(*row) for row in reversed(rows)]


@dataclass(frozen=True, slots=True)
class Sent:
    """A message of a person's history: in or out, on which contact and channel."""

    id: int
    contact_id: int
    channel: Channel
    direction: Direction
    text: str
    status: MessageStatus
    error: str | None
    intent: str | None
    created_at: datetime


def of_contacts(conn: Connection, contact_ids: list[int], *, limit: int) -> list[Sent]:
    """The last ``limit`` messages both ways of any of ``contact_ids``, newest first."""
    if not contact_ids:
        return []
    m = _messages
    rows = conn.execute(
        select(
            m.c.id,
            m.c.contact_id,
            m.c.channel,
            m.c.direction,
            m.c.text,
            m.c.status,
            m.c.error,
            m.c.intent,
            m.c.created_at,
        )
        .where(m.c.contact_id.in_(contact_ids))
        .order_by(m.c.created_at.desc(), m.c.id.desc())
        .limit(limit)
    ).all()
    return [Sent(*row) for row in rows]


def recent_texts(conn: Connection, contact_id: int, limit: int = 20) -> list[str]:
    """The texts of the contact's last ``limit`` messages, newest first."""
    m = _messages
    stmt = (
        select(m.c.text)
        .where(m.c.contact_id == contact_id)
        .order_by(m.c.created_at.desc(), m.c.id.desc())
        .limit(limit)
    )
    return list(conn.execute(stmt).scalars())
