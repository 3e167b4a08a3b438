"""Rows in bulk, written by ``INSERT … SELECT`` (no Python loop, so a million rows take
seconds): :func:`subscribers` for the drivers that queue broadcasts (bench_broadcast,
bench_queue), on SQLite or PostgreSQL, and :func:`town` for the console's (bench_console,
SQLite).

SQLAlchemy and the project are imported where used: bench_broadcast's fake and peer
processes import this module for FIRST_CHAT alone.
"""

# The SQL is built from constants of this module alone (no input reaches it).
# ruff: noqa: S608

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from sqlalchemy import Connection

T = TypeVar("T")

FIRST_CHAT = 5_000_000_001  # the Telegram chat id of subscriber 1; subscriber n has n - 1 more


def _numbers(dialect: str) -> tuple[str, str]:
    """``(WITH clause, FROM item)`` giving a column ``n`` of 1 to ``:n``: PostgreSQL's
    ``generate_series``, or on SQLite (whose ``generate_series`` is an extension Python's
    sqlite3 does not load) a recursive CTE."""
    if dialect == "postgresql":
        return "", "generate_series(1, :n) AS seq(n)"
    return (
        "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :n) ",
        "seq",
    )


def subscribers(
    conn: Connection, n: int, now: datetime, announcement: str, channel: str, mixed: bool
) -> None:
    """Subscribers 1 to ``n``, each with one active contact on ``channel`` (Telegram chat ids
    from FIRST_CHAT, or +92300… numbers), and announcement 1 saying ``announcement``, all
    written at ``now``, on SQLite or PostgreSQL (where the id sequences then start after them
    and the tables are analysed, as autovacuum would have done on a live database).

    ``mixed``: every third subscriber reads Urdu and every other one follows "jobs"; else all
    read English and follow nothing.
    """
    from sqlalchemy import BigInteger, Boolean, Integer, String, bindparam, text

    from bot.store.models import UTCDateTime

    dialect = conn.dialect.name
    postgres = dialect == "postgresql"
    jsonb = "CAST({} AS JSONB)" if postgres else "{}"  # SQLite keeps JSON as text
    with_, numbers = _numbers(dialect)
    binds = (
        bindparam("n", n, type_=Integer),
        bindparam("mixed", mixed, type_=Boolean),
        bindparam("t", now, type_=UTCDateTime),
        bindparam("first", FIRST_CHAT, type_=BigInteger),
        bindparam("channel", channel, type_=String),
        bindparam("text", announcement, type_=String),
    )

    def run(sql: str) -> None:
        named = set(re.findall(r":(\w+)", sql))
        conn.execute(text(sql).bindparams(*(b for b in binds if b.key in named)))

    run(
        with_ + "INSERT INTO subscribers (id, language, city, topics, created_at, updated_at) "
        "SELECT n, CASE WHEN :mixed AND n % 3 = 0 THEN 'ur' ELSE 'en' END, 'Dhanote', "
        + jsonb.format("""CASE WHEN :mixed AND n % 2 = 0 THEN '["jobs"]' ELSE '[]' END""")
        + f", :t, :t FROM {numbers}"
    )
    # +92300 and the id in seven digits: the last seven of 10,000,000 + id, on both databases.
    run(
        "INSERT INTO contacts (id, subscriber_id, channel, address, status, "
        "status_changed_at, created_at, updated_at) "
        "SELECT id, id, :channel, CASE :channel WHEN 'telegram' "
        "THEN CAST(:first + id - 1 AS TEXT) "
        "ELSE '+92300' || substr(CAST(10000000 + id AS TEXT), 2) END, "
        "'active', :t, :t, :t FROM subscribers"
    )
    run(
        "INSERT INTO announcements (id, title, text_en, topics, created_at, updated_at) "
        "VALUES (1, 'Training', :text, '[]', :t, :t)"
    )
    if postgres:
        for table in ("subscribers", "contacts", "announcements"):
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
                )
            )
            conn.execute(text(f"ANALYZE {table}"))


def seed(url: str, fill: Callable[[Connection], T]) -> tuple[T, float]:
    """Migrate the empty database at ``url`` (a SQLite file is created) and run ``fill`` on
    it in one transaction, committed: what ``fill`` returned and the seconds it took (the
    migrations not counted)."""
    import asyncio

    return asyncio.run(_seed(url, fill))


async def _seed(url: str, fill: Callable[[Connection], T]) -> tuple[T, float]:
    from bot.store.engine import create_engine
    from bot.store.migrate import upgrade

    await upgrade(url)
    engine = create_engine(url)
    try:
        start = time.perf_counter()
        async with engine.begin() as conn:
            result = await conn.run_sync(fill)
        return result, time.perf_counter() - start
    finally:
        await engine.dispose()


# -- a town, for the console ---------------------------------------------------------------

IN_FLIGHT = 2  # broadcasts still sending, the last ones
CITIES = ["Dhanote", "ڈھنوٹ", "Kahror Pacca", "Lodhran", "Bahawalpur", "Multan", "Dunyapur"]
TELEGRAM_ONLY = 15  # every 15th subscriber has a Telegram chat and no number
# Names: every Telegram user has one (their profile's), and every other SMS-only person (a
# coordinator's import); a first and a last name, in Latin or Urdu script, 96 of them.
FIRST_NAMES = ["Ali", "Amina", "Bilal", "Fatima", "Hamza", "Zainab", "علی", "عائشہ", "بلال",
               "فاطمہ", "حمزہ", "زینب"]  # fmt: skip
LAST_NAMES = ["Khan", "Raza", "Malik", "Qureshi", "خان", "رضا", "ملک", "قریشی"]
SCHEDULES = 20
MESSAGES = 300_000  # answered messages, in and out, over the last 60 days
# A contact id that exists: SMS contact ids are subscriber ids, and Telegram-only
# subscribers (id % TELEGRAM_ONLY = 0) have none, so those take their neighbour's.
_SMS_CONTACT = "({c} - ({c} % " + str(TELEGRAM_ONLY) + " = 0))"


def _names() -> tuple[list[str], list[str]]:
    """Every first and last name together, and each folded as the store keeps it."""
    from bot.core.names import fold_name

    names = [f"{first} {last}" for first in FIRST_NAMES for last in LAST_NAMES]
    return names, [fold_name(name) for name in names]


def _named(values: list[str]) -> str:
    """The SQL picking subscriber ``n``'s name (or its folded form) from ``values``, for the
    subscribers with one."""
    listed = ", ".join(f"'{v}'" for v in values)
    with_one = "n % 2 = 0 OR n % 3 = 0"  # every third has a Telegram chat
    pick = f"json_extract(json_array({listed}), '$[' || (n / 7 % {len(values)}) || ']')"
    return f"CASE WHEN {with_one} THEN {pick} END"


def _stamp(when: datetime) -> str:
    """A time as SQLAlchemy's SQLite DATETIME stores it (UTC, naive, microseconds)."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


# SQLite's own clock arithmetic gives milliseconds: pad to the six digits SQLAlchemy writes,
# so stored times compare as text the way the store's do.
def _at(base: str, seconds: str) -> str:
    return f"strftime('%Y-%m-%d %H:%M:%f', {base}, '-' || ({seconds}) || ' seconds') || '000'"


def town(db: Path, subscribers: int, broadcasts: int, deliveries: int) -> dict[str, Any]:
    """Migrate the SQLite file ``db`` and fill it with a town; what was written and how long.

    Subscribers in three languages or none, seven cities (one written in Urdu) or none,
    following two topics, one or none, joined over the last two years, two in three with a
    name (:data:`FIRST_NAMES`, :data:`LAST_NAMES`); an SMS number each
    (1 in 20 opted out) but every 15th, a Telegram chat for every third (1 in 30 of those
    blocked), so some are on both and some on Telegram alone; one announcement per broadcast;
    every broadcast but the last two done, their deliveries delivered, sent, failed or
    skipped with reasons (about nine per person); the last two in flight, their deliveries
    pending on SMS (the rest of ``deliveries``); 20 weekly schedules, a third paused;
    questions the bot could not answer in the last 60 days (2,000 texts) among 300,000
    messages in and out; hand-overs open, claimed, closed.
    """
    from bench._common import env_without, migrate

    env = {**env_without("DATABASE_URL"), "DATABASE_URL": f"sqlite+aiosqlite:///{db}"}
    migrate(db.parent, env)
    now = datetime.now(UTC)
    span = 2 * 365 * 24 * 3600  # subscribers joined over two years
    done = broadcasts - IN_FLIGHT
    per_done = (deliveries // 10 * 9) // max(done, 1)  # nine tenths in the done ones
    in_flight_each = (deliveries - per_done * done) // IN_FLIGHT
    if in_flight_each > subscribers * (TELEGRAM_ONLY - 1) // TELEGRAM_ONLY:
        raise SystemExit("more deliveries per broadcast in flight than SMS contacts")
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    t = {"now": _stamp(now)}
    cities = ", ".join(f"'{c}'" for c in CITIES)
    names, folded = _names()
    seq = "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :k) "
    start = time.perf_counter()
    with con:
        con.execute(
            seq + "INSERT INTO subscribers (id, language, city, topics, created_at, updated_at, "
            "name, name_folded) "
            "SELECT n, CASE n % 10 WHEN 0 THEN NULL WHEN 1 THEN 'en' WHEN 2 THEN 'en' "
            "WHEN 3 THEN 'ur-Latn' WHEN 4 THEN 'ur-Latn' ELSE 'ur' END, "
            f"CASE WHEN n % 11 = 0 THEN NULL ELSE json_extract(json_array({cities}), "
            f"'$[' || (n % {len(CITIES)}) || ']') END, "
            "CASE n % 4 WHEN 0 THEN '[]' WHEN 1 THEN '[\"jobs\"]' WHEN 2 THEN '[\"training\"]' "
            'ELSE \'["jobs", "training"]\' END, '
            f"{_at(':now', f'(:k - n) * {span} / :k')}, :now, "
            f"{_named(names)}, {_named(folded)} FROM seq",
            {**t, "k": subscribers},
        )
        con.execute(
            "INSERT INTO contacts (id, subscriber_id, channel, address, status, "
            "status_changed_at, status_reason, created_at, updated_at) "
            "SELECT id, id, 'sms', '+92300' || printf('%07d', id), "
            "CASE WHEN id % 20 = 0 THEN 'opted_out' ELSE 'active' END, created_at, "
            "CASE WHEN id % 20 = 0 THEN 'keyword' END, created_at, created_at "
            f"FROM subscribers WHERE id % {TELEGRAM_ONLY} != 0",
        )
        con.execute(
            "INSERT INTO contacts (id, subscriber_id, channel, address, status, "
            "status_changed_at, created_at, updated_at) "
            "SELECT :n + id, id, 'telegram', CAST(5000000000 + id AS TEXT), "
            "CASE WHEN id % 90 = 0 THEN 'blocked' ELSE 'active' END, "
            "created_at, created_at, created_at FROM subscribers WHERE id % 3 = 0",
            {"n": subscribers},
        )
        con.execute(
            seq + "INSERT INTO announcements (id, title, text_en, text_ur, topics, created_at, "
            "updated_at) SELECT n, 'Announcement ' || n, "
            "'Dhanote IT Park: training starts Monday ' || n, "
            "'ڈھنوٹ آئی ٹی پارک: تربیت پیر سے ' || n, '[]', :now, :now FROM seq",
            {**t, "k": broadcasts},
        )
        # Broadcast n went out (b - n) / 2 days ago; the last IN_FLIGHT are still sending.
        con.execute(
            seq + "INSERT INTO broadcasts (id, announcement_id, key, audience, status, "
            "scheduled_for, created_by, finished_at, created_at, updated_at) "
            'SELECT n, n, \'bench:\' || n, \'{"channels": ["sms", "telegram"]}\', '
            "CASE WHEN n > :done THEN 'sending' ELSE 'done' END, "
            f"{_at(':now', '(:k - n) * 86400 / 2 + 60')}, 'bench', "
            f"CASE WHEN n > :done THEN NULL ELSE {_at(':now', '(:k - n) * 86400 / 2')} END, "
            ":now, :now FROM seq",
            {**t, "k": broadcasts, "done": done},
        )
        contact = _SMS_CONTACT.format(c="((m * 7919) % :n + 1)")
        con.execute(
            "WITH RECURSIVE seq(m) AS (SELECT 0 UNION ALL SELECT m + 1 FROM seq WHERE m < :k - 1) "
            "INSERT INTO deliveries (broadcast_id, contact_id, channel, status, attempts, "
            "next_attempt_at, provider_id, error, sent_at, created_at, updated_at) "
            f"SELECT m / :per + 1, {contact}, 'sms', "
            "CASE m % 20 WHEN 0 THEN 'failed' WHEN 1 THEN 'skipped' WHEN 2 THEN 'sent' "
            "WHEN 3 THEN 'sent' ELSE 'delivered' END, 1, :now, 'SM' || m, "
            "CASE m % 20 WHEN 0 THEN 'provider:30003' WHEN 1 THEN 'opted_out' END, "
            "CASE WHEN m % 20 = 1 THEN NULL ELSE "
            f"{_at(':now', '(:b - (m / :per + 1)) * 86400 / 2 + 86400')} END, :now, :now "
            "FROM seq WHERE true ON CONFLICT DO NOTHING",
            {**t, "k": per_done * done, "per": per_done, "n": subscribers, "b": broadcasts},
        )
        for i in range(IN_FLIGHT):
            con.execute(
                "INSERT INTO deliveries (broadcast_id, contact_id, channel, status, attempts, "
                "next_attempt_at, created_at, updated_at) "
                "SELECT :bid, id, 'sms', 'pending', 0, :now, :now, :now FROM contacts "
                "WHERE channel = 'sms' ORDER BY id LIMIT :k",
                {**t, "bid": done + 1 + i, "k": in_flight_each},
            )
        con.execute(
            seq + "INSERT INTO schedules (announcement_id, rule, audience, enabled, "
            "created_by, created_at, updated_at) SELECT n, json_object('kind', 'weekly', "
            "'weekdays', json_array(CASE n % 3 WHEN 0 THEN 'mon' WHEN 1 THEN 'wed' "
            "ELSE 'fri' END), 'at', '10:00', 'tz', 'Asia/Karachi'), "
            '\'{"channels": ["sms", "telegram"]}\', n % 3 > 0, \'bench\', :now, :now FROM seq',
            {**t, "k": SCHEDULES},
        )
        # 2,000 different questions the bot could not answer (a few asked often), and
        # MESSAGES it did answer (each in and its reply out), over the last 60 days.
        con.execute(
            seq + "INSERT INTO messages (contact_id, direction, channel, text, provider_id, "
            "status, intent, language, created_at, updated_at) "
            f"SELECT {_SMS_CONTACT.format(c='(n % :n + 1)')}, 'in', 'sms', "
            "CASE WHEN n % 4 = 0 THEN 'fees kitni hai' ELSE 'question number ' || (n % 2000) END, "
            "'in-q' || n, 'received', CASE WHEN n % 3 = 0 THEN 'no_answer' ELSE 'unknown' END, "
            f"'ur-Latn', {_at(':now', 'n * 648')}, :now FROM seq",
            {**t, "k": 8000, "n": subscribers},
        )
        con.execute(
            seq + "INSERT INTO messages (contact_id, direction, channel, text, provider_id, "
            "status, intent, language, created_at, updated_at) "
            f"SELECT {_SMS_CONTACT.format(c='(n / 2 % :n + 1)')}, "
            "CASE n % 2 WHEN 0 THEN 'in' ELSE 'out' END, 'sms', "
            "CASE n % 2 WHEN 0 THEN 'training' ELSE 'Training starts Monday' END, "
            "'in-a' || n, CASE n % 2 WHEN 0 THEN 'received' ELSE 'delivered' END, 'training', "
            f"'en', {_at(':now', f'n * {60 * 86400 // MESSAGES}')}, :now FROM seq",
            {**t, "k": MESSAGES, "n": subscribers},
        )
        con.execute(
            seq + "INSERT INTO threads (contact_id, language, reason, state, claimed_by, "
            "closed_by, created_at, updated_at) "
            f"SELECT {_SMS_CONTACT.format(c='n')}, 'ur', "
            "CASE WHEN n % 2 = 0 THEN 'asked' ELSE 'missed' END, "
            "CASE WHEN n <= 5000 THEN 'closed' WHEN n <= 5100 THEN 'claimed' ELSE 'open' END, "
            "CASE WHEN n > 5000 AND n <= 5100 THEN 'bench' END, "
            "CASE WHEN n <= 5000 THEN 'bench' END, "
            f"{_at(':now', '(5600 - n) * 600')}, :now FROM seq",
            {**t, "k": 5600},
        )
    con.execute("ANALYZE")
    written = con.execute("SELECT count(*) FROM deliveries").fetchone()[0]
    con.close()
    return {
        "subscribers": subscribers,
        "broadcasts": broadcasts,
        "deliveries": int(written),
        "in_flight": list(range(done + 1, broadcasts + 1)),
        "seed_s": time.perf_counter() - start,
    }
