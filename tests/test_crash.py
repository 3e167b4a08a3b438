"""A real ``outreach serve`` killed with SIGKILL in the middle of a broadcast, then restarted.

800 Telegram subscribers and one queued broadcast to them; the fake Bot API runs in this
test's event loop on 127.0.0.1 and counts what it accepts per chat itself (after a kill the
bot's own records cannot be trusted). Once the fake has accepted 240 messages the
process is killed outright: no shutdown, no commit of the sends in flight. A second
``outreach serve`` then finishes the broadcast and is stopped with SIGTERM.

What that proves (DESIGN.md, "Outbound": a crash loses nothing, and sends twice only the
handful in flight):

* at the kill some deliveries were still ``pending`` and at most ``DISPATCHER_CONCURRENCY``
  were ``sending`` (claimed, result not committed);
* afterwards every delivery is ``sent``, its provider id names a message the fake accepted,
  and its ``attempts`` say how often it was claimed: twice for those left ``sending`` by the
  kill (sent again at once by the restarted worker, which holds the worker lock, although
  their five-minute lease has not run out), once for the rest;
* every one of the chats got the announcement, nobody else got anything, and the chats
  that got it twice are among those left ``sending``: at most ``DISPATCHER_CONCURRENCY``.

Runs on SQLite, and on PostgreSQL too when ``OUTREACH_TEST_POSTGRES_URL``
is set. Run with ``-s`` to see how many chats got the announcement twice.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, String, cast, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from bot.core.audience import Audience
from bot.store import broadcasts
from bot.store.engine import create_engine
from bot.store.models import UTCDateTime
from bot.store.tables import announcements as _announcements
from bot.store.tables import contacts as _contacts
from bot.store.tables import deliveries as _deliveries
from bot.store.tables import subscribers as _subscribers
from bot.store.units import Units
from fakes.server import aserve
from fakes.telegram_api import FakeTelegram
from tests.conftest import PATIENCE, eventually
from tests.processes import Outreach, serve

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent

# Subscribers, and the accepted sends at the fake after which the first process is killed:
# well into the broadcast (12 times the sends in flight), well before its end (560 sends
# left: a second or more of sending on a loaded machine, where the kill takes milliseconds).
# Each send is CPU the whole gate waits for, so no more than the proof needs.
SIZES = {"sqlite": (800, 240), "postgresql": (800, 240)}
CONCURRENCY = 20
FIRST_CHAT = 700_000_000
TOKEN = "7000000001:AACrashTestTokenForTests_01234567"
TEXT = "Free Python course at the IT park, Monday 10:00"
SETTINGS = {
    "TELEGRAM_BOT_TOKEN": TOKEN,
    "TELEGRAM_PER_SECOND": "2000",  # the pace is this machine's, not Telegram's
    "TELEGRAM_CHAT_SECONDS": "0",
    "ANNOUNCEMENTS_PER_DAY": "0",
    "DISPATCHER_CONCURRENCY": str(CONCURRENCY),
    "DISPATCHER_RETRY_SECONDS": "0.5",
    "CONTENT_DIR": str(REPO / "content"),
    "LOG_LEVEL": "WARNING",  # an INFO line per send would cost more than the send
}


async def queue_broadcast(db_url: str, people: int) -> None:
    """``people`` subscribers, each with an active Telegram contact (chat ``FIRST_CHAT + id``),
    and one broadcast queued to all of them, in bulk statements."""
    now = datetime.now(UTC)

    def unit(conn: Connection) -> None:
        conn.execute(
            insert(_subscribers),
            [{"language": "en", "created_at": now, "updated_at": now}] * people,
        )
        stamp = literal(now, UTCDateTime())
        s = _subscribers
        conn.execute(
            insert(_contacts).from_select(
                [
                    "subscriber_id",
                    "channel",
                    "address",
                    "status",
                    "status_changed_at",
                    "created_at",
                    "updated_at",
                ],
                select(
                    s.c.id,
                    literal("telegram"),
                    cast(s.c.id + FIRST_CHAT, String),
                    literal("active"),
                    stamp,
                    stamp,
                    stamp,
                ),
            )
        )
        aid = conn.execute(
            insert(_announcements)
            .values(title="Course", text_en=TEXT, created_at=now, updated_at=now)
            .returning(_announcements.c.id)
        ).scalar_one()
        bid, queued = broadcasts.start_broadcast(
            conn, aid, Audience(), "crash-test", now, now, created_by="test"
        )
        assert bid is not None and queued == people

    await run_once(db_url, unit)


async def run_once(db_url: str, unit: Callable[[Connection], object]) -> None:
    """Run ``unit`` on ``db_url`` through an engine and unit runner of its own."""
    engine = create_engine(db_url)
    units = Units(engine)
    try:
        await units.run(unit)
    finally:
        units.close()
        await engine.dispose()


@asynccontextmanager
async def reader(db_url: str) -> AsyncIterator[AsyncEngine]:
    """A plain engine for reading while ``outreach serve`` writes (no write lock taken)."""
    engine = create_async_engine(db_url, poolclass=NullPool)
    try:
        yield engine
    finally:
        await engine.dispose()


async def delivery_rows(engine: AsyncEngine) -> dict[str, dict[str, Any]]:
    """Every delivery by its contact's address (the chat id)."""
    d, c = _deliveries, _contacts
    async with engine.connect() as conn:
        result = await conn.execute(
            select(c.c.address, d.c.status, d.c.attempts, d.c.provider_id, d.c.error).join(
                c, c.c.id == d.c.contact_id
            )
        )
        return {row.address: dict(row._mapping) for row in result}


async def open_deliveries(engine: AsyncEngine) -> int:
    d = _deliveries
    async with engine.connect() as conn:
        count: int = (
            await conn.execute(select(func.count()).where(d.c.status.in_(("pending", "sending"))))
        ).scalar_one()
        return count


async def until_sent(process: Outreach, db: AsyncEngine, what: str) -> None:
    """Wait until no delivery is left to send, failing if ``process`` exits first or the
    count of those left stops moving for ``PATIENCE`` seconds."""

    async def finished() -> bool:
        return await open_deliveries(db) == 0

    await process.until(finished, PATIENCE, what, every=0.2, progress=lambda: open_deliveries(db))


async def fake_answered_everything(fake: FakeTelegram) -> None:
    """Wait until the fake has answered every request it got (a held long poll ends once its
    client has gone)."""
    await eventually(lambda: not fake.in_flight, "the fake answers every request")


async def test_sigkill_mid_broadcast_loses_nothing_and_duplicates_at_most_the_in_flight(
    db_url: str, tmp_path: Path
) -> None:
    people, kill_after = SIZES[db_url.split(":", 1)[0].split("+", 1)[0]]
    await queue_broadcast(db_url, people)
    chats = {str(FIRST_CHAT + n) for n in range(1, people + 1)}
    fake = FakeTelegram(TOKEN)
    async with aserve(fake.app) as api, reader(db_url) as db:
        env = {
            **os.environ,
            **SETTINGS,
            "DATABASE_URL": db_url,
            "TELEGRAM_API_BASE_URL": api,  # no PUBLIC_BASE_URL: long polling
        }

        async with serve(tmp_path, env, "first") as first:
            await first.until(
                lambda: len(fake.messages) >= kill_after,
                PATIENCE,
                f"{kill_after} sends",
                progress=lambda: len(fake.messages),
            )
            assert await first.stop(signal.SIGKILL) == -signal.SIGKILL
        await fake_answered_everything(fake)
        at_kill = await delivery_rows(db)
        accepted_at_kill = fake.accepted_per_chat()
        by_status = Counter(row["status"] for row in at_kill.values())
        left_sending = {chat for chat, row in at_kill.items() if row["status"] == "sending"}
        print(f"\nat the kill: {dict(by_status)}; the fake had accepted {len(fake.messages)}")
        assert by_status["pending"] > 0, "the kill came after the broadcast, not in the middle"
        assert 0 < len(left_sending) <= CONCURRENCY
        # The bot never records a send the provider did not accept.
        assert all(accepted_at_kill[int(c)] for c, r in at_kill.items() if r["status"] == "sent")

        async with serve(tmp_path, env, "second") as second:
            await until_sent(second, db, "end of the broadcast")
            # uvicorn shuts down gracefully, then re-raises the signal it caught.
            code = await second.stop(signal.SIGTERM)
            assert code in (0, -signal.SIGTERM), second.tail()
            assert "Traceback" not in second.output(), second.output()
        await fake_answered_everything(fake)

        final = await delivery_rows(db)

    accepted = fake.accepted_per_chat()
    twice = {str(chat) for chat, n in accepted.items() if n > 1}
    print(
        f"chats that got the announcement twice: {len(twice)} "
        f"(DISPATCHER_CONCURRENCY {CONCURRENCY}, left sending by the kill {len(left_sending)})"
    )
    assert set(final) == chats
    assert {row["status"] for row in final.values()} == {"sent"}
    assert {str(chat) for chat in accepted} == chats, "everyone got it, nobody else"
    assert twice <= left_sending, "only a send in flight at the kill may go twice"
    assert len(twice) <= CONCURRENCY
    for chat, row in final.items():
        in_flight = chat in left_sending
        assert accepted[int(chat)] in ({1, 2} if in_flight else {1}), (chat, row)
        assert row["attempts"] == (2 if in_flight else 1), (chat, row)
        assert row["error"] is None, (chat, row)
        chat_id, _, message_id = row["provider_id"].partition(":")
        assert fake.messages[(int(chat_id), int(message_id))]["text"] == TEXT, (chat, row)
