"""Subscribers in bulk, for the drivers that queue broadcasts (bench_broadcast, bench_queue).

Written by ``INSERT … SELECT`` from a recursive CTE, no Python loop, so a million rows take
seconds. SQLAlchemy is imported where used: bench_broadcast's fake and peer processes import
this module for FIRST_CHAT alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Connection

FIRST_CHAT = 5_000_000_001  # the Telegram chat id of subscriber 1; subscriber n has n - 1 more


def subscribers(
    conn: Connection, n: int, stamp: str, announcement: str, channel: str, mixed: bool
) -> None:
    """Subscribers 1 to ``n``, each with one active contact on ``channel`` (Telegram chat ids
    from FIRST_CHAT, or +92300… numbers), and announcement 1 saying ``announcement``.

    ``stamp`` is every row's time as SQLite stores it. ``mixed``: every third subscriber
    reads Urdu and every other one follows "jobs"; else all read English and follow nothing.
    """
    from sqlalchemy import text

    conn.execute(
        text(
            "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :n) "
            "INSERT INTO subscribers (id, language, city, topics, created_at, updated_at) "
            "SELECT n, CASE WHEN :mixed AND n % 3 = 0 THEN 'ur' ELSE 'en' END, 'Dhanote', "
            "CASE WHEN :mixed AND n % 2 = 0 THEN '[\"jobs\"]' ELSE '[]' END, :t, :t FROM seq"
        ),
        {"n": n, "t": stamp, "mixed": mixed},
    )
    conn.execute(
        text(
            "INSERT INTO contacts (id, subscriber_id, channel, address, status, "
            "status_changed_at, created_at, updated_at) "
            "SELECT id, id, :channel, CASE :channel WHEN 'telegram' "
            "THEN CAST(:first + id - 1 AS TEXT) ELSE '+92300' || printf('%07d', id) END, "
            "'active', :t, :t, :t FROM subscribers"
        ),
        {"first": FIRST_CHAT, "t": stamp, "channel": channel},
    )
    conn.execute(
        text(
            "INSERT INTO announcements (id, title, text_en, topics, created_at, updated_at) "
            "VALUES (1, 'Training', :text, '[]', :t, :t)"
        ),
        {"text": announcement, "t": stamp},
    )
