"""The console's simulator: a coordinator texts the bot as a resident, through the pipeline
``outreach chat`` uses, in a scratch database of its own with simulator senders only."""

from __future__ import annotations

import html
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.channels.simulator import SimulatorChannel
from bot.channels.twilio import TwilioSMS
from bot.console.simulator import Simulator
from bot.store import tables
from tests.console.conftest import Console
from tests.console.test_answers import FEES
from tests.routes.conftest import ACCOUNT_SID, AUTH_TOKEN

# The database is not the subject here (the store's tests are): see "sqlite_only" in
# tests/conftest.py.
pytestmark = pytest.mark.sqlite_only

HTMX = {"HX-Request": "true"}


def simulator(console: Console) -> Simulator:
    sim: Simulator = console.app.state.simulator
    return sim


def real_rows(console: Console, table: Any) -> int:
    async def count() -> int:
        return await console.runtime.units.run(
            lambda c: int(c.execute(select(func.count()).select_from(table)).scalar_one())
        )

    return console.run(count)


def say(console: Console, text: str, **fields: str) -> Any:
    return console.post("/console/simulator", {"text": text, **fields}, headers=HTMX)


def test_the_page_opens_no_scratch_database_until_a_message_is_sent(console: Console) -> None:
    me = console.sign_in("Amina")
    page = console.get("/console/simulator")
    assert page.status_code == 200
    assert f"+9230000{me.id:05d}" in page.text, "the coordinator's own pretend number"
    assert simulator(console).opened is None


def test_a_message_is_answered_in_the_simulator_and_touches_no_real_record(
    console: Console,
) -> None:
    me = console.sign_in("Amina")
    answer = say(console, "timings kya hain?")
    assert answer.status_code == 200
    assert answer.text.startswith('<section id="simulator-result"'), "the htmx part alone"
    sim = simulator(console).opened
    assert sim is not None
    sender = sim.senders["sms"]
    assert isinstance(sender, SimulatorChannel)
    address = f"+9230000{me.id:05d}"
    [reply] = [s for s in sender.outbox if s.to == address]
    assert html.escape(reply.reply.text, quote=False) in answer.text
    assert "found by" in answer.text and "language ur-Latn" in answer.text
    # The scratch database has the pretend resident; the real one has no one.
    assert sim.settings.database_url != console.runtime.settings.database_url
    for table in (tables.contacts, tables.messages, tables.subscribers, tables.threads):
        assert real_rows(console, table) == 0, table.name
    # The conversation so far, both ways.
    page = console.get("/console/simulator")
    assert '<p dir="auto">timings kya hain?</p>' in page.text
    assert page.text.count('<li class="out">') == 1


def test_asking_for_a_person_opens_a_thread_in_the_simulator_not_in_the_inbox(
    console: Console,
) -> None:
    console.sign_in("Amina")
    answer = say(console, "insaan se baat karni hai")
    assert "handed over to a person (thread #1 of the simulator" in answer.text
    assert real_rows(console, tables.threads) == 0
    assert "No conversation has been handed over" in console.get("/console/inbox").text


def test_a_new_answer_is_answered_at_once(console: Console) -> None:
    console.sign_in("Amina")
    before = say(console, "fees")
    assert FEES["sms_en"] not in before.text
    assert console.post("/console/answers/new", FEES).status_code == 303
    # (Another pretend number each time: the loop guard holds a text repeated by one.)
    after = say(console, "fees", address="+923000000002")
    assert f"{FEES['sms_en']}" in after.text and "answer <code>fees</code>" in after.text
    # An edit and a removal too, within the matcher's refresh interval.
    changed = {**FEES, "sms_en": "TEST fees: PKR 77"}
    assert console.post("/console/answers/fees/edit", changed).status_code == 303
    assert "TEST fees: PKR 77" in say(console, "fees", address="+923000000003").text
    console.post("/console/answers/fees/remove", {"confirm": "yes"})
    gone = say(console, "fees", address="+923000000004")
    assert "TEST fees" not in gone.text and "handed over to a person" in gone.text


def test_telegram_as_a_pretend_chat_with_its_buttons(console: Console) -> None:
    console.sign_in("Amina")
    answer = say(console, "/subscribe", channel="telegram", address="123")
    assert answer.status_code == 200
    assert 'name="address" value="123"' in answer.text, "a button sends as the same chat"
    assert answer.text.count('class="secondary outline" dir="auto"') >= 2
    assert "SMS segment" not in answer.text
    urdu = say(console, "ٹائمنگ کیا ہے؟", channel="telegram", address="123")
    assert "language ur" in urdu.text


def test_what_cannot_be_sent_is_said_on_the_page(console: Console) -> None:
    console.sign_in("Amina")
    plain = console.post("/console/simulator", {"text": "hi", "address": "not a number"})
    assert plain.status_code == 400 and "is not a phone number" in html.unescape(plain.text)
    # htmx swaps only a 200 in: the same sentence, where the answer would be.
    htmx = say(console, "hi", address="not a number")
    assert htmx.status_code == 200 and "is not a phone number" in html.unescape(htmx.text)
    empty = say(console, "  ")
    assert "Type a message" in empty.text
    chat = say(console, "hi", channel="telegram", address="+92300")
    assert "not a Telegram chat id" in chat.text
    other = say(console, "hi", channel="fax")
    assert "Choose SMS or Telegram" in other.text
    assert simulator(console).opened is None, "nothing was sent"


@pytest.mark.parametrize(
    "console_overrides",
    [
        {
            "twilio_account_sid": ACCOUNT_SID,
            "twilio_auth_token": AUTH_TOKEN,
            "twilio_api_base_url": "http://127.0.0.1:9/unreachable",
        }
    ],
)
def test_with_twilio_configured_the_simulator_still_sends_nothing(console: Console) -> None:
    assert isinstance(console.runtime.senders["sms"], TwilioSMS)
    console.sign_in("Amina")
    answer = say(console, "timings")
    assert answer.status_code == 200 and "No reply" not in answer.text
    sim = simulator(console).opened
    assert sim is not None and isinstance(sim.senders["sms"], SimulatorChannel)
    assert len(sim.senders["sms"].outbox) == 1
