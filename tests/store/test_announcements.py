"""bot.store.announcements, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.store import announcements
from bot.store.tables import announcements as announcements_table
from bot.store.units import Units

NOW = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)


async def test_an_announcement_keeps_its_texts_and_topics(units: Units) -> None:
    aid = await units.run(
        lambda conn: announcements.create_announcement(
            conn, "Course", "New course", "نیا کورس", ("jobs", "training"), NOW
        )
    )
    a = announcements_table
    row = await units.run(lambda conn: conn.execute(select(a).where(a.c.id == aid)).one())
    assert (row.title, row.text_en, row.text_ur, row.topics) == (
        "Course",
        "New course",
        "نیا کورس",
        ["jobs", "training"],
    )
    assert row.created_at == row.updated_at == NOW
