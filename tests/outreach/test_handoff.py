"""Which messages the inbox hands over to a person (bot.outreach.handoff), on both databases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.catalog import Catalog
from bot.outreach.inbound import IncomingMessage
from bot.outreach.inbox import Inbox
from tests.outreach.test_inbox import _seq, catalog, inbox, messages

__all__ = ["catalog", "inbox"]


MONDAY_NOON = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # 12:00 in Karachi, office open
SUNDAY_NOON = datetime(2026, 11, 29, 7, 0, tzinfo=UTC)  # the office is closed on Sundays


def at(text: str, when: datetime, sender: str = "0300 7654321") -> IncomingMessage:
    return IncomingMessage("sms", sender, text, f"SM{next(_seq):032d}", when)


async def test_asking_for_a_person_opens_a_thread_and_says_a_person_will_answer(
    inbox: Inbox, catalog: Catalog, sessions: async_sessionmaker[AsyncSession]
) -> None:
    out = await inbox.handle(at("insaan se baat karni hai", MONDAY_NOON))

    assert out.decision is not None and out.decision.intent == "staff"
    assert out.reply_text == catalog.text("handed_over", "ur-Latn")  # asked in Roman Urdu
    assert out.thread_id is not None
    rows = await messages(sessions)
    assert [(m.direction, m.thread_id) for m in rows] == [
        ("in", out.thread_id),
        ("out", out.thread_id),
    ]


async def test_out_of_office_hours_the_resident_is_told_when_the_answer_comes(
    inbox: Inbox, catalog: Catalog
) -> None:
    out = await inbox.handle(at("رابطہ", SUNDAY_NOON))

    assert out.reply_text == catalog.text("handed_over_closed", "ur")


async def test_the_second_miss_in_a_row_is_handed_over_and_the_first_is_not(
    inbox: Inbox, catalog: Catalog
) -> None:
    first = await inbox.handle(at("qwerty uiop", MONDAY_NOON))
    second = await inbox.handle(at("zxcv bnm", MONDAY_NOON + timedelta(minutes=2)))

    assert first.thread_id is None
    assert first.reply_text == catalog.text("not_understood", "en")
    assert second.decision is not None
    assert (second.decision.intent, second.decision.matched) == ("staff", "missed")
    assert second.thread_id is not None
    assert second.reply_text == catalog.text("handed_over", "en")


async def test_misses_far_apart_or_with_an_answer_between_are_not_handed_over(
    inbox: Inbox,
) -> None:
    await inbox.handle(at("qwerty uiop", MONDAY_NOON))
    late = await inbox.handle(at("zxcv bnm", MONDAY_NOON + timedelta(hours=2)))
    await inbox.handle(at("jobs", MONDAY_NOON + timedelta(hours=2, minutes=1)))
    after_answer = await inbox.handle(at("asdf", MONDAY_NOON + timedelta(hours=2, minutes=2)))

    assert late.thread_id is None
    assert after_answer.thread_id is None


async def test_while_a_thread_is_open_what_the_bot_cannot_answer_joins_it(inbox: Inbox) -> None:
    opened = await inbox.handle(at("staff", MONDAY_NOON))
    answered = await inbox.handle(at("jobs", MONDAY_NOON + timedelta(minutes=1)))
    joined = await inbox.handle(at("my cousin wants to know", MONDAY_NOON + timedelta(minutes=2)))
    again = await inbox.handle(at("agent", MONDAY_NOON + timedelta(minutes=3)))

    assert opened.thread_id is not None
    assert answered.thread_id is None  # the bot still answers what it can
    assert joined.thread_id == opened.thread_id
    assert again.thread_id == opened.thread_id


async def test_thanks_joins_the_open_thread_without_a_reply_and_is_no_miss(
    inbox: Inbox, sessions: async_sessionmaker[AsyncSession]
) -> None:
    alone = await inbox.handle(at("shukriya", MONDAY_NOON, sender="0300 7654322"))
    assert alone.reply is None and alone.thread_id is None
    miss = await inbox.handle(at("qwerty", MONDAY_NOON + timedelta(minutes=1), "0300 7654322"))
    assert miss.thread_id is None, "thanks before a miss is not a first miss"

    opened = await inbox.handle(at("staff", MONDAY_NOON))
    thanks = await inbox.handle(at("Thank you!", MONDAY_NOON + timedelta(minutes=5)))
    assert thanks.reply is None and thanks.thread_id == opened.thread_id
    rows = [m for m in await messages(sessions) if m.thread_id == opened.thread_id]
    assert [m.text for m in rows if m.direction == "in"] == ["staff", "Thank you!"]


async def test_an_opted_out_resident_asking_for_a_person_gets_nothing_and_no_thread(
    inbox: Inbox,
) -> None:
    await inbox.handle(at("STOP", MONDAY_NOON))
    out = await inbox.handle(at("staff", MONDAY_NOON + timedelta(minutes=1)))

    assert out.reply is None and out.thread_id is None


async def test_coordinators_are_notified_of_each_message_that_joins_a_thread(
    inbox: Inbox,
) -> None:
    seen: asyncio.Queue[int] = asyncio.Queue()

    async def watcher(thread_id: int) -> None:
        await seen.put(thread_id)

    async def broken(thread_id: int) -> None:
        raise RuntimeError("telegram is down")

    inbox.on_handover(broken)  # a failing notice is logged and never stops the others
    inbox.on_handover(watcher)
    opened = await inbox.handle(at("staff", MONDAY_NOON))
    await inbox.handle(at("jobs", MONDAY_NOON + timedelta(minutes=1)))
    await inbox.handle(at("and the fees?", MONDAY_NOON + timedelta(minutes=2)))

    first = await asyncio.wait_for(seen.get(), 5)
    second = await asyncio.wait_for(seen.get(), 5)
    assert first == second == opened.thread_id
