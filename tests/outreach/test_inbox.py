"""The inbox: every inbound message stored, answered once, effects recorded, on both databases."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.channels.base import Retryable, SendResult
from bot.channels.simulator import SimulatorChannel
from bot.content.load import load_catalog
from bot.core.catalog import Catalog
from bot.core.decision import Reply
from bot.core.guards import GuardLimits
from bot.core.keywords import Matcher
from bot.core.phones import to_e164
from bot.core.segments import count_segments
from bot.outreach.inbound import IncomingMessage
from bot.outreach.inbox import Inbox
from bot.outreach.replies import MAX_BACKOFF, Replies
from bot.store.messages import count_messages
from bot.store.models import Contact, Message, Subscriber
from bot.store.units import Units
from tests.conftest import (
    PATIENCE,
    create_elsewhere,
    eventually,
    postgres_only,
    waiting_for_a_lock,
)

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(REPO / "content")


@pytest.fixture
def inbox(units: Units, catalog: Catalog) -> Inbox:
    return Inbox(units, catalog, Matcher.from_catalog(catalog), sms_max_segments=2)


_seq = iter(range(1, 1_000_000))


def sms(text: str, sender: str = "0300 1234567", provider_id: str | None = None) -> IncomingMessage:
    n = next(_seq)
    return IncomingMessage(
        channel="sms",
        sender=sender,
        text=text,
        provider_id=provider_id or f"SM{n:032d}",
        received_at=T0 + timedelta(seconds=n),
    )


async def messages(sessions: async_sessionmaker[AsyncSession]) -> list[Message]:
    async with sessions.begin() as s:
        return list((await s.scalars(select(Message).order_by(Message.id))).all())


async def contact(sessions: async_sessionmaker[AsyncSession], address: str) -> Contact:
    async with sessions.begin() as s:
        return (await s.scalars(select(Contact).where(Contact.address == address))).one()


async def test_a_keyword_is_stored_answered_and_recorded(
    inbox: Inbox, sessions: async_sessionmaker[AsyncSession]
) -> None:
    out = await inbox.handle(sms("naukri"))
    assert out.address == "+923001234567", "stored in E.164"
    assert out.decision is not None and out.decision.answer_id == "jobs"
    assert out.reply_text is not None and out.segments == 1
    rows = await messages(sessions)
    assert [(m.direction, m.status) for m in rows] == [("in", "received"), ("out", "queued")]
    assert rows[1].text == out.reply_text and rows[1].segments == 1

    channel = SimulatorChannel("sms")
    await inbox.deliver(out, channel, T0)
    assert channel.outbox[0].to == "+923001234567"
    rows = await messages(sessions)
    assert rows[1].status == "simulated" and rows[1].provider_id == channel.outbox[0].provider_id


async def test_a_repeated_provider_id_is_processed_once(
    inbox: Inbox, sessions: async_sessionmaker[AsyncSession]
) -> None:
    first = await inbox.handle(sms("jobs", provider_id="SMdup"))
    again = await inbox.handle(sms("jobs", provider_id="SMdup"))
    assert not first.duplicate and first.reply is not None
    assert again.duplicate and again.reply is None
    assert len(await messages(sessions)) == 2, "one inbound, one reply"


async def test_stop_silences_everything_until_start(
    inbox: Inbox, sessions: async_sessionmaker[AsyncSession]
) -> None:
    stop = await inbox.handle(sms("Stop. Thank you"))
    assert stop.decision is not None and stop.decision.intent == "opt_out"
    assert stop.reply is not None, "one confirmation"
    c = await contact(sessions, "+923001234567")
    assert c.status == "opted_out"
    assert c.status_words == "Stop. Thank you" and c.status_reason == "keyword"
    assert c.status_changed_at is not None

    for text in ("jobs", "FAQ 3", "hello", "band karo"):
        out = await inbox.handle(sms(text))
        assert out.reply is None, f"{text!r} must not be answered while opted out"

    start = await inbox.handle(sms("START"))
    assert start.decision is not None and start.decision.intent == "opt_in"
    assert start.reply is not None
    assert (await contact(sessions, "+923001234567")).status == "active"
    assert (await inbox.handle(sms("jobs"))).reply is not None

    outbound = [m for m in await messages(sessions) if m.direction == "out"]
    assert len(outbound) == 3, "opt-out confirmation, opt-in confirmation, the answer"


async def test_help_is_answered_even_when_opted_out(inbox: Inbox) -> None:
    await inbox.handle(sms("STOP"))
    out = await inbox.handle(sms("HELP"))
    assert out.decision is not None and out.decision.intent == "help"
    assert out.reply is not None


async def test_urdu_script_is_answered_in_urdu_and_remembered(
    inbox: Inbox, sessions: async_sessionmaker[AsyncSession]
) -> None:
    out = await inbox.handle(sms("نوکری"))
    assert out.decision is not None and out.decision.language == "ur"
    assert out.reply_text is not None and count_segments(out.reply_text).encoding == "UCS-2"
    assert out.segments is not None and out.segments <= 2
    later = await inbox.handle(sms("jobs"))
    assert later.decision is not None and later.decision.language == "ur"


async def test_language_words_switch_and_persist(inbox: Inbox) -> None:
    assert (await inbox.handle(sms("URDU"))).decision.language == "ur"  # type: ignore[union-attr]
    assert (await inbox.handle(sms("faq 1"))).decision.language == "ur"  # type: ignore[union-attr]
    assert (await inbox.handle(sms("ENGLISH"))).decision.language == "en"  # type: ignore[union-attr]
    assert (await inbox.handle(sms("faq 1"))).decision.language == "en"  # type: ignore[union-attr]


async def test_an_unparseable_sender_is_stored_as_invalid_and_not_answered(
    inbox: Inbox, sessions: async_sessionmaker[AsyncSession]
) -> None:
    out = await inbox.handle(sms("jobs", sender="SHORTCODE-XYZ"))
    assert out.reply is None
    c = await contact(sessions, "SHORTCODE-XYZ")
    assert c.status == "invalid"
    assert [m.direction for m in await messages(sessions)] == ["in"], "kept, not answered"


async def test_one_person_in_two_spellings_is_one_subscriber(
    inbox: Inbox, sessions: async_sessionmaker[AsyncSession]
) -> None:
    for sender in ("03001234567", "+92 300 1234567", "923001234567", "۰۳۰۰۱۲۳۴۵۶۷"):
        await inbox.handle(sms("jobs", sender=sender))
    async with sessions.begin() as s:
        assert await s.scalar(select(func.count()).select_from(Contact)) == 1


async def test_sms_replies_never_exceed_the_segment_limit(
    units: Units, sessions: async_sessionmaker[AsyncSession], catalog: Catalog
) -> None:
    one = Inbox(units, catalog, Matcher.from_catalog(catalog), sms_max_segments=1)
    for text in ("faq 1", "faq 6", "نوکری", "how can women benefit from tech"):
        out = await one.handle(sms(text))
        assert out.reply_text is not None
        assert count_segments(out.reply_text).segments == 1 == out.segments


async def test_telegram_gets_the_full_text_and_buttons(inbox: Inbox) -> None:
    out = await inbox.handle(
        IncomingMessage("telegram", "555001", "jobs", provider_id="u1", received_at=T0)
    )
    assert out.reply is not None and out.segments is None
    assert out.reply.buttons, "an answer offers a way back to the menu"


class _Down:
    channel = "sms"

    async def send(self, to: str, reply: Reply) -> SendResult:
        raise Retryable("provider down", after=5)


async def test_a_transient_send_error_is_recorded_as_a_retry_and_raised(
    inbox: Inbox, units: Units, sessions: async_sessionmaker[AsyncSession]
) -> None:
    out = await inbox.handle(sms("jobs"))
    with pytest.raises(Retryable):
        await inbox.deliver(out, _Down(), T0)  # type: ignore[arg-type]
    reply = (await messages(sessions))[1]
    assert reply.status == "queued" and reply.error == "provider down"
    assert (reply.attempts, reply.next_attempt_at) == (1, T0 + timedelta(seconds=5)), (
        "due again when the provider said"
    )
    assert await units.run(count_messages) == 2


class _DownFor:
    """Answers 502 to the first ``times`` sends, then accepts."""

    channel = "sms"

    def __init__(self, times: int) -> None:
        self.left = times
        self.calls = 0

    async def send(self, to: str, reply: Reply) -> SendResult:
        self.calls += 1
        if self.left:
            self.left -= 1
            raise Retryable("502")
        return SendResult(provider_id="SM-after-the-outage")


async def test_an_outage_longer_than_the_retries_delays_a_reply_and_never_drops_it(
    units: Units, sessions: async_sessionmaker[AsyncSession], catalog: Catalog
) -> None:
    outbox = Replies(units, max_attempts=3, base_backoff=timedelta(seconds=30))
    inbox = Inbox(units, catalog, Matcher.from_catalog(catalog), outbox=outbox)
    provider = _DownFor(times=12)  # four times max_attempts
    with pytest.raises(Retryable):
        await inbox.deliver(await inbox.handle(sms("jobs")), provider, T0)  # type: ignore[arg-type]
    now, waits = T0, []
    while (reply := (await messages(sessions))[1]).status != "sent":
        assert reply.status == "queued", f"dropped after {reply.attempts} attempts"
        assert reply.next_attempt_at is not None and len(waits) < 20
        waits.append(reply.next_attempt_at - now)
        now = reply.next_attempt_at
        assert await outbox.sweep("sms", provider, now - timedelta(seconds=1)) == 0, "not before"
        assert await outbox.sweep("sms", provider, now) == 1  # type: ignore[arg-type]
    assert (reply.status, reply.provider_id) == ("sent", "SM-after-the-outage")
    assert (reply.attempts, provider.calls) == (13, 13)
    assert waits[:3] == [timedelta(seconds=s) for s in (30, 60, 120)], "backing off"
    assert max(waits) == MAX_BACKOFF == waits[-1], "never further apart than MAX_BACKOFF"


async def test_cost_guard_holds_replies_past_the_hourly_cap_but_not_stop(
    units: Units, sessions: async_sessionmaker[AsyncSession], catalog: Catalog
) -> None:
    capped = Inbox(
        units,
        catalog,
        Matcher.from_catalog(catalog),
        limits=GuardLimits(replies_per_hour=3),
    )
    texts = ("jobs", "park", "faq 1", "faq 2", "faq 3")
    answered = [await capped.handle(sms(text)) for text in texts]
    assert [o.held for o in answered] == [None, None, None, "cost_guard", "cost_guard"]
    assert answered[3].reply_text is not None and "resume" in answered[3].reply_text
    assert answered[4].reply is None, "one notice per hold"
    stop = await capped.handle(sms("STOP"))
    assert stop.reply is not None, "an opt-out is always confirmed"
    rows = await messages(sessions)
    assert sum(m.direction == "in" for m in rows) == 6, "held messages are still stored"
    assert sum(m.direction == "out" for m in rows) == 5


async def test_cost_guard_counts_only_the_last_hour(
    units: Units, sessions: async_sessionmaker[AsyncSession], catalog: Catalog
) -> None:
    capped = Inbox(
        units,
        catalog,
        Matcher.from_catalog(catalog),
        limits=GuardLimits(replies_per_hour=1),
    )
    first = IncomingMessage("sms", "03001234567", "jobs", "p1", T0)
    later = IncomingMessage("sms", "03001234567", "park", "p2", T0 + timedelta(minutes=61))
    assert (await capped.handle(first)).reply is not None
    assert (await capped.handle(later)).reply is not None


async def test_loop_guard_stops_answering_an_auto_responder(inbox: Inbox) -> None:
    echo = "Thank you for your message. We will get back to you soon."
    outcomes = [await inbox.handle(sms(echo)) for _ in range(4)]
    assert [o.held for o in outcomes] == [None, None, "loop_guard", "loop_guard"]
    assert outcomes[2].reply_text is not None and "same message" in outcomes[2].reply_text
    assert outcomes[3].reply is None, "one notice per hold"


async def test_guards_do_not_apply_to_telegram(inbox: Inbox) -> None:
    for n in range(5):
        out = await inbox.handle(
            IncomingMessage("telegram", "555002", "hello", f"u{n}", T0 + timedelta(seconds=n))
        )
        assert out.reply is not None


async def test_advanced_opt_out_records_but_does_not_confirm(
    inbox: Inbox, sessions: async_sessionmaker[AsyncSession]
) -> None:
    out = await inbox.handle(sms("STOP"), provider_handles_compliance=True)
    assert out.reply is None and out.held == "provider_handles_compliance"
    assert (await contact(sessions, "+923001234567")).status == "opted_out"
    back = await inbox.handle(sms("START"), provider_handles_compliance=True)
    assert back.reply is None
    assert (await contact(sessions, "+923001234567")).status == "active"
    help_ = await inbox.handle(sms("HELP"), provider_handles_compliance=True)
    assert help_.reply is not None, "HELP is still ours to answer"


async def test_a_reply_is_dropped_when_stop_arrives_before_it_is_sent(
    inbox: Inbox, sessions: async_sessionmaker[AsyncSession]
) -> None:
    answer = await inbox.handle(sms("jobs"))
    stop = await inbox.handle(sms("STOP"))
    channel = SimulatorChannel("sms")
    await inbox.deliver(answer, channel, T0)
    await inbox.deliver(stop, channel, T0)
    assert [s.reply.text for s in channel.outbox] == [stop.reply_text], "only the confirmation"
    rows = await messages(sessions)
    dropped = next(m for m in rows if m.id == answer.outbound_id)
    assert dropped.status == "failed" and dropped.error == "opted out before sending"


class _Broken:
    channel = "sms"

    async def send(self, to: str, reply: Reply) -> SendResult:
        raise RuntimeError("client closed")


async def test_an_unexpected_send_error_is_recorded_and_retried_later(
    inbox: Inbox, sessions: async_sessionmaker[AsyncSession]
) -> None:
    out = await inbox.handle(sms("jobs"))
    with pytest.raises(RuntimeError):
        await inbox.deliver(out, _Broken(), T0)  # type: ignore[arg-type]
    reply = (await messages(sessions))[1]
    assert reply.status == "queued" and reply.error == "unexpected: RuntimeError"
    assert reply.next_attempt_at == T0 + timedelta(seconds=30), "the first backoff"


async def test_messages_that_arrive_together_are_answered_as_one_by_one(
    units: Units, sessions: async_sessionmaker[AsyncSession], catalog: Catalog
) -> None:
    capped = Inbox(
        units, catalog, Matcher.from_catalog(catalog), limits=GuardLimits(replies_per_hour=3)
    )
    echo = "Thank you for your message. We will get back to you soon."
    sent = {
        "03001111111": [sms(t, "03001111111") for t in ("jobs", "park", "faq 1", "faq 2", "faq 3")],
        "03002222222": [sms(echo, "03002222222") for _ in range(4)],
        "03003333333": [sms(t, "03003333333") for t in ("STOP", "jobs", "START", "jobs")],
        "03004444444": [sms("jobs", "03004444444", provider_id="SMtwice") for _ in range(2)],
    }
    # Sent in turn, one number after another, all at once (on PostgreSQL all but the first
    # wait for the first's unit and go in one).
    order = [m for turn in itertools.zip_longest(*sent.values()) for m in turn if m]
    answers = await asyncio.gather(*map(capped.handle, order))
    outcomes = dict(zip(map(id, order), answers, strict=True))
    got = {number: [outcomes[id(m)] for m in ms] for number, ms in sent.items()}

    capped_out = got["03001111111"]
    assert [o.held for o in capped_out] == [None, None, None, "cost_guard", "cost_guard"]
    assert capped_out[3].reply_text is not None and "resume" in capped_out[3].reply_text
    assert capped_out[4].reply is None, "one notice per hold"
    looping = got["03002222222"]
    assert [o.held for o in looping] == [None, None, "loop_guard", "loop_guard"]
    assert [o.reason for o in got["03003333333"]] == [None, "opted_out", None, None]
    assert [o.duplicate for o in got["03004444444"]] == [False, True]

    rows = await messages(sessions)
    inbound = {m.id: m for m in rows if m.direction == "in"}
    assert len(inbound) == 14, "every message stored once"
    for ms in sent.values():
        stored = [m for m in inbound.values() if m.provider_id in {x.provider_id for x in ms}]
        assert [m.text for m in sorted(stored, key=lambda m: m.id)] == [
            m.text for m in ms[: len(stored)]
        ], "each number's messages stored in the order sent"
    answered = {o.outbound_id: o for o in outcomes.values() if o.outbound_id is not None}
    replies = [m for m in rows if m.direction == "out"]
    # Three answers and a notice, two answers and a notice, three confirmations and answers, one.
    assert len(replies) == len(answered) == 4 + 3 + 3 + 1
    for reply in replies:
        asked = inbound[reply.reply_to]
        assert asked.contact_id == reply.contact_id, "a reply goes to whoever asked"
        assert answered[reply.id].reply_text == reply.text


def patient(units: Units, catalog: Catalog) -> Inbox:
    """An inbox whose units for many messages wait for a lock as long as it takes: one that
    waited at all would hold up a test until PATIENCE runs out."""
    matcher = Matcher.from_catalog(catalog)
    return Inbox(units, catalog, matcher, lock_patience=timedelta(hours=1))


@postgres_only
@pytest.mark.parametrize("change", [False, True], ids=["locked", "changed"])
async def test_a_number_another_transaction_holds_holds_up_no_one_else(
    units: Units, catalog: Catalog, engine: AsyncEngine, change: bool
) -> None:
    inbox = patient(units, catalog)
    for number in ("03001111111", "03002222222", "03003333333"):
        await inbox.handle(sms("jobs", number))
    async with engine.connect() as other:
        held_row = Contact.address == "+923002222222"
        if change:  # a STOP or a delivery report being recorded, say
            await other.execute(update(Contact).where(held_row).values(updated_at=T0))
        else:
            await other.execute(select(Contact.id).where(held_row).with_for_update())
        first, held, free = (
            asyncio.ensure_future(inbox.handle(sms("park", number)))
            for number in ("03001111111", "03002222222", "03003333333")
        )
        answered = await asyncio.wait_for(asyncio.gather(first, free), PATIENCE)
        assert all(o.reply is not None for o in answered)
        assert not held.done(), "it waits for the number's lock"
        await other.rollback()
    assert (await held).reply is not None


@postgres_only
async def test_a_question_after_stop_finds_the_number_opted_out_when_a_unit_gives_up(
    inbox: Inbox, engine: AsyncEngine
) -> None:
    await inbox.handle(sms("jobs", "03001111111"))
    async with engine.connect() as other:
        # Another transaction creating a number that the unit also has: the unit waits for
        # it, gives up, and its messages go again one at a time.
        await create_elsewhere(other, "+923002222222", T0)
        new, stop, question = (
            asyncio.ensure_future(inbox.handle(m))
            for m in (sms("park", "03002222222"), sms("STOP"), sms("jobs"))
        )
        assert (await stop).reply is not None
        assert (await question).reason == "opted_out", "never answered after STOP"
        await other.commit()
    assert (await new).reply is not None


@postgres_only
async def test_a_held_number_s_messages_are_taken_in_the_order_they_came(
    inbox: Inbox, engine: AsyncEngine
) -> None:
    # Ten rounds: without the number's turn the two raced, and the question won one in ten.
    for r in range(10):
        number = f"0300111{r:04d}"
        await inbox.handle(sms("jobs", number))
        async with engine.connect() as other:
            await other.execute(
                select(Contact.id).where(Contact.address == to_e164(number, "PK")).with_for_update()
            )
            # The STOP and the question go in one unit, find the number held and wait for it.
            first, stop, question = (
                asyncio.ensure_future(inbox.handle(m))
                for m in (sms("park", "03009999999"), sms("STOP", number), sms("jobs", number))
            )
            await first
            await eventually(lambda: waiting_for_a_lock(engine), "the STOP waits for the lock")
            await other.rollback()
        assert (await stop).reply is not None
        assert (await question).reason == "opted_out", f"round {r}: answered after STOP"


@postgres_only
async def test_a_stop_whose_webhook_went_away_is_done_before_the_next_message(
    inbox: Inbox, engine: AsyncEngine
) -> None:
    await inbox.handle(sms("jobs"))
    async with engine.connect() as other:
        await other.execute(
            select(Contact.id).where(Contact.address == "+923001234567").with_for_update()
        )
        stop = asyncio.ensure_future(inbox.handle(sms("STOP")))
        await eventually(lambda: waiting_for_a_lock(engine), "the STOP waits for the number")
        stop.cancel()  # its webhook's client went away
        question = asyncio.ensure_future(inbox.handle(sms("jobs")))
        await other.rollback()
    assert (await question).reason == "opted_out", "the STOP was done all the same, first"


async def test_new_numbers_arriving_together_keep_their_own_language_and_name(
    inbox: Inbox, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # Not in (channel, address) order: the new contacts are made in that order.
    people = [("900009", "ur", "Zara"), ("900001", None, "Ali"), ("900005", "en", None)]
    await asyncio.gather(
        *(
            inbox.handle(
                IncomingMessage(
                    "telegram", chat, "jobs", f"u{n}", T0, language_hint=lang, name=name
                )
            )
            for n, (chat, lang, name) in enumerate([("800000", None, None), *people])
        )
    )
    async with sessions.begin() as s:
        rows = await s.execute(
            select(Contact.address, Subscriber.language, Subscriber.name).join(
                Subscriber, Subscriber.id == Contact.subscriber_id
            )
        )
        got = {address: (language, name) for address, language, name in rows}
    assert all(got[chat] == (lang, name) for chat, lang, name in people), got


@postgres_only
async def test_a_new_number_another_transaction_creates_holds_up_no_one_else(
    inbox: Inbox, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await inbox.handle(sms("jobs", "03001111111"))
    async with engine.connect() as other:
        # A roster import, say, adding the number in a transaction still open.
        theirs = await create_elsewhere(other, "+923002222222", T0)
        new, free = (
            asyncio.ensure_future(inbox.handle(sms("park", number)))
            for number in ("03002222222", "03001111111")
        )
        assert (await free).reply is not None, "answered once the unit gave up waiting"
        assert not new.done(), "it waits for the import"
        await other.commit()
    out = await new
    assert out.reply is not None and out.contact is not None
    assert out.contact.subscriber_id == theirs, "the import's subscriber, not a second one"
    async with sessions.begin() as s:
        assert await s.scalar(select(func.count()).select_from(Subscriber)) == 2
