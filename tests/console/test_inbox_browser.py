"""In a browser: a coordinator answers a conversation handed over to a person, and the reply
goes to the resident through Twilio (the fake one on 127.0.0.1)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.async_api import expect

from bot.outreach.inbound import IncomingMessage
from bot.store import threads
from fakes.twilio_api import FakeTwilio
from tests.console.conftest import Served
from tests.routes import conftest as routes
from tests.routes.conftest import ACCOUNT_SID, AUTH_TOKEN

NUMBER = "+923001234567"
# Milliseconds an expectation waits for the server (Playwright's own default is 5 s).
WAIT = 30_000

# The fake Twilio on 127.0.0.1, as the routes' tests have it.
fake_twilio = routes.fake_twilio


@pytest.fixture
def console_overrides(fake_twilio: tuple[FakeTwilio, str]) -> dict[str, Any]:
    _, api = fake_twilio
    return {
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_api_base_url": api,
    }


async def test_a_coordinator_replies_to_a_handed_over_resident_by_sms(
    served: Served, page: Any, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    twilio, _ = fake_twilio
    rt = served.runtime
    now = datetime.now(UTC)
    # The resident asks for a person, through the app's inbox; the bot's answer goes by SMS.
    msg = IncomingMessage("sms", NUMBER, "insaan se baat karni hai", f"SM{uuid.uuid4().hex}", now)
    outcome = await rt.inbox.handle(msg)
    await rt.inbox.deliver(outcome, rt.senders["sms"], now)
    thread_id = outcome.thread_id
    assert thread_id is not None
    assert [m["to"] for m in twilio.sent] == [NUMBER]

    await page.goto(await served.link("Amina"))
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{served.url}/console/")
    await page.get_by_role("link", name="Inbox").click()
    await expect(page.get_by_role("heading", name="Inbox")).to_be_visible(timeout=WAIT)
    await page.get_by_role("link", name=f"#{thread_id}").click()
    await expect(page.get_by_text("insaan se baat karni hai")).to_be_visible(timeout=WAIT)

    reply = "Fees for the summer camp: ask at the office, 9 to 5. — Amina"
    box = page.get_by_label("Your reply")
    await box.fill(reply)
    # The cost, as it is typed (htmx).
    await expect(page.locator("#reply-cost")).to_contain_text("SMS: 1 segment", timeout=WAIT)
    await page.get_by_role("button", name="Send reply").click()
    await expect(page.get_by_role("status")).to_contain_text("by Amina", timeout=WAIT)
    await expect(page.locator("ol.messages")).to_contain_text(reply, timeout=WAIT)

    sent = twilio.sent[-1]
    assert (sent["to"], sent["body"]) == (NUMBER, reply)
    found = await rt.units.run(lambda c: threads.get(c, thread_id))
    assert found is not None and found.answered_by == "Amina"

    # Closing asks first.
    await page.get_by_role("button", name="Close thread…").click()
    await page.get_by_role("button", name="Yes, close it").click()
    await expect(page.get_by_role("status")).to_contain_text(
        f"Thread #{thread_id} closed by Amina", timeout=WAIT
    )
    closed = await rt.units.run(lambda c: threads.get(c, thread_id))
    assert closed is not None and (closed.state, closed.closed_by) == ("closed", "Amina")
