"""In a browser: a coordinator adds an answer, then asks the bot in the simulator and gets it."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from tests.console.conftest import Served

# Milliseconds an expectation waits for the server (Playwright's own default is 5 s).
WAIT = 30_000


async def test_a_coordinator_adds_an_answer_and_tries_it_in_the_simulator(
    served: Served, page: Any
) -> None:
    await page.goto(await served.link("Amina"))
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{served.url}/console/")

    await page.get_by_role("link", name="Answers").click()
    await page.get_by_role("button", name="Add an answer").click()
    await page.get_by_label("Id").fill("fees")
    await page.get_by_label("Keywords").fill("fees\nfees kitni hai\nفیس")
    await page.get_by_label("SMS in English").fill("TEST fees: PKR 1234 (test value)")
    await page.get_by_label("SMS in Urdu").fill("ٹیسٹ فیس: 1234 روپے")
    await page.get_by_role("button", name="Add answer").click()
    await expect(page.get_by_role("status")).to_contain_text(
        "Answer 'fees' added by Amina", timeout=WAIT
    )

    await page.get_by_role("link", name="Simulator", exact=True).click()
    await page.get_by_label("Your message").fill("fees kitni hai?")
    await page.get_by_role("button", name="Send").click()
    result = page.locator("#simulator-result")
    # The first message makes the simulator's scratch database: give it time on a busy machine.
    await expect(result.locator(".bot-reply")).to_have_text(
        "TEST fees: PKR 1234 (test value)", timeout=WAIT
    )
    await expect(result).to_contain_text("answer fees", timeout=WAIT)
    # The message box is emptied for the next one; the conversation shows both ways.
    await expect(page.get_by_label("Your message")).to_have_value("", timeout=WAIT)
    await expect(result.locator("ol.messages li")).to_have_count(2, timeout=WAIT)

    # In Urdu script, on Telegram: the Urdu text.
    await page.get_by_label("Telegram").check()
    await page.get_by_label("Your message").fill("فیس کتنی ہے")
    await page.get_by_role("button", name="Send").click()
    await expect(result.locator(".bot-reply")).to_have_text("ٹیسٹ فیس: 1234 روپے", timeout=WAIT)
