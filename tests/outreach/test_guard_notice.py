"""A held number is never left silent: one notice when the cost or the loop guard first holds
it, with when replies resume; none while the hold lasts, even from another process; the
notice is stored and sent like a reply but never extends the hold. On both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.simulator import SimulatorChannel
from bot.content.load import load_catalog
from bot.core.catalog import Catalog
from bot.core.guards import GuardLimits
from bot.core.keywords import Matcher
from bot.outreach.inbound import IncomingMessage, Outcome
from bot.outreach.inbox import Inbox
from bot.store.engine import create_engine
from bot.store.models import Message
from bot.store.units import Units

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
PHONE = "+923001234567"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(REPO / "content")


def make_inbox(units: Units, catalog: Catalog, per_hour: int = 3) -> Inbox:
    return Inbox(
        units,
        catalog,
        Matcher.from_catalog(catalog),
        limits=GuardLimits(replies_per_hour=per_hour, loop_repeats=3),
        loop_window=timedelta(minutes=10),
    )


class Texter:
    """One resident texting ``inbox`` at given minutes after T0."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox
        self.n = 0

    async def __call__(self, text: str, minute: float, inbox: Inbox | None = None) -> Outcome:
        self.n += 1
        msg = IncomingMessage("sms", PHONE, text, f"SM{self.n:032d}", at(minute))
        return await (inbox or self.inbox).handle(msg)


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


async def outbound(sessions: async_sessionmaker[AsyncSession]) -> list[Message]:
    async with sessions.begin() as s:
        rows = await s.scalars(select(Message).where(Message.direction == "out"))
        return list(rows.all())


async def test_the_cost_guard_tells_once_and_when_replies_resume(
    units: Units, catalog: Catalog, sessions: async_sessionmaker[AsyncSession]
) -> None:
    text = Texter(make_inbox(units, catalog))
    for minute, word in ((0, "jobs"), (5, "park"), (12, "faq 1")):
        assert (await text(word, minute)).reason is None
    held = await text("faq 2", 20)
    assert held.held == held.reason == "cost_guard"
    # The oldest reply (minute 0) leaves the hour at minute 60: 40 minutes from now.
    assert held.reply_text == catalog.text("cost_guard", "en").replace("{minutes}", "40")
    assert held.segments == 1
    again = await text("faq 3", 30)
    assert again.reason == "cost_guard" and again.reply is None, "not repeated while held"
    rows = await outbound(sessions)
    assert [m.intent for m in rows] == [None, None, None, "cost_guard"]
    assert rows[-1].text == held.reply_text and rows[-1].segments == 1

    channel = SimulatorChannel("sms")
    await text.inbox.deliver(held, channel, at(20))
    assert [s.reply.text for s in channel.outbox] == [held.reply_text], "sent like any reply"


async def test_the_notice_does_not_extend_the_hold(units: Units, catalog: Catalog) -> None:
    text = Texter(make_inbox(units, catalog))
    for minute, word in ((0, "jobs"), (5, "park"), (12, "faq 1")):
        await text(word, minute)
    assert (await text("faq 2", 20)).held == "cost_guard"
    # At minute 61 two replies are within the hour: the notice does not count as a third.
    back = await text("faq 4", 61)
    assert back.reason is None and back.reply_text is not None
    # Full again (minutes 5, 12, 61): a new hold, so a new notice, in the resident's language.
    second = await text("نوکری", 62)
    assert second.held == "cost_guard"
    assert second.reply_text == catalog.text("cost_guard", "ur").replace("{minutes}", "3")


async def test_the_loop_guard_tells_once_per_window(units: Units, catalog: Catalog) -> None:
    text = Texter(make_inbox(units, catalog, per_hour=50))
    echo = "Thank you for your message. We will get back to you soon."
    first = [await text(echo, minute) for minute in (0, 1, 2)]
    assert [o.held for o in first] == [None, None, "loop_guard"]
    # Answered again once a second copy leaves the window: minute 1 + 10.
    expected = catalog.text("loop_guard", "en").replace("{minutes}", "9")
    assert first[2].reply_text == expected
    assert (await text("jobs", 3)).reason is None, "other texts are answered"
    # The auto-responder echoes the notice back, then its own text: no second notice.
    await text(expected, 4)
    assert (await text(echo, 5)).reply is None
    # Past the window, it starts over.
    assert (await text(echo, 30)).reason is None


async def test_another_process_does_not_repeat_the_notice(
    db_url: str, units: Units, catalog: Catalog
) -> None:
    text = Texter(make_inbox(units, catalog))
    for minute, word in ((0, "jobs"), (1, "park"), (2, "faq 1")):
        await text(word, minute)
    assert (await text("faq 2", 3)).reply is not None
    engine = create_engine(db_url)
    other_units = Units(engine)
    try:
        other = await text("faq 3", 4, inbox=make_inbox(other_units, catalog))
        assert other.held == "cost_guard" and other.reply is None
    finally:
        other_units.close()
        await engine.dispose()


async def test_no_notice_to_someone_who_opted_out(
    units: Units, catalog: Catalog, sessions: async_sessionmaker[AsyncSession]
) -> None:
    text = Texter(make_inbox(units, catalog))
    assert (await text("STOP", 0)).reason is None, "the opt-out is confirmed"
    outcomes = [await text("HELP", minute) for minute in (1, 2, 3, 4)]
    assert [o.reply is not None for o in outcomes] == [True, True, False, False]
    assert outcomes[2].held == "loop_guard"
    assert all(m.intent is None for m in await outbound(sessions)), "no notice"
    silent = await text("jobs", 5)
    assert silent.reply is None and silent.reason == "opted_out"


async def test_thanks_costs_no_sms_and_is_not_held(
    units: Units, catalog: Catalog, sessions: async_sessionmaker[AsyncSession]
) -> None:
    text = Texter(make_inbox(units, catalog, per_hour=1))
    await text("jobs", 0)
    thanks = await text("shukriya", 1)
    assert thanks.reply is None and thanks.reason == "courtesy" and thanks.held is None
    assert len(await outbound(sessions)) == 1
