"""The Compose page: live counts and preview, test send, send now, schedule."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, time
from decimal import Decimal
from html import unescape
from typing import Any

import pytest
from sqlalchemy import Connection, insert, select

from bot.core.decision import Channel
from bot.outreach import reporting
from bot.store import test_sends
from bot.store.tables import announcements as _announcements
from bot.store.tables import broadcasts as _broadcasts
from bot.store.tables import contacts as _contacts
from bot.store.tables import deliveries as _deliveries
from bot.store.tables import schedules as _schedules
from bot.store.tables import subscribers as _subscribers
from fakes.server import serve
from fakes.telegram_api import FakeTelegram
from fakes.twilio_api import FakeTwilio
from tests.conftest import eventually
from tests.console.conftest import Console, Served
from tests.routes.conftest import ACCOUNT_SID, AUTH_TOKEN, BOT_TOKEN

# The pages are the subject here; their queries are tested on both databases in tests/store
# (see "sqlite_only" in tests/conftest.py).
pytestmark = pytest.mark.sqlite_only

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def person(
    conn: Connection,
    *reach: tuple[Channel, str],
    language: str = "en",
    city: str | None = None,
    topics: tuple[str, ...] = (),
) -> None:
    sid = conn.execute(
        insert(_subscribers)
        .values(language=language, city=city, topics=list(topics), created_at=NOW, updated_at=NOW)
        .returning(_subscribers.c.id)
    ).scalar_one()
    for channel, address in reach:
        conn.execute(
            insert(_contacts).values(
                subscriber_id=sid,
                channel=channel,
                address=address,
                status="active",
                status_changed_at=NOW,
                created_at=NOW,
                updated_at=NOW,
            )
        )


def town(conn: Connection) -> None:
    """3 SMS-only people (one Urdu, one in Multan following jobs), 2 on Telegram."""
    person(conn, ("sms", "+923001110001"))
    person(conn, ("sms", "+923001110002"), language="ur")
    person(conn, ("sms", "+923001110003"), city="multan", topics=("jobs",))
    person(conn, ("telegram", "5001"), ("sms", "+923001110004"))
    person(conn, ("telegram", "5002"), language="ur", city="multan")


def populate(console: Console) -> None:
    console.run(lambda: console.runtime.units.run(town))


def form(**values: Any) -> dict[str, Any]:
    """The compose form as a browser posts it (both channels ticked unless given)."""
    data: dict[str, Any] = {"audience": "1", "channel": ["sms", "telegram"]}
    data.update(values)
    return data


def rows(console: Console, table: Any) -> list[Any]:
    async def read() -> list[Any]:
        return await console.runtime.units.run(lambda c: list(c.execute(select(table))))

    return console.run(read)


def count_row(html: str, lang: str) -> tuple[str, str, str]:
    found = re.search(
        rf'<tr data-lang="{lang}"><td>[^<]*</td><td class="chars">(\d+)</td>'
        r'<td class="segments">(\d+)</td><td class="encoding">([^<]*)</td>',
        html,
    )
    assert found is not None, html
    return found.group(1), found.group(2), found.group(3)


def test_the_page_needs_a_session_and_shows_the_form(console: Console) -> None:
    assert console.get("/console/compose", follow_redirects=False).status_code == 303
    console.sign_in("Amina")
    page = console.get("/console/compose")
    assert page.status_code == 200
    for name in ("text_en", "text_ur", "text_roman", "when", "test_address"):
        assert f'name="{name}"' in page.text
    assert 'value="jobs"' in page.text and 'value="multan"' in page.text  # the content's


def test_preview_counts_each_language_with_the_footer_and_marks_ucs2(console: Console) -> None:
    console.sign_in()
    shown = console.post(
        "/console/compose/preview",
        form(text_en="Job fair Monday", text_ur="پیر کو میلہ", text_roman="Peer ko job fair"),
    )
    assert shown.status_code == 200
    footer = len("\nSTOP to opt out.")
    assert count_row(shown.text, "en") == (str(15 + footer), "1", "GSM-7")
    assert count_row(shown.text, "ur-Latn") == (str(16 + footer), "1", "GSM-7")
    assert count_row(shown.text, "ur")[1:] == ("1", "UCS-2")
    assert '<mark class="ucs2">' in shown.text

    curly = console.post("/console/compose/preview", form(text_en="Job fair ‘Monday’"))
    assert count_row(curly.text, "en")[2] == "UCS-2"
    assert '<mark class="ucs2">‘</mark>' in curly.text
    plain = console.post("/console/compose/preview", form(text_en="Job fair 'Monday'"))
    assert '<mark class="ucs2">' not in plain.text

    # 150 characters: one segment alone, two with the footer the SMS carries.
    long = console.post("/console/compose/preview", form(text_en="x" * 150))
    assert count_row(long.text, "en") == (str(150 + footer), "2", "GSM-7")
    # A text that says STOP already gets no footer.
    own = console.post("/console/compose/preview", form(text_en="Fair. STOP to opt out"))
    assert count_row(own.text, "en")[0] == str(len("Fair. STOP to opt out"))


def test_preview_shows_the_audience_per_channel_segments_and_time(console: Console) -> None:
    console.sign_in()
    populate(console)
    everyone = console.post("/console/compose/preview", form(text_en="Job fair Monday"))
    assert '<span class="reach" data-channel="SMS">3 SMS</span>' in everyone.text
    assert '<span class="reach" data-channel="Telegram">2 Telegram</span>' in everyone.text
    assert '<span id="sms-segments">3</span>' in everyone.text
    # No price set: segments only, never an invented fee.
    assert 'id="sms-cost"' not in everyone.text
    assert "set SMS_PRICE_PER_SEGMENT to see the cost" in everyone.text
    assert 'id="duration"' in everyone.text

    multan_jobs = console.post(
        "/console/compose/preview",
        form(text_en="Job fair Monday", city="multan", topic="jobs", channel="sms"),
    )
    assert '<span class="reach" data-channel="SMS">1 SMS</span>' in multan_jobs.text
    assert '<span id="total">1</span>' in multan_jobs.text

    both = console.post("/console/compose/preview", form(text_en="Job fair", both_channels="both"))
    assert '<span class="reach" data-channel="SMS">4 SMS</span>' in both.text

    unknown = console.post("/console/compose/preview", form(text_en="x", city="lahore"))
    assert "Unknown city &#39;lahore&#39;" in unknown.text


def _counted(html: str) -> str:
    found = re.search(r'<input type="hidden" name="counted" value="([^"]*)">', html)
    assert found is not None, html
    return unescape(found.group(1))


def _sms(html: str) -> str:
    found = re.search(r'<span class="reach" data-channel="SMS">([\d,]+) SMS</span>', html)
    assert found is not None, html
    return found.group(1)


def test_typing_a_text_reuses_the_audience_count_and_the_audience_recounts(
    console: Console,
) -> None:
    console.sign_in()
    populate(console)
    first = console.post("/console/compose/preview", form(text_en="Job fair Monday"))
    assert _sms(first.text) == "3"
    counted = _counted(first.text)
    # Someone joins: only a new count can see them.
    console.run(lambda: console.runtime.units.run(lambda c: person(c, ("sms", "+923001110009"))))

    # A keystroke in a text: the page's count is reused, the cost follows the new text
    # (two segments each for the 3 people counted).
    longer = "Job fair Monday " + "x" * 150
    typed = console.post("/console/compose/preview", form(text_en=longer, counted=counted))
    assert _sms(typed.text) == "3"
    assert '<span id="sms-segments">6</span>' in typed.text

    # The audience changed, the count is old, or it is not ours: counted again.
    sms_only = form(text_en=longer, counted=counted, channel="sms")  # and those on Telegram
    assert _sms(console.post("/console/compose/preview", sms_only).text) == "5"
    old = json.loads(counted) | {"at": json.loads(counted)["at"] - 61}
    stale = form(text_en=longer, counted=json.dumps(old))
    assert _sms(console.post("/console/compose/preview", stale).text) == "4"
    forged = json.loads(counted) | {"sizes": {"sms": {"en": "lots"}}}
    bad = form(text_en=longer, counted=json.dumps(forged))
    assert _sms(console.post("/console/compose/preview", bad).text) == "4"
    junk = form(text_en=longer, counted="{not json")
    assert _sms(console.post("/console/compose/preview", junk).text) == "4"


def test_preview_of_a_schedule_shows_the_next_three_times_or_why_not(console: Console) -> None:
    console.sign_in()
    populate(console)
    weekly = console.post(
        "/console/compose/preview", form(text_en="Fair", when="every monday at 10:00")
    )
    times = re.findall(r"<li>(Mon [^<]+)</li>", weekly.text)
    assert len(times) == 3 and all("10:00" in t for t in times), weekly.text

    past = console.post(
        "/console/compose/preview", form(text_en="Fair", when="on 1 january 2020 at 09:00")
    )
    assert "has already passed" in past.text
    nonsense = console.post("/console/compose/preview", form(text_en="Fair", when="soonish"))
    assert 'id="warnings"' in nonsense.text


class TestQuietHours:
    @pytest.fixture
    def console_overrides(self) -> dict[str, Any]:
        # Quiet all day but for one minute: whenever the test runs, now is quiet.
        return {"quiet_hours_start": time(0, 1), "quiet_hours_end": time(0, 0)}

    def test_sms_in_quiet_hours_are_warned_about(self, console: Console) -> None:
        console.sign_in()
        populate(console)
        now = console.post("/console/compose/preview", form(text_en="Fair"))
        assert "It is quiet hours: sent now, the SMS wait until" in now.text
        later = console.post(
            "/console/compose/preview", form(text_en="Fair", when="every day at 10:00")
        )
        assert "fall in quiet hours: they wait until" in later.text
        telegram_only = console.post(
            "/console/compose/preview", form(text_en="Fair", channel="telegram")
        )
        assert "quiet hours" not in telegram_only.text


class TestPriced:
    @pytest.fixture
    def console_overrides(self) -> dict[str, Any]:
        return {"sms_price_per_segment": Decimal("4"), "sms_currency": "PKR"}

    def test_cost_is_price_times_segments_times_sms_recipients(self, console: Console) -> None:
        console.sign_in()
        populate(console)
        # 3 SMS recipients, the English text plus its footer in 1 segment; the Urdu reader
        # gets the English text too (no Urdu one).
        shown = console.post("/console/compose/preview", form(text_en="Job fair Monday"))
        assert '<span id="sms-cost">PKR 12.00</span>' in shown.text
        two = console.post("/console/compose/preview", form(text_en="x" * 150))
        assert '<span id="sms-cost">PKR 24.00</span>' in two.text


@pytest.fixture
def fake_telegram_sync() -> Iterator[tuple[FakeTelegram, str]]:
    fake = FakeTelegram(BOT_TOKEN)
    with serve(fake.app) as url:
        yield fake, url


@pytest.fixture
def fake_twilio_sync() -> Iterator[tuple[FakeTwilio, str]]:
    fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    with serve(fake.app) as url:
        yield fake, url


class TestTelegramOnly:
    """Live with Telegram but no SMS provider: the CLI used to preview "1 SMS, PKR 4.00"
    and the send then failed "sms is not configured"."""

    @pytest.fixture
    def console_overrides(self, fake_telegram_sync: tuple[FakeTelegram, str]) -> dict[str, Any]:
        _, url = fake_telegram_sync
        return {
            "telegram_bot_token": BOT_TOKEN,
            "telegram_api_base_url": url,
            "sms_price_per_segment": Decimal("4"),
            "run_worker": False,
        }

    def test_preview_and_send_leave_sms_out_and_say_so(self, console: Console) -> None:
        console.sign_in("Amina")
        populate(console)
        shown = console.post("/console/compose/preview", form(text_en="Job fair Monday"))
        assert "SMS is not configured (set an SMS provider): 3 SMS will not be sent" in shown.text
        assert '<span class="reach" data-channel="SMS">0 SMS</span>' in shown.text
        assert '<span id="sms-cost">PKR 0.00</span>' in shown.text

        sent = console.post("/console/compose/send", form(text_en="Job fair Monday"))
        assert sent.status_code == 303
        queued = rows(console, _deliveries)
        assert len(queued) == 2, "only the Telegram people: nothing that must fail"

    def test_a_test_sms_is_recorded_as_not_configured(self, console: Console) -> None:
        me = console.sign_in("Amina")
        tried = console.post(
            "/console/compose/test",
            form(text_en="Fair", test_channel="sms", test_address="0300 1234567"),
            headers={"HX-Request": "true"},
        )
        assert "Test not sent" in tried.text and "SMS is not configured" in tried.text
        (row,) = console.run(
            lambda: console.runtime.units.run(lambda c: test_sends.recent(c, me.name))
        )
        assert (row.channel, row.address, row.status) == ("sms", "+923001234567", "failed")

    def test_a_test_goes_to_the_coordinators_chat_through_telegram(
        self, console: Console, fake_telegram_sync: tuple[FakeTelegram, str]
    ) -> None:
        fake, _ = fake_telegram_sync
        me = console.sign_in("Amina")
        tried = console.post(
            "/console/compose/test",
            form(
                text_en="Fair on Monday",
                text_roman="Peer ko mela",
                test_channel="telegram",
                test_address="777",
                test_language="ur-Latn",
            ),
            headers={"HX-Request": "true"},
        )
        assert "Test sent by Telegram" in tried.text, tried.text
        assert fake.texts_to(777) == ["Peer ko mela"], "Telegram carries no SMS footer"
        (row,) = console.run(
            lambda: console.runtime.units.run(lambda c: test_sends.recent(c, me.name))
        )
        assert (row.status, row.text, row.created_by) == ("sent", "Peer ko mela", "Amina")
        assert row.provider_id is not None
        assert rows(console, _broadcasts) == [], "a test is not a broadcast"


def test_a_test_sms_in_sandbox_goes_to_the_simulator_and_is_recorded(console: Console) -> None:
    me = console.sign_in("Amina")
    page = console.post(
        "/console/compose/test",
        form(text_en="Fair on Monday", test_channel="sms", test_address="+923001234567"),
    )
    assert page.status_code == 200
    assert "Test sent by SMS to" in page.text
    assert "Fair on Monday" in page.text  # the form kept its text
    (row,) = console.run(lambda: console.runtime.units.run(lambda c: test_sends.recent(c, me.name)))
    assert row.text == "Fair on Monday\nSTOP to opt out."
    assert (row.status, row.created_by) == ("sent", "Amina")

    bad = console.post(
        "/console/compose/test",
        form(text_en="Fair", test_channel="sms", test_address="not a number"),
    )
    assert bad.status_code == 400 and "is not a phone number" in bad.text
    assert (
        len(console.run(lambda: console.runtime.units.run(lambda c: test_sends.recent(c, me.name))))
        == 1
    )


def test_send_now_stores_the_broadcast_by_the_coordinator_and_redirects(console: Console) -> None:
    console.sign_in("Amina")
    populate(console)
    sent = console.post(
        "/console/compose/send",
        form(
            text_en="Job fair Monday",
            text_ur="پیر کو میلہ",
            text_roman="Peer ko mela",
            city="multan",
        ),
    )
    assert sent.status_code == 303
    (broadcast,) = rows(console, _broadcasts)
    assert sent.headers["location"] == f"/console/broadcasts/{broadcast.id}"
    assert broadcast.created_by == "Amina"
    assert broadcast.audience["cities"] == ["multan"]
    (announcement,) = rows(console, _announcements)
    assert (announcement.text_en, announcement.text_ur, announcement.text_ur_latn) == (
        "Job fair Monday",
        "پیر کو میلہ",
        "Peer ko mela",
    )
    assert len(rows(console, _deliveries)) == 2  # multan: one SMS, one Telegram


def test_bad_input_is_refused_with_a_sentence_and_the_form_kept(console: Console) -> None:
    console.sign_in()
    populate(console)
    empty = console.post("/console/compose/send", form(text_en="  ", text_ur="پیر کو میلہ"))
    assert empty.status_code == 400
    assert "The English text is empty" in empty.text
    assert "پیر کو میلہ" in empty.text
    nobody = console.post("/console/compose/send", form(text_en="Fair", city="bahawalpur"))
    assert nobody.status_code == 400 and "nothing sent" in nobody.text
    no_channel = console.post("/console/compose/send", {"audience": "1", "text_en": "Fair"})
    assert no_channel.status_code == 400 and "Choose at least one channel" in no_channel.text
    assert rows(console, _broadcasts) == [] and rows(console, _announcements) == []


def test_send_needs_the_csrf_token(console: Console) -> None:
    console.sign_in()
    populate(console)
    refused = console.client.post(
        "/console/compose/send", data=form(text_en="Fair", csrf="wrong"), follow_redirects=False
    )
    assert refused.status_code == 403
    assert rows(console, _broadcasts) == []


def test_schedule_uses_the_clis_plain_words_and_records_who(console: Console) -> None:
    console.sign_in("Amina")
    done = console.post(
        "/console/compose/schedule", form(text_en="Weekly jobs", when="every monday at 10:00")
    )
    assert done.status_code == 200
    assert len(re.findall(r"<li>Mon [^<]+10:00[^<]*</li>", done.text)) == 3
    (row,) = rows(console, _schedules)
    assert row.created_by == "Amina" and row.enabled
    assert row.rule["kind"] == "weekly"

    past = console.post(
        "/console/compose/schedule", form(text_en="Old", when="on 1 january 2020 at 09:00")
    )
    assert past.status_code == 400 and "has already passed" in past.text
    assert len(rows(console, _schedules)) == 1, "nothing half-written"


def test_html_in_the_texts_is_escaped(console: Console) -> None:
    console.sign_in()
    shown = console.post("/console/compose/preview", form(text_en="<script>alert(1)</script>"))
    assert "<script>alert(1)" not in shown.text
    page = console.post("/console/compose/send", form(text_en="<b>x</b>", city="bahawalpur"))
    assert "<b>x</b>" not in page.text and "&lt;b&gt;x&lt;/b&gt;" in page.text


# Browser ------------------------------------------------------------------------------------


class TestInABrowser:
    """The app live against the fake Twilio and Telegram servers, its worker sending."""

    @pytest.fixture
    def console_overrides(
        self,
        fake_twilio_sync: tuple[FakeTwilio, str],
        fake_telegram_sync: tuple[FakeTelegram, str],
    ) -> dict[str, Any]:
        return {
            "twilio_account_sid": ACCOUNT_SID,
            "twilio_auth_token": AUTH_TOKEN,
            "twilio_api_base_url": fake_twilio_sync[1],
            "telegram_bot_token": BOT_TOKEN,
            "telegram_api_base_url": fake_telegram_sync[1],
            "telegram_chat_seconds": 0,
        }

    async def test_compose_counts_as_you_type_and_sends(
        self,
        served: Served,
        page: Any,
        fake_twilio_sync: tuple[FakeTwilio, str],
        fake_telegram_sync: tuple[FakeTelegram, str],
    ) -> None:
        await _compose_and_send(served, page, fake_twilio_sync[0], fake_telegram_sync[0])


async def _compose_and_send(
    served: Served, page: Any, twilio: FakeTwilio, telegram: FakeTelegram
) -> None:
    await served.runtime.units.run(town)
    await page.goto(await served.link("Amina"))
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{served.url}/console/")
    await page.goto(f"{served.url}/console/compose")

    from playwright.async_api import expect

    en = page.locator('tr[data-lang="en"]')
    await page.locator("#text_en").press_sequentially("Job fair Monday")
    await expect(en.locator(".chars")).to_have_text(str(15 + 17))
    await expect(en.locator(".encoding")).to_have_text("GSM-7")
    await expect(page.locator("mark.ucs2")).to_have_count(0)
    # A curly apostrophe turns the whole SMS UCS-2, and is highlighted.
    await page.locator("#text_en").press_sequentially(" ’")
    await expect(en.locator(".encoding")).to_have_text("UCS-2")
    await expect(page.locator("mark.ucs2")).to_have_text("’")
    await page.locator("#text_en").press("Backspace")
    await page.locator("#text_en").press("Backspace")
    await expect(en.locator(".encoding")).to_have_text("GSM-7")
    await page.locator("#text_ur").fill("پیر کو میلہ")
    await expect(page.locator('tr[data-lang="ur"] .encoding')).to_have_text("UCS-2")

    # The audience, live: everyone, then Telegram only.
    await expect(page.locator("#total")).to_have_text("5")
    await page.get_by_label("SMS", exact=True).uncheck()
    await expect(page.locator("#total")).to_have_text("2")
    await page.get_by_label("SMS", exact=True).check()
    await expect(page.locator("#total")).to_have_text("5")

    await page.locator("#send-now").click()
    await page.wait_for_url(re.compile(r".*/console/broadcasts/\d+$"))
    broadcast_id = int(page.url.rsplit("/", 1)[1])

    async def all_sent() -> bool:
        report = await reporting.get_report(served.runtime.units, broadcast_id)
        return report is not None and report.by_status["sent"] == 5

    await eventually(all_sent, "the broadcast's 5 deliveries sent")
    report = await reporting.get_report(served.runtime.units, broadcast_id)
    assert report is not None and report.broadcast.created_by == "Amina"
    bodies = sorted(m["body"] for m in twilio.sent)
    assert bodies == sorted(
        ["Job fair Monday\nSTOP to opt out."] * 2 + ["پیر کو میلہ\nبند کرنے کے لیے STOP۔"]
    )
    assert telegram.texts_to(5001) == ["Job fair Monday"]
    assert telegram.texts_to(5002) == ["پیر کو میلہ"]
