"""The deployment the README describes, for real, on PostgreSQL: two ``outreach serve`` web
processes (``RUN_WORKER=false``) behind a pretend reverse proxy, an active ``outreach worker``
and a standby one.

A coordinator's ``/announce`` goes from start to "Send now" with every update posted to the
other web process than the one before (a draft in one process's memory would be lost at the
second step). The active worker sends the broadcast; after ``KILL_AFTER`` announcements reach
the fake Bot API it is killed with SIGKILL, and the standby takes the lock and finishes.

What that proves: the draft lives in the database (each step answered by either process);
one broadcast results; every resident gets the announcement, and only a send in flight at the
kill may go twice (its delivery claimed twice); the standby, not a web process, finished it.
``tests/test_web_processes.py`` proves the rest in-process, on both databases.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, select

from bot.store import contacts
from bot.store.tables import announce_drafts, broadcasts
from fakes.server import aserve
from fakes.telegram_api import FakeTelegram
from tests.conftest import PATIENCE
from tests.processes import Outreach, free_port, serve, up, worker
from tests.telegram.test_coordinators import TEXT_EN, Person, to_preview
from tests.test_crash import REPO, delivery_rows, reader, run_once, until_sent

pytestmark = pytest.mark.slow

TOKEN = "7000000001:AAProcessesTestToken_0123456789ab"
COORDINATOR = 777001
RESIDENTS = [730_000_000 + n for n in range(1, 25)]
KILL_AFTER = 6
CONCURRENCY = 4  # sends claimed at a time: at most this many are in flight at the kill
# Seconds a process may take to start: five interpreters importing the bot at once on a loaded
# machine (as tests/test_crash_replies.py allows).
START_TIMEOUT = 60.0
SETTINGS = {
    "TELEGRAM_BOT_TOKEN": TOKEN,
    "PUBLIC_BASE_URL": "https://outreach.example.org",  # webhook mode
    "COORDINATOR_TELEGRAM_IDS": str(COORDINATOR),
    # Slow enough that the kill comes mid-broadcast (24 sends: 2 s).
    "TELEGRAM_PER_SECOND": "12",
    "TELEGRAM_CHAT_SECONDS": "0",
    "ANNOUNCEMENTS_PER_DAY": "0",
    "DISPATCHER_CONCURRENCY": str(CONCURRENCY),
    "WORKER_STANDBY_SECONDS": "0.2",
    "CONTENT_DIR": str(REPO / "content"),
    "LOG_LEVEL": "INFO",  # the workers say when they start and stand by
}


async def seed_residents(db_url: str) -> None:
    """Telegram residents, as if each had sent /start."""
    now = datetime.now(UTC)

    def unit(conn: Connection) -> None:
        for chat in RESIDENTS:
            contacts.upsert_contact(conn, "telegram", str(chat), now, language="en")

    await run_once(db_url, unit)


def announced(fake: FakeTelegram) -> Counter[int]:
    """How many times each chat was sent the announcement, as the fake Bot API counts."""
    return Counter(chat for (chat, _), m in fake.messages.items() if m["text"] == TEXT_EN)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_two_web_processes_and_a_standby_worker_send_one_announcement(
    db_url: str, tmp_path: Path
) -> None:
    await seed_residents(db_url)
    fake = FakeTelegram(TOKEN)
    async with aserve(fake.app) as api, reader(db_url) as db:
        env = {**os.environ, **SETTINGS, "DATABASE_URL": db_url, "TELEGRAM_API_BASE_URL": api}
        web_env = {**env, "RUN_WORKER": "false"}
        ports = [free_port(), free_port()]
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        async with (
            serve(tmp_path, web_env, "web1", port=ports[0]) as web1,
            serve(tmp_path, web_env, "web2", port=ports[1]) as web2,
            worker(tmp_path, env, "worker1") as worker1,
            worker(tmp_path, env, "worker2") as worker2,
        ):
            webs, workers = (web1, web2), (worker1, worker2)

            def started(line: str) -> list[Outreach]:
                return [each for each in workers if line in each.output()]

            await asyncio.gather(
                *(up(web, url, START_TIMEOUT) for web, url in zip(webs, urls, strict=True)),
                worker1.until(
                    lambda: len(started("worker started") + started("as a standby")) == 2,
                    START_TIMEOUT,
                    "one worker sending, the other standing by",
                ),
            )
            [active], [standby] = started("worker started"), started("as a standby")
            await web1.until(lambda: fake.webhook is not None, PATIENCE, "the webhook")

            # Each update goes to the other web process than the one before.
            coordinator = Person(urls, fake, iter(range(1, 1000)), COORDINATOR)
            await to_preview(coordinator)
            assert f"Recipients: {len(RESIDENTS)} Telegram" in coordinator.last
            await coordinator.press("Send now")
            assert coordinator.last.startswith(
                f"Sent: broadcast #1, {len(RESIDENTS)} messages queued."
            ), coordinator.texts

            await active.until(
                lambda: sum(announced(fake).values()) >= KILL_AFTER,
                PATIENCE,
                f"{KILL_AFTER} sends",
                progress=lambda: sum(announced(fake).values()),
            )
            assert await active.stop(signal.SIGKILL) == -signal.SIGKILL
            # The fake answers in this loop: nothing was sent since the kill.
            assert sum(announced(fake).values()) < len(RESIDENTS), (
                "the kill came after the broadcast, not in the middle"
            )
            await until_sent(standby, db, "the standby finishes the broadcast")
            logs = {each.log.name: each.output() for each in (*webs, standby)}
        final = await delivery_rows(db)
        async with db.connect() as conn:
            made = await conn.scalar(select(func.count()).select_from(broadcasts))
            drafts_left = await conn.scalar(select(func.count()).select_from(announce_drafts))

    got = announced(fake)
    twice = {str(chat) for chat, n in got.items() if n > 1}
    claimed_twice = {chat for chat, row in final.items() if row["attempts"] == 2}
    print(f"\nin flight at the kill: {len(claimed_twice)}; got it twice: {len(twice)}")
    assert "worker started" in logs[standby.log.name], "the standby took over"
    assert all("Traceback" not in text for text in logs.values()), logs
    assert (made, drafts_left) == (1, 0)
    assert set(got) == set(RESIDENTS), "everyone got it, nobody else"
    assert twice <= claimed_twice, "only a send in flight at the kill may go twice"
    assert len(claimed_twice) <= CONCURRENCY
    assert {row["status"] for row in final.values()} == {"sent"}
    assert {row["attempts"] for row in final.values()} <= {1, 2}
