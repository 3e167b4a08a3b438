"""Announcements: what is sent (a title, the text per language, topic tags).

Synchronous Core on a ``Connection``, run through :class:`bot.store.units.Units`. When it
goes out is a schedule's (:mod:`bot.store.schedules`) or a broadcast's
(:mod:`bot.store.broadcasts`) business; deleting a schedule deletes its announcement when
nothing else uses it (:func:`bot.store.schedules.delete_schedule`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, insert

from bot.store.models import require_aware
from bot.store.tables import announcements as _announcements


def create_announcement(
    conn: Connection,
    title: str,
    text_en: str,
    text_ur: str | None,
    topics: Sequence[str],
    now: datetime,
    text_ur_latn: str | None = None,
) -> int:
    """A new announcement's id."""
    require_aware(now)
    aid: int = conn.execute(
        insert(_announcements)
        .values(
            title=title,
            text_en=text_en,
            text_ur=text_ur,
            text_ur_latn=text_ur_latn,
            topics=list(topics),
            created_at=now,
            updated_at=now,
        )
        .returning(_announcements.c.id)
    ).scalar_one()
    return aid
