"""Test sends: a coordinator's try of an announcement on their own number or chat.

Synchronous Core on a ``Connection``, run through :class:`bot.store.units.Units`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select

from bot.core.decision import Channel
from bot.store.models import require_aware
from bot.store.tables import test_sends as _test_sends


@dataclass(frozen=True, slots=True)
class TestSendRow:
    __test__ = False  # not a pytest class

    id: int
    channel: Channel
    address: str
    text: str
    status: str
    provider_id: str | None
    error: str | None
    created_by: str
    created_at: datetime


def record(
    conn: Connection,
    channel: Channel,
    address: str,
    text: str,
    *,
    status: str,
    provider_id: str | None,
    error: str | None,
    created_by: str,
    now: datetime,
) -> int:
    """Store one test send (``status`` ``sent`` or ``failed``); its id."""
    require_aware(now)
    new_id: int = conn.execute(
        insert(_test_sends)
        .values(
            channel=channel,
            address=address,
            text=text,
            status=status,
            provider_id=provider_id,
            error=error,
            created_by=created_by,
            created_at=now,
        )
        .returning(_test_sends.c.id)
    ).scalar_one()
    return new_id


def recent(conn: Connection, created_by: str, limit: int = 5) -> list[TestSendRow]:
    """``created_by``'s latest test sends, newest first."""
    t = _test_sends
    rows = conn.execute(
        select(
            t.c.id,
            t.c.channel,
            t.c.address,
            t.c.text,
            t.c.status,
            t.c.provider_id,
            t.c.error,
            t.c.created_by,
            t.c.created_at,
        )
        .where(t.c.created_by == created_by)
        .order_by(t.c.created_at.desc(), t.c.id.desc())
        .limit(limit)
    )
    return [TestSendRow(*row) for row in rows]
