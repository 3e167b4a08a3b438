"""The console's inbox: threads handed over to a person, listed open first and paginated,
one thread with its messages, a reply on the resident's own channel, closing."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest

from bot.channels.simulator import SimulatorChannel
from bot.outreach.inbound import IncomingMessage
from bot.store import threads
from bot.store.threads import Thread
from tests.console.conftest import Console
from tests.routes.conftest import ACCOUNT_SID, AUTH_TOKEN

# The database is not the subject here (the store's tests are): see "sqlite_only" in
# tests/conftest.py.
pytestmark = pytest.mark.sqlite_only

NUMBER = "+923001234567"


def texts(console: Console, text: str, address: str = NUMBER) -> int | None:
    """``text`` from a resident through the app's inbox, its reply sent; the thread it joined."""

    async def go() -> int | None:
        rt = console.runtime
        now = datetime.now(UTC)
        msg = IncomingMessage("sms", address, text, f"SM{uuid.uuid4().hex}", now)
        outcome = await rt.inbox.handle(msg)
        await rt.inbox.deliver(outcome, rt.senders["sms"], now)
        return outcome.thread_id

    return console.run(go)


def hand_over(console: Console, address: str = NUMBER) -> int:
    thread_id = texts(console, "insaan se baat karni hai", address)
    assert thread_id is not None
    return thread_id


def stored(console: Console, thread_id: int) -> Thread:
    found = console.run(lambda: console.runtime.units.run(lambda c: threads.get(c, thread_id)))
    assert found is not None
    return found


def listed(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<td><a href="/console/inbox/(\d+)">#', html)]


def sms_outbox(console: Console) -> SimulatorChannel:
    sender = console.runtime.senders["sms"]
    assert isinstance(sender, SimulatorChannel)
    return sender


def test_the_list_shows_open_threads_first_a_page_at_a_time(console: Console) -> None:
    console.sign_in("Amina")
    ids = [hand_over(console, f"+9230012340{i:02d}") for i in range(27)]
    newest = ids[-1]
    console.run(lambda: console.runtime.handover.close(newest, "Bilal", datetime.now(UTC)))
    first = console.get("/console/inbox")
    assert first.status_code == 200
    assert "<strong>26</strong> waiting" in first.text and "1 closed" in first.text
    # The open ones newest first; the closed newest one only after every open one.
    assert listed(first.text) == ids[-2::-1][:25]
    assert "Page 1 of 2" in first.text
    second = console.get("/console/inbox?page=2")
    assert listed(second.text) == [ids[0], newest]
    assert "closed" in second.text and "Bilal" not in first.text
    assert console.get("/console/inbox?page=3").status_code == 200
    bad = console.get("/console/inbox?page=two")
    assert bad.status_code == 400 and "not a page number" in bad.text


def test_an_empty_inbox_says_who_appears_there(console: Console) -> None:
    console.sign_in("Amina")
    page = console.get("/console/inbox")
    assert page.status_code == 200
    assert "No conversation has been handed over" in page.text


def test_a_thread_shows_its_messages_both_ways_escaped_and_masked(console: Console) -> None:
    console.sign_in("Amina")
    texts(console, "<b>fees</b> کتنی ہے؟ <script>alert(1)</script>")
    thread_id = hand_over(console)
    page = console.get(f"/console/inbox/{thread_id}")
    assert page.status_code == 200
    assert NUMBER not in page.text, "the number is masked"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert" not in page.text
    assert '<p dir="auto">insaan se baat karni hai</p>' in page.text
    # The bot's reply that a person will answer, as sent.
    assert page.text.count('<li class="out">') >= 1
    assert console.get("/console/inbox/999").status_code == 404


def test_a_reply_goes_to_the_resident_and_records_who_answered(console: Console) -> None:
    me = console.sign_in("Amina")
    thread_id = hand_over(console)
    before = len(sms_outbox(console).outbox)
    done = console.post(f"/console/inbox/{thread_id}/reply", {"text": "  Fees are PKR 500.  "})
    assert done.status_code == 303
    assert done.headers["location"] == f"/console/inbox/{thread_id}"
    sent = sms_outbox(console).outbox[before:]
    assert [(s.to, s.reply.text) for s in sent] == [(NUMBER, "Fees are PKR 500.")]
    t = stored(console, thread_id)
    assert (t.state, t.claimed_by, t.answered_by) == ("claimed", me.name, me.name)
    page = console.get(done.headers["location"])
    assert "Sent to" in page.text and "by Amina" in page.text
    assert '<p dir="auto">Fees are PKR 500.</p>' in page.text
    # The notice is shown once.
    assert "Sent to" not in console.get(done.headers["location"]).text


def test_a_refused_reply_says_why_on_the_form_and_sends_nothing(console: Console) -> None:
    console.sign_in("Amina")
    thread_id = hand_over(console)
    before = len(sms_outbox(console).outbox)
    empty = console.post(f"/console/inbox/{thread_id}/reply", {"text": "   "})
    assert empty.status_code == 400 and "The reply is empty." in empty.text
    long = "ف" * 400
    too_long = console.post(f"/console/inbox/{thread_id}/reply", {"text": long})
    assert too_long.status_code == 400 and "segments" in too_long.text
    assert long in too_long.text, "what was typed is kept"
    console.run(lambda: console.runtime.handover.claim(thread_id, "Bilal", datetime.now(UTC)))
    taken = console.post(f"/console/inbox/{thread_id}/reply", {"text": "Hello"})
    assert taken.status_code == 400 and "being answered by Bilal" in taken.text
    assert len(sms_outbox(console).outbox) == before
    assert stored(console, thread_id).answered_by is None


def test_no_reply_to_a_resident_who_opted_out(console: Console) -> None:
    console.sign_in("Amina")
    thread_id = hand_over(console)
    texts(console, "STOP")
    page = console.get(f"/console/inbox/{thread_id}")
    assert "opted out" in page.text and "Send reply" not in page.text
    before = len(sms_outbox(console).outbox)
    refused = console.post(f"/console/inbox/{thread_id}/reply", {"text": "Hello"})
    assert refused.status_code == 400 and "opted out (STOP)" in refused.text
    assert len(sms_outbox(console).outbox) == before


def test_the_cost_of_a_reply_as_it_is_typed(console: Console) -> None:
    console.sign_in("Amina")
    thread_id = hand_over(console)
    plain = console.get(f"/console/inbox/{thread_id}/cost", params={"text": "Hello"})
    assert plain.status_code == 200
    assert "5 characters" in plain.text and "SMS: 1 segment (GSM-7)" in plain.text
    urdu = console.get(f"/console/inbox/{thread_id}/cost", params={"text": "ف" * 400})
    assert "UCS-2" in urdu.text and "at most 2 are allowed" in urdu.text


def test_closing_asks_first_and_records_who_closed(console: Console) -> None:
    me = console.sign_in("Amina")
    thread_id = hand_over(console)
    asked = console.post(f"/console/inbox/{thread_id}/close")
    assert asked.status_code == 200 and f"Close thread #{thread_id}?" in asked.text
    assert 'name="confirm" value="yes"' in asked.text
    assert stored(console, thread_id).state == "open"
    done = console.post(f"/console/inbox/{thread_id}/close", {"confirm": "yes"})
    assert done.status_code == 303 and done.headers["location"] == "/console/inbox"
    t = stored(console, thread_id)
    assert (t.state, t.closed_by) == ("closed", me.name)
    assert f"Thread #{thread_id} closed by Amina." in console.get("/console/inbox").text
    again = console.post(f"/console/inbox/{thread_id}/close", {"confirm": "yes"})
    assert again.status_code == 409
    closed_page = console.get(f"/console/inbox/{thread_id}")
    assert "Send reply" not in closed_page.text and "Closed by" in closed_page.text
    refused = console.post(f"/console/inbox/{thread_id}/reply", {"text": "Hello"})
    assert refused.status_code == 400 and "is closed" in refused.text
    assert console.post("/console/inbox/999/close", {"confirm": "yes"}).status_code == 404


@pytest.mark.parametrize(
    "console_overrides",
    [
        {
            "twilio_account_sid": ACCOUNT_SID,
            "twilio_auth_token": AUTH_TOKEN,
            "twilio_api_base_url": "http://127.0.0.1:9/down",
        }
    ],
)
def test_a_reply_while_the_provider_is_down_is_kept_for_later(console: Console) -> None:
    console.sign_in("Amina")

    async def ask() -> int | None:
        now = datetime.now(UTC)
        msg = IncomingMessage("sms", NUMBER, "insaan se baat", f"SM{uuid.uuid4().hex}", now)
        return (await console.runtime.inbox.handle(msg)).thread_id

    thread_id = console.run(ask)
    assert thread_id is not None
    done = console.post(f"/console/inbox/{thread_id}/reply", {"text": "We will call you."})
    assert done.status_code == 303
    page = console.get(done.headers["location"])
    assert "Not sent yet" in page.text and "The reply is kept" in page.text
    assert '<p dir="auto">We will call you.</p>' in page.text
    assert stored(console, thread_id).answered_by == "Amina"
