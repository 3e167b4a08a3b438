"""The coordinators' side of a hand-over: show, reply on the resident's channel, close; on
both databases. Channels are the simulator (what it records is what a provider would get)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.base import RecipientGone, Retryable, SendResult
from bot.channels.simulator import SimulatorChannel
from bot.content.load import load_catalog
from bot.core.catalog import Catalog
from bot.core.decision import Channel, Reply
from bot.core.keywords import Matcher
from bot.outreach.handover import Handover, ReplyRefused, cost_line, outcome_line
from bot.outreach.inbound import IncomingMessage
from bot.outreach.inbox import Inbox
from bot.store.models import Contact, Message
from bot.store.units import Units

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # Monday 12:00 in Karachi
PHONE = "+923007654321"

_seq = iter(range(1, 1_000_000))


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(REPO / "content")


@pytest.fixture
def sms() -> SimulatorChannel:
    return SimulatorChannel("sms")


@pytest.fixture
def telegram() -> SimulatorChannel:
    return SimulatorChannel("telegram")


@pytest.fixture
def inbox(units: Units, catalog: Catalog) -> Inbox:
    return Inbox(units, catalog, Matcher.from_catalog(catalog), sms_max_segments=2)


@pytest.fixture
def handover(
    units: Units, inbox: Inbox, sms: SimulatorChannel, telegram: SimulatorChannel
) -> Handover:
    return Handover(units, inbox, {"sms": sms, "telegram": telegram}, sms_max_segments=2)


async def ask(inbox: Inbox, text: str = "fees kitni hai", *, channel: Channel = "sms") -> int:
    sender = PHONE if channel == "sms" else "5550001"
    n = next(_seq)
    out = await inbox.handle(
        IncomingMessage(channel, sender, text, f"p{n}", NOW + timedelta(seconds=n))
    )
    assert out.thread_id is not None
    return out.thread_id


async def thread_messages(
    sessions: async_sessionmaker[AsyncSession], thread_id: int
) -> list[Message]:
    async with sessions.begin() as s:
        stmt = select(Message).where(Message.thread_id == thread_id).order_by(Message.id)
        return list((await s.scalars(stmt)).all())


async def test_a_reply_goes_to_the_resident_by_sms_and_is_stored_in_the_thread(
    inbox: Inbox,
    handover: Handover,
    sms: SimulatorChannel,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    thread_id = await ask(inbox)

    sent = await handover.reply(thread_id, "  Please call the park office.  ", "amina", NOW)

    assert (sent.channel, sent.address, sent.segments, sent.error) == ("sms", PHONE, 1, None)
    assert [(s.to, s.reply.text) for s in sms.outbox] == [(PHONE, "Please call the park office.")]
    rows = await thread_messages(sessions, thread_id)
    assert [(m.direction, m.text, m.status) for m in rows][-1] == (
        "out",
        "Please call the park office.",
        "simulated",
    )
    view = await handover.show(thread_id)
    assert view is not None
    assert (view.thread.state, view.thread.claimed_by, view.thread.answered_by) == (
        "claimed",
        "amina",
        "amina",
    )
    assert [line.text for line in view.lines][-1] == "Please call the park office."


async def test_a_telegram_resident_is_answered_on_telegram(
    inbox: Inbox, handover: Handover, sms: SimulatorChannel, telegram: SimulatorChannel
) -> None:
    thread_id = await ask(inbox, "talk to someone", channel="telegram")

    sent = await handover.reply(thread_id, "Hello, how can we help?", "telegram:42", NOW)

    assert (sent.channel, sent.segments) == ("telegram", None)
    assert [s.to for s in telegram.outbox] == ["5550001"]
    assert sms.outbox == []


async def test_only_the_coordinator_who_claimed_a_thread_answers_it(
    inbox: Inbox, handover: Handover, sms: SimulatorChannel
) -> None:
    thread_id = await ask(inbox)
    assert (await handover.claim(thread_id, "amina", NOW)).ok

    with pytest.raises(ReplyRefused, match="being answered by amina"):
        await handover.reply(thread_id, "Me too", "bilal", NOW)
    await handover.reply(thread_id, "Hello", "amina", NOW)

    assert [s.reply.text for s in sms.outbox] == ["Hello"]


async def test_two_coordinators_replying_at_once_send_one_reply(
    inbox: Inbox, handover: Handover, sms: SimulatorChannel
) -> None:
    thread_id = await ask(inbox)

    results = await asyncio.gather(
        handover.reply(thread_id, "From Amina", "amina", NOW),
        handover.reply(thread_id, "From Bilal", "bilal", NOW),
        return_exceptions=True,
    )

    refused = [r for r in results if isinstance(r, ReplyRefused)]
    assert len(refused) == 1 and "being answered by" in str(refused[0])
    assert len(sms.outbox) == 1


async def test_an_opted_out_resident_never_gets_a_coordinators_reply(
    inbox: Inbox,
    handover: Handover,
    sms: SimulatorChannel,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    thread_id = await ask(inbox)
    await inbox.handle(IncomingMessage("sms", PHONE, "STOP", "p-stop", NOW + timedelta(hours=1)))

    with pytest.raises(ReplyRefused, match="opted out"):
        await handover.reply(thread_id, "Hello?", "amina", NOW + timedelta(hours=2))

    assert sms.outbox == []
    assert [m.direction for m in await thread_messages(sessions, thread_id)] == ["in", "out"]


async def test_an_sms_reply_over_the_segment_limit_is_refused_and_nothing_stored(
    inbox: Inbox,
    handover: Handover,
    sms: SimulatorChannel,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    thread_id = await ask(inbox)
    long_urdu = "آپ کا سوال " * 30

    assert "over the limit of 2" in cost_line("sms", long_urdu, 2)
    with pytest.raises(ReplyRefused, match=r"takes \d+ segments \(UCS-2\); at most 2"):
        await handover.reply(thread_id, long_urdu, "amina", NOW)
    with pytest.raises(ReplyRefused, match="empty"):
        await handover.reply(thread_id, "   ", "amina", NOW)

    assert sms.outbox == []
    assert len(await thread_messages(sessions, thread_id)) == 2  # the question and the ack
    view = await handover.show(thread_id)
    assert view is not None and view.thread.state == "open"  # a refusal claims nothing


async def test_a_closed_thread_takes_no_reply_and_the_next_question_opens_a_new_one(
    inbox: Inbox, handover: Handover, sms: SimulatorChannel
) -> None:
    thread_id = await ask(inbox)
    assert await handover.close(thread_id, "amina", NOW)
    assert not await handover.close(thread_id, "amina", NOW)

    with pytest.raises(ReplyRefused, match="closed"):
        await handover.reply(thread_id, "Hello", "amina", NOW)
    with pytest.raises(ReplyRefused, match="no thread #999"):
        await handover.reply(999, "Hello", "amina", NOW)
    assert await ask(inbox, "staff") != thread_id
    assert [t.id for t in await handover.list(["closed"])] == [thread_id]
    assert sms.outbox == []


class _Gone:
    channel: Channel = "sms"

    async def send(self, to: str, reply: Reply) -> SendResult:
        raise RecipientGone("twilio 21610", status="opted_out")


async def test_a_provider_refusal_is_reported_and_recorded(
    units: Units, inbox: Inbox, sessions: async_sessionmaker[AsyncSession]
) -> None:
    handover = Handover(
        units, inbox, {"sms": _Gone(), "telegram": SimulatorChannel("telegram")}, sms_max_segments=2
    )
    thread_id = await ask(inbox)

    sent = await handover.reply(thread_id, "Hello", "amina", NOW)

    assert sent.error == "twilio 21610"
    assert (await thread_messages(sessions, thread_id))[-1].status == "failed"
    async with sessions.begin() as s:
        contact = (await s.scalars(select(Contact).where(Contact.address == PHONE))).one()
    assert contact.status == "opted_out"


class _DownOnce:
    """Answers 502 once, then accepts."""

    channel: Channel = "sms"

    def __init__(self) -> None:
        self.down = True
        self.accepted: list[tuple[str, str]] = []

    async def send(self, to: str, reply: Reply) -> SendResult:
        if self.down:
            self.down = False
            raise Retryable("twilio 502")
        self.accepted.append((to, reply.text))
        return SendResult(provider_id="SM-later")


async def test_a_coordinators_reply_waits_out_an_outage_in_the_outbox(
    units: Units, inbox: Inbox, sessions: async_sessionmaker[AsyncSession]
) -> None:
    provider = _DownOnce()
    handover = Handover(
        units,
        inbox,
        {"sms": provider, "telegram": SimulatorChannel("telegram")},
        sms_max_segments=2,
    )
    thread_id = await ask(inbox)

    sent = await handover.reply(thread_id, "The office opens at nine.", "amina", NOW)

    assert (sent.error, sent.later) == ("twilio 502", True)
    line = outcome_line(sent)
    assert line is not None and line.startswith("Not sent yet: twilio 502") and "kept" in line
    stored = (await thread_messages(sessions, thread_id))[-1]
    assert (stored.direction, stored.status, stored.reply_to) == ("out", "queued", None)
    assert stored.next_attempt_at is not None
    assert await inbox.replies.sweep("sms", provider, stored.next_attempt_at) == 1
    assert provider.accepted == [(PHONE, "The office opens at nine.")]
    stored = (await thread_messages(sessions, thread_id))[-1]
    assert (stored.status, stored.provider_id) == ("sent", "SM-later")
    await inbox.replies.sweep("sms", provider, NOW + timedelta(days=1))  # the bot's own too
    assert provider.accepted.count((PHONE, "The office opens at nine.")) == 1, "sent once"
