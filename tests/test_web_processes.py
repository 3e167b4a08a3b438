"""Two web processes on one database, as behind a reverse proxy: either may get any update.

Each "process" here is a whole app of its own, served over HTTP on 127.0.0.1: its own engine
and unit runner (on SQLite its own writer thread on the file), its own python-telegram-bot
``Application``, live catalog and inbox. They share only the database and the fake Bot API,
as processes on several hosts share PostgreSQL and Telegram. What is proved:

* a coordinator's ``/announce`` goes step by step through both, alternately, to one
  broadcast; "Send now" pressed on both at once sends once;
* a reply to a hand-over thread is started on one and written and sent on the other, once;
* an answer a coordinator adds through one is answered by the other (within its check);
* a resident's flood split across both is held by the cost and loop guards at the same count
  as by one process, even when the messages arrive at once.

``tests/test_processes.py`` runs real ``outreach serve`` and ``outreach worker`` processes on
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.core.added import AddedAnswer
from bot.outreach import answers
from bot.outreach.answers import REFRESH_EVERY
from bot.outreach.inbound import IncomingMessage, Outcome
from bot.store.broadcast_models import Announcement, Broadcast, Delivery
from bot.store.models import Message, Thread
from bot.telegram.coordinators import BUSY, STALE
from fakes.telegram_api import FakeTelegram
from tests.conftest import eventually
from tests.routes.conftest import Served, fake_telegram
from tests.telegram.conftest import fake, ids, serve_app
from tests.telegram.test_coordinators import TEXT_EN, Person, to_preview

__all__ = ["fake", "fake_telegram", "ids"]  # the fixtures, as tests/telegram has them

COORDINATOR = 777001
RESIDENTS = (5001, 5002, 5003)
PHONE = "+923001234567"
FEES = AddedAnswer(
    "fees",
    ("fees", "fees kitni hai"),
    "TEST fees: PKR 1234 (test value)",
    "ٹیسٹ فیس: 1234 روپے",
)


@asynccontextmanager
async def two_apps(db_url: str, api: str, **overrides: Any) -> AsyncIterator[list[Served]]:
    """Two apps on ``db_url`` (no worker in either: what is queued stays queued), with one
    coordinator, SMS through the simulator and the office always open."""
    settings: dict[str, Any] = {
        "coordinator_telegram_ids": str(COORDINATOR),
        "sms_provider": "simulator",
        "office_days": "mon-sun",
        "office_hours": "00:00-23:59",
        **overrides,
    }
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(serve_app(db_url, api, **settings)) for _ in "ab"]


@pytest.fixture
async def apps(db_url: str, fake_telegram: tuple[FakeTelegram, str]) -> AsyncIterator[list[Served]]:
    async with two_apps(db_url, fake_telegram[1]) as served:
        yield served


@pytest.fixture
def coordinator(apps: list[Served], fake: FakeTelegram, ids: Iterator[int]) -> Person:
    """The coordinator, whose updates go to each app in turn."""
    return Person([app.url for app in apps], fake, ids, COORDINATOR)


async def test_an_announcement_written_across_two_processes_is_sent_once(
    apps: list[Served], fake: FakeTelegram, ids: Iterator[int], coordinator: Person
) -> None:
    first, second = apps
    for chat, app in zip(RESIDENTS, itertools.cycle(apps), strict=False):
        await Person(app, fake, ids, chat).say("/start")
    messages_before = await first.count(Message)

    # /announce on one, the English text on the other, Skip on the first again, ...
    await to_preview(coordinator, urdu="پارک میں پیر سے ویب ڈیزائن کا مفت کورس۔")
    assert "Recipients: 3 Telegram" in coordinator.last
    assert coordinator.labels() == ["Send now", "Schedule…", "Cancel"]
    message, send = coordinator.button("Send now")
    presses = [
        Person(app, fake, ids, COORDINATOR).press_data(send, message) for app in (first, second)
    ]
    await asyncio.gather(*presses)

    async with second.sessions.begin() as s:
        broadcast = (await s.scalars(select(Broadcast))).one()
        announcement = (await s.scalars(select(Announcement))).one()
    assert announcement.text_en == TEXT_EN and announcement.text_ur is not None
    assert await first.count(Delivery) == 3
    assert (
        coordinator.texts.count(
            f"Sent: broadcast #{broadcast.id}, 3 messages queued. "
            f"/report {broadcast.id} shows how it goes."
        )
        == 1
    )
    pressed = [str(a.get("text")) for a in list(fake.callback_answers.values())[-2:]]
    assert sorted(pressed, key=len)[0] == "None", "the press that sent"
    assert sorted(pressed, key=len)[1] in (BUSY, STALE), "the other is turned away"
    assert await first.count(Message) == messages_before, "no answer reached the inbox"


async def test_a_draft_is_still_open_on_the_other_process_and_cancelled_there(
    apps: list[Served], fake: FakeTelegram, coordinator: Person
) -> None:
    await coordinator.say("/announce")
    await coordinator.say("stop")  # the English text on the other process, not an opt-out
    assert "Urdu text" in coordinator.last
    await coordinator.say("/cancel")
    await coordinator.say("/cancel")
    assert coordinator.texts[-2:] == [
        "Cancelled. Nothing was sent or scheduled.",
        "There is nothing to cancel.",
    ]
    assert await apps[0].count(Message) == 0
    assert await apps[0].count(Announcement) == 0


async def test_a_reply_started_on_one_process_is_written_and_sent_on_the_other(
    apps: list[Served], fake: FakeTelegram, ids: Iterator[int], coordinator: Person
) -> None:
    first, second = apps
    resident = Person(first, fake, ids, RESIDENTS[0])
    await resident.say("staff")
    await eventually(lambda: any("Thread #1" in t for t in coordinator.texts), "the notice")

    await coordinator.press("Reply")  # on one process
    assert "Write your reply to thread #1" in coordinator.last
    await coordinator.say("Salam! Which course do you want to join?")  # on the other
    assert "Telegram (free)" in coordinator.last
    message, send = coordinator.button("Send")
    await asyncio.gather(
        *(Person(app, fake, ids, COORDINATOR).press_data(send, message) for app in apps)
    )

    assert resident.texts.count("Salam! Which course do you want to join?") == 1
    assert coordinator.texts.count("Sent to thread #1 (Telegram).") == 1
    async with second.sessions.begin() as s:
        thread = (await s.scalars(select(Thread))).one()
        stored = (await s.scalars(select(Message).where(Message.thread_id == thread.id))).all()
    assert thread.answered_by == f"telegram:{COORDINATOR}"
    assert [m.text for m in stored if m.direction == "out"][-1].startswith("Salam!")
    await coordinator.say("jobs")  # no longer writing: the bot answers it, on either process
    assert "jobs" in coordinator.last.lower()


def sms(text: str, n: int, at: datetime) -> IncomingMessage:
    """What the SMS webhooks hand to the inbox: ``text`` from the resident, received ``at``."""
    return IncomingMessage("sms", PHONE, text, f"SM{n}", at)


async def test_an_answer_added_through_one_process_is_answered_by_the_other(
    apps: list[Served],
) -> None:
    first, second = apps
    now = datetime.now(UTC)
    before = await second.runtime.inbox.handle(sms("fees kitni hai", 1, now))
    assert before.thread_id is not None, "no answer yet: handed to a person"

    await answers.add(
        first.runtime.units, first.runtime.catalog, FEES, "amina", now, max_segments=2
    )

    after = await second.runtime.inbox.handle(sms("fees kitni hai", 2, now + REFRESH_EVERY))
    assert after.decision is not None and after.decision.answer_id == "fees"
    assert after.reply_text is not None and after.reply_text.startswith(FEES.sms_en)


def reasons(outcomes: list[Outcome]) -> list[str | None]:
    return [o.reason for o in outcomes]


@pytest.fixture
async def guarded(
    db_url: str, fake_telegram: tuple[FakeTelegram, str]
) -> AsyncIterator[list[Served]]:
    """Two apps that answer a number 3 times an hour, and the same text twice in 10 minutes."""
    async with two_apps(
        db_url, fake_telegram[1], sms_replies_per_hour=3, loop_guard_repeats=3
    ) as served:
        yield served


async def test_the_cost_guard_holds_a_flood_split_across_two_processes_at_its_count(
    guarded: list[Served],
) -> None:
    now = datetime.now(UTC)
    texts = ["jobs", "training", "courses", "faq 1", "faq 2", "faq 3", "menu"]
    outcomes = [
        await app.runtime.inbox.handle(sms(text, n, now + timedelta(seconds=n)))
        for n, (text, app) in enumerate(zip(texts, itertools.cycle(guarded), strict=False))
    ]
    assert reasons(outcomes) == [None, None, None, *["cost_guard"] * 4]
    assert [o.reply is not None for o in outcomes] == [True] * 4 + [False] * 3, (
        "three answers, then one notice, then nothing"
    )


async def test_the_loop_guard_holds_a_repeat_split_across_two_processes_at_its_count(
    guarded: list[Served],
) -> None:
    now = datetime.now(UTC)
    outcomes = [
        await guarded[n % 2].runtime.inbox.handle(sms("jobs", n, now + timedelta(seconds=n)))
        for n in range(5)
    ]
    assert reasons(outcomes) == [None, None, *["loop_guard"] * 3]
    assert [o.reply is not None for o in outcomes] == [True, True, True, False, False]


async def test_a_flood_arriving_at_once_on_two_processes_gets_no_more_than_the_guard_allows(
    guarded: list[Served],
) -> None:
    now = datetime.now(UTC)
    first = await guarded[0].runtime.inbox.handle(sms("hello", 0, now))
    assert first.reason is None
    texts = ["jobs", "training", "courses", "faq 1", "faq 2", "faq 3", "menu"]
    later = now + timedelta(seconds=1)
    flood = await asyncio.gather(
        *(
            guarded[n % 2].runtime.inbox.handle(sms(text, n, later))
            for n, text in enumerate(texts, start=1)
        )
    )
    # Counted one at a time: without that, on PostgreSQL, 4 or 5 of them were answered.
    assert sorted(reasons(flood), key=str) == [None, None, *["cost_guard"] * 5]
    assert sum(o.reply is not None for o in flood) == 3, "two answers and one notice"
