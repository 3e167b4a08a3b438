"""A coordinator watches a broadcast go out, and cancels one, in headless Chromium.

The app is pointed at the fake Telegram and Twilio servers. Its worker is started only once
the broadcast's page is open (the same :class:`~bot.outreach.worker.Worker` ``outreach
serve`` runs), so the page is seen live, polling, before it reaches done: nothing is timed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from bot.core.audience import Audience
from bot.outreach import coordinate
from bot.outreach.coordinate import Draft
from bot.outreach.worker import Worker, running
from bot.store.tables import broadcasts as _broadcasts
from fakes.telegram_api import FakeTelegram
from fakes.twilio_api import FakeTwilio
from tests.console.conftest import Served
from tests.outreach.test_coordinate import town
from tests.routes.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    BOT_TOKEN,
    fake_telegram,
    fake_twilio,
)

__all__ = ["fake_telegram", "fake_twilio"]  # the fakes' fixtures, for this module

LANDLINE = "+923000000006"  # one of town()'s SMS subscribers: Twilio refuses it (21614)


@pytest.fixture
def console_overrides(
    fake_twilio: tuple[FakeTwilio, str], fake_telegram: tuple[FakeTelegram, str]
) -> dict[str, Any]:
    return {
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_api_base_url": fake_twilio[1],
        "telegram_bot_token": BOT_TOKEN,
        "telegram_api_base_url": fake_telegram[1],
        "run_worker": False,
    }


async def sign_in(served: Served, page: Any, name: str) -> None:
    await page.goto(await served.link(name))
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{served.url}/console/")


async def send(served: Served) -> int:
    """A broadcast to town()'s five reachable people (two on Telegram, three by SMS), queued
    as `outreach broadcast send` queues it."""
    units = served.runtime.units
    await units.run(town)
    draft = Draft(
        text_en="Job fair on Monday at the IT park",
        text_ur="پیر کو آئی ٹی پارک میں ملازمت میلہ",
        audience=Audience(),
        title="Job fair",
    )
    settings = served.runtime.settings
    sent = await coordinate.send_now(units, settings, draft, datetime.now(UTC), by="cli")
    assert sent.queued == 5
    return sent.broadcast_id


async def test_a_broadcasts_page_follows_it_live_until_done(
    served: Served,
    page: Any,
    fake_twilio: tuple[FakeTwilio, str],
    fake_telegram: tuple[FakeTelegram, str],
) -> None:
    twilio, telegram = fake_twilio[0], fake_telegram[0]
    twilio.landlines.add(LANDLINE)
    await sign_in(served, page, "Amina")
    bid = await send(served)
    await page.goto(f"{served.url}/console/broadcasts")
    await page.get_by_role("link", name="Job fair").click()
    await page.wait_for_url(f"{served.url}/console/broadcasts/{bid}")
    progress = page.locator("#progress")
    await expect(progress.locator(".status")).to_have_text("queued")
    await expect(progress.locator('[data-stage="waiting"]')).to_have_text("5")
    await expect(page.get_by_role("button", name="Cancel this broadcast…")).to_be_visible()

    rt = served.runtime
    async with running(Worker(rt.engine, rt.units, rt.senders, rt.settings)):
        # The open page polls its fragment every 2 s: no reload.
        await expect(progress.locator(".status")).to_have_text("done", timeout=60_000)
    await expect(progress.locator('[data-stage="waiting"]')).to_have_text("0")
    await expect(progress.locator('[data-stage="sent"]')).to_have_text("4")
    await expect(progress.locator('[data-stage="failed"]')).to_have_text("1")
    await expect(progress.get_by_role("table").last).to_contain_text("21614")
    await expect(page.get_by_role("button", name="Cancel this broadcast…")).to_have_count(0)
    assert await progress.get_attribute("hx-trigger") is None, "polling stopped"
    # What the fakes got: two Telegram chats, two SMS (the landline was refused).
    assert {m["chat"]["id"] for m in telegram.sent} == {1001, 1004}
    assert sorted(twilio.accepted_per_number()) == ["+923000000002", "+923000000003"]


async def test_a_coordinator_cancels_a_broadcast_after_confirming(
    served: Served, page: Any
) -> None:
    await sign_in(served, page, "Bilal")
    bid = await send(served)
    await page.goto(f"{served.url}/console/broadcasts/{bid}")
    await page.get_by_role("button", name="Cancel this broadcast…").click()
    await expect(page.get_by_role("heading", name=f"Cancel broadcast #{bid}?")).to_be_visible()
    await expect(page.get_by_text("5 of 5 messages are not sent yet")).to_be_visible()
    await page.get_by_role("button", name=f"Yes, cancel broadcast #{bid}").click()
    await page.wait_for_url(f"{served.url}/console/broadcasts/{bid}")
    progress = page.locator("#progress")
    await expect(progress.locator(".status")).to_have_text("cancelled")
    await expect(progress).to_contain_text("cancelled by Bilal")
    await expect(progress.locator('[data-stage="skipped"]')).to_have_text("5")

    def stored(conn: Any) -> Any:
        return conn.execute(select(_broadcasts).where(_broadcasts.c.id == bid)).one()

    row = await served.runtime.units.run(stored)
    assert row.status == "cancelled" and row.cancelled_by == "Bilal"
