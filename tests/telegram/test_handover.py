"""Hand-overs on Telegram: the running app, real Update JSON posted to its webhook, the fake
Bot API; two coordinators, a resident on Telegram and one by SMS (the simulator channel, so
what it records is what the SMS provider would have been asked to send)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.channels.simulator import SimulatorChannel
from bot.core.phones import mask
from bot.outreach.inbound import IncomingMessage
from bot.store.models import Message, Thread
from bot.telegram.coordinators import NOT_ALLOWED
from bot.telegram.handover import REPLY_EXPIRED
from fakes.telegram_api import FakeTelegram
from tests.routes.conftest import Served
from tests.routes.test_telegram import eventually
from tests.telegram.conftest import serve_app
from tests.telegram.test_coordinators import Person

# The database is not the subject here: see "sqlite_only" in tests/conftest.py.
pytestmark = pytest.mark.sqlite_only

AMINA, BILAL = 777001, 777002
RESIDENT = 5550001234
PHONE = "+923001234567"


@pytest.fixture
async def app(db_url: str, fake_telegram: tuple[FakeTelegram, str]) -> AsyncIterator[Served]:
    """Two coordinators, SMS through the simulator, the office always open."""
    async with serve_app(
        db_url,
        fake_telegram[1],
        coordinator_telegram_ids=f"{AMINA},{BILAL}",
        sms_provider="simulator",
        office_days="mon-sun",
        office_hours="00:00-23:59",
    ) as app:
        yield app


@pytest.fixture
def amina(app: Served, fake: FakeTelegram, ids: Iterator[int]) -> Person:
    return Person(app, fake, ids, AMINA)


@pytest.fixture
def bilal(app: Served, fake: FakeTelegram, ids: Iterator[int]) -> Person:
    return Person(app, fake, ids, BILAL)


@pytest.fixture
def resident(app: Served, fake: FakeTelegram, ids: Iterator[int]) -> Person:
    return Person(app, fake, ids, RESIDENT)


def sms_outbox(app: Served) -> SimulatorChannel:
    channel = app.runtime.senders["sms"]
    assert isinstance(channel, SimulatorChannel)
    return channel


async def text_by_sms(app: Served, text: str, n: int) -> None:
    """An SMS from the resident, through the inbox every SMS webhook hands it to."""
    await app.runtime.inbox.handle(IncomingMessage("sms", PHONE, text, f"SM{n}", datetime.now(UTC)))


async def notified(person: Person, thread: str) -> None:
    await eventually(lambda: any(thread in t for t in person.texts), f"{thread} to {person.id}")


async def thread_row(app: Served) -> Thread:
    async with app.sessions.begin() as s:
        return (await s.scalars(select(Thread))).one()


async def test_a_telegram_resident_asks_for_a_person_and_a_coordinator_answers(
    app: Served, resident: Person, amina: Person, bilal: Person
) -> None:
    await resident.say("insaan se baat karni hai")

    # Asked in Roman Urdu: told in Roman Urdu, and the coordinators see the language.
    assert "Dhanote IT Park ka ek fard aap ka paigham parh kar" in resident.last
    await notified(amina, "Thread #1 · Telegram · Roman Urdu")
    await notified(bilal, "Thread #1 · Telegram · Roman Urdu")
    notice = amina.last
    assert f"Telegram chat {mask(str(RESIDENT))}" in notice and str(RESIDENT) not in notice
    assert "Resident: insaan se baat karni hai" in notice
    assert amina.labels() == ["Reply", "Close"]

    await amina.press("Reply")
    assert "Write your reply to thread #1 (Telegram)" in amina.last
    await amina.say("Salam! Which course do you want to join?")
    assert "Telegram (free)" in amina.last
    await amina.press("Send")

    assert resident.last == "Salam! Which course do you want to join?"
    assert "Sent to thread #1 (Telegram)" in amina.last
    thread = await thread_row(app)
    assert (thread.state, thread.claimed_by, thread.answered_by) == (
        "claimed",
        f"telegram:{AMINA}",
        f"telegram:{AMINA}",
    )
    async with app.sessions.begin() as s:
        stored = (await s.scalars(select(Message).where(Message.thread_id == thread.id))).all()
    assert [m.direction for m in stored] == ["in", "out", "out"]
    assert stored[-1].text == "Salam! Which course do you want to join?"

    # What the coordinator wrote never reached the inbox as a resident's message.
    assert "Sorry" not in " ".join(amina.texts)


async def test_the_first_coordinator_to_press_reply_has_the_thread(
    app: Served, resident: Person, amina: Person, bilal: Person
) -> None:
    await resident.say("staff")
    await notified(amina, "Thread #1")
    await notified(bilal, "Thread #1")

    await asyncio.gather(amina.press("Reply"), bilal.press("Reply"))

    prompted = [p for p in (amina, bilal) if "Write your reply" in p.last]
    refused = [p for p in (amina, bilal) if "is being answered by" in p.last]
    assert len(prompted) == 1 and len(refused) == 1
    assert f"telegram:{prompted[0].id}" in refused[0].last
    # The one refused is not writing a reply: their text goes to the bot as any message.
    await refused[0].say("jobs")
    assert "Send" not in refused[0].labels()


async def test_an_sms_resident_is_answered_by_sms_within_the_segment_limit(
    app: Served, amina: Person
) -> None:
    await text_by_sms(app, "fees kitni hai", 1)
    await notified(amina, "Thread #1 · SMS")
    assert mask(PHONE) in amina.last and PHONE not in amina.last
    assert "Resident: fees kitni hai" in amina.last

    await amina.press("Reply")
    assert "at most 2 SMS segments" in amina.last
    await amina.say("فیس اور داخلے کی تاریخیں ابھی طے نہیں ہوئیں، " * 4)
    assert "segments (UCS-2); at most 2" in amina.last
    await amina.say("Fees are not set yet. We will text you when admissions open.")
    assert "SMS: 1 segment (GSM-7)" in amina.last
    await amina.press("Send")

    await eventually(lambda: "Sent to thread #1 (SMS, 1 segment)" in amina.last, "sent")
    replies = [s.reply.text for s in sms_outbox(app).outbox if s.to == PHONE]
    assert replies[-1] == "Fees are not set yet. We will text you when admissions open."


async def test_an_opted_out_resident_gets_no_coordinator_reply(app: Served, amina: Person) -> None:
    await text_by_sms(app, "staff", 1)
    await notified(amina, "Thread #1")
    await amina.press("Reply")
    await text_by_sms(app, "STOP", 2)
    sent_before = len(sms_outbox(app).outbox)

    await amina.say("Hello, how can we help?")

    assert "opted out (STOP)" in amina.last
    assert "Send" not in amina.labels()
    assert len(sms_outbox(app).outbox) == sent_before


async def test_close_ends_the_thread_and_its_buttons(
    app: Served, resident: Person, amina: Person, bilal: Person
) -> None:
    await resident.say("talk to someone")
    await notified(bilal, "Thread #1")
    await notified(amina, "Thread #1")

    await amina.press("Close")
    assert amina.last == "Thread #1 closed."
    assert (await thread_row(app)).closed_by == f"telegram:{AMINA}"
    await bilal.press("Reply")
    assert bilal.last == "Thread #1 is closed."


async def test_a_resident_pressing_a_coordinator_button_is_refused(
    app: Served, resident: Person, amina: Person
) -> None:
    await resident.say("staff")
    await notified(amina, "Thread #1")

    await resident.press_data("co:t:r:1")

    assert (await thread_row(app)).state == "open"
    assert any(
        call.get("text") == NOT_ALLOWED.en for call in resident.fake.calls_to("answerCallbackQuery")
    )


async def test_cancel_stops_a_reply_and_what_follows_reaches_the_bot_again(
    app: Served, resident: Person, amina: Person
) -> None:
    await resident.say("staff")
    await notified(amina, "Thread #1")
    await amina.press("Reply")
    await amina.say("Draft that should not go")
    assert amina.labels() == ["Send", "Cancel"]

    await amina.press("Cancel")
    assert amina.last == "Not sent."
    await amina.press("Reply")
    await amina.say("/cancel")
    assert amina.last == "Not sent."
    await amina.say("jobs")  # no longer writing a reply: the bot answers it as a message

    assert all("Draft" not in t for t in resident.texts)
    assert "Send" not in amina.labels()


async def test_a_reply_left_too_long_is_dropped_and_the_coordinator_told(
    app: Served, resident: Person, amina: Person
) -> None:
    telegram = app.runtime.telegram
    assert telegram is not None and telegram.threads is not None
    telegram.threads.timeout = timedelta(0)
    await resident.say("staff")
    await notified(amina, "Thread #1")
    await amina.press("Reply")

    await amina.say("An answer written too late")

    assert amina.last == REPLY_EXPIRED.format(thread=1, minutes=0)
    await amina.say("jobs")  # no longer writing a reply: the bot answers it as a message
    assert "jobs" in amina.last.lower()
    assert all("too late" not in t for t in resident.texts)
