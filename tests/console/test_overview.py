"""The overview: who subscribes, growth per week, broadcasts in flight, questions the bot
could not answer, hand-overs and providers, counted right on a small database."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, update

from bot.config import Settings
from bot.console.overview import providers, week_starts
from bot.core.audience import Audience
from bot.core.catalog import Lang
from bot.core.decision import Channel, ContactStatus
from bot.outreach import coordinate
from bot.store import broadcasts, contacts, messages, subscribers, threads
from bot.store.tables import deliveries
from tests.console.conftest import Console, Served
from tests.routes.conftest import make_settings

URDU_CITY = "ڈھنوٹ"  # Dhanote, in Urdu


def _person(
    conn: Connection,
    now: datetime,
    reach: list[tuple[Channel, str, ContactStatus]],
    *,
    language: Lang | None,
    city: str | None,
    topics: list[str],
) -> int:
    """A subscriber created at ``now`` with these contacts (a Telegram chat first, then a
    phone linked to it); their first contact's id."""
    first = contacts.upsert_contact(conn, reach[0][0], reach[0][1], now, language=language)
    refs = [first]
    for _, phone, _ in reach[1:]:
        refs.append(subscribers.link_phone(conn, first, phone, now))
    for ref, (_, _, status) in zip(refs, reach, strict=True):
        if status != "active":
            contacts.set_contact_status(conn, ref.contact_id, status, now, reason="test")
    subscribers.set_city(conn, first.subscriber_id, city, now)
    subscribers.set_topics(conn, first.subscriber_id, topics, now)
    return first.contact_id


def seed(conn: Connection, now: datetime) -> None:
    """Five people: four reachable (3 by SMS, 1 by Telegram), one opted out; questions the
    bot could not answer; one open, one claimed and one closed hand-over."""
    week = timedelta(days=7)
    a = _person(
        conn,
        now,
        [("sms", "+923001110001", "active")],
        language="ur",
        city=URDU_CITY,
        topics=["jobs", "training"],
    )
    b = _person(
        conn,
        now - week,
        [("sms", "+923001110002", "active")],
        language="en",
        city="Dhanote",
        topics=["jobs"],
    )
    c = _person(
        conn,
        now - week,
        [("telegram", "5001", "active")],
        language="ur-Latn",
        city="Dhanote",
        topics=[],
    )
    _person(
        conn,
        now - 3 * week,
        [("sms", "+923001110004", "opted_out")],
        language=None,
        city=None,
        topics=["jobs"],
    )
    _person(
        conn,
        now - 13 * week,  # before the chart's twelve weeks
        [("telegram", "5002", "blocked"), ("sms", "+923001110005", "active")],
        language="en",
        city="Kahror Pacca",
        topics=[],
    )
    for n, (text, intent) in enumerate(
        [
            ("fees kitni hai", "unknown"),
            ("Fees kitni hai?", "unknown"),
            ("hostel hai?", "no_answer"),
            ("training", "training"),  # answered: not counted
        ]
    ):
        messages.record_inbound(conn, a, "sms", text, f"in-{n}", now, intent=intent)
    messages.record_inbound(
        conn, b, "sms", "old question", "in-old", now - timedelta(days=40), intent="unknown"
    )
    threads.open_thread(conn, a, "ur", "asked", now)
    claimed = threads.open_thread(conn, b, "en", "missed", now)
    threads.claim(conn, claimed, "Bilal", now)
    closed = threads.open_thread(conn, c, "en", "asked", now)
    threads.close(conn, closed, "Bilal", now)


def _seeded(console: Console) -> datetime:
    now = datetime.now(UTC)
    console.run(lambda: console.runtime.units.run(lambda c: seed(c, now)))
    return now


def _cell(html: str, table: str, row: str) -> str:
    """The number beside ``row``'s heading in the table ``table``."""
    section = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    found = re.search(rf">{re.escape(row)}</th><td>(\d+)</td>", section)
    assert found is not None, f"no row {row!r} in {table}"
    return found.group(1)


def _figure(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}">(\d+)<', html)
    assert found is not None, f"no figure {element_id}"
    return found.group(1)


@pytest.fixture
def console_overrides() -> dict[str, Any]:
    # The broadcasts in flight stay in flight until a test finishes them.
    return {"run_worker": False}


def test_the_overview_counts_subscribers_by_channel_language_city_and_topic(
    console: Console,
) -> None:
    console.sign_in("Amina")
    _seeded(console)
    html = console.get("/console/").text

    assert _figure(html, "reachable") == "4"  # the opted-out person is not reachable
    assert _figure(html, "channel-sms") == "3"
    assert _figure(html, "channel-telegram") == "1"
    assert _figure(html, "opted-out") == "1"
    sms_row = html.split('data-channel="sms"', 1)[1].split("</tr>", 1)[0]
    assert 'data-status="opted_out">1<' in sms_row and 'data-status="active">3<' in sms_row
    telegram_row = html.split('data-channel="telegram"', 1)[1].split("</tr>", 1)[0]
    assert 'data-status="blocked">1<' in telegram_row

    assert _cell(html, "by-language", "English") == "2"
    assert _cell(html, "by-language", "Urdu") == "1"
    assert _cell(html, "by-language", "Roman Urdu") == "1"
    assert "Not chosen" not in html  # the only one without a language opted out

    assert _cell(html, "by-topic", "jobs") == "2"  # the opted-out follower is not counted
    assert _cell(html, "by-topic", "training") == "1"
    city_rows = re.findall(
        r'<th dir="auto" class="city">([^<]+)</th><td>(\d+)</td>',
        html.split('id="by-city"', 1)[1].split("</table>", 1)[0],
    )
    assert city_rows == [("Dhanote", "2"), ("Kahror Pacca", "1"), (URDU_CITY, "1")]


def test_the_growth_chart_has_a_bar_per_week_with_its_new_subscribers(
    console: Console,
) -> None:
    console.sign_in("Amina")
    now = _seeded(console)
    html = console.get("/console/").text
    bars = re.findall(r'<rect class="bar"[^>]*data-week="([\d-]+)" data-count="(\d+)"', html)
    tz = console.runtime.settings.timezone
    assert [week for week, _ in bars] == [s.date().isoformat() for s in week_starts(now, tz)]
    # This week: one; the week before: two; three weeks back: the one who opted out since.
    assert [int(n) for _, n in bars] == [0] * 8 + [1, 0, 2, 1]
    heights = [float(h) for h in re.findall(r'<rect class="bar"[^>]*height="([\d.]+)"', html)]
    assert heights[10] == max(heights) > heights[11] == heights[8] > 0 == heights[0]


def test_unanswered_questions_and_handed_over_conversations_are_counted(
    console: Console,
) -> None:
    console.sign_in("Amina")
    _seeded(console)
    html = console.get("/console/").text
    assert _figure(html, "threads-open") == "1"
    assert 'id="threads-claimed">1<' in html
    # Three in the last 30 days, two of them the same question written two ways.
    assert _figure(html, "unanswered") == "3"
    table = html.split('id="unanswered-questions"', 1)[1].split("</table>", 1)[0]
    assert table.index("fees kitni hai") < table.index("hostel hai")
    assert "old question" not in html


def test_an_empty_database_shows_zeroes_and_no_broadcast_in_flight(console: Console) -> None:
    console.sign_in("Amina")
    html = console.get("/console/").text
    assert _figure(html, "reachable") == "0"
    assert "Nothing is being sent right now." in html
    assert "hx-trigger" not in html
    assert re.findall(r'data-count="(\d+)"', html) == ["0"] * 12
    assert "Every" not in html and _figure(html, "unanswered") == "0"


def _finish_everything(conn: Connection, now: datetime) -> None:
    conn.execute(update(deliveries).values(status="sent", sent_at=now, updated_at=now))
    broadcasts.finish_broadcasts(conn, now)


def test_live_progress_polls_only_while_a_broadcast_is_in_flight(console: Console) -> None:
    console.sign_in("Amina")
    now = _seeded(console)
    draft = coordinate.Draft(
        text_en="Training starts Monday.",
        text_ur=None,
        audience=Audience(channels=frozenset({"sms", "telegram"})),
        title="Training",
    )
    sent = console.run(
        lambda: coordinate.send_now(
            console.runtime.units, console.runtime.settings, draft, now, by="Amina"
        )
    )
    assert sent.queued == 4

    html = console.get("/console/").text
    live = html.split('id="in-flight"', 1)[1].split("</section>", 1)[0]
    assert 'hx-get="/console/overview/live" hx-trigger="every 2s"' in live
    assert f'data-broadcast="{sent.broadcast_id}"' in live
    assert "<strong>0</strong> of 4 done (0%)" in live
    assert "pending 4" in live

    # Two of four sent: the fragment the page polls shows it, and polls on.
    def half(conn: Connection) -> None:
        d = deliveries.c
        first_two = [r[0] for r in conn.execute(deliveries.select().order_by(d.id).limit(2))]
        conn.execute(
            update(deliveries).where(d.id.in_(first_two)).values(status="sent", sent_at=now)
        )

    console.run(lambda: console.runtime.units.run(half))
    fragment = console.get("/console/overview/live", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith("<section")  # the part alone, no layout
    assert "<html" not in fragment.text
    assert 'hx-trigger="every 2s"' in fragment.text
    assert "<strong>2</strong> of 4 done (50%)" in fragment.text
    assert 'value="2" max="4"' in fragment.text
    figures = fragment.text.split('class="progress-figures">')[1].split("</p>")[0]
    words = " ".join(re.sub(r"<[^>]+>", "", figures).split())
    assert words == "2 of 4 done (50%): pending 2, sent 2", "no comma after the last"

    # Done: the fragment carries no trigger, so the page stops polling.
    console.run(lambda: console.runtime.units.run(lambda c: _finish_everything(c, now)))
    fragment = console.get("/console/overview/live", headers={"HX-Request": "true"})
    assert "hx-trigger" not in fragment.text
    assert "Nothing is being sent right now." in fragment.text
    assert "hx-trigger" not in console.get("/console/").text


def test_the_live_fragment_needs_a_session(console: Console) -> None:
    assert console.get("/console/overview/live", headers={"HX-Request": "true"}).status_code == 401


def _provider_states(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-provider="([^"]+)" data-configured="(yes|no)"', html))


def test_in_sandbox_mode_only_the_simulator_is_in_use(console: Console) -> None:
    console.sign_in("Amina")
    html = console.get("/console/").text
    assert _provider_states(html) == {
        "Telegram": "no",
        "Twilio": "no",
        "SMSGate": "no",
        "Sandbox simulator": "yes",
    }
    assert "records SMS and Telegram instead of sending" in html
    assert "set TELEGRAM_BOT_TOKEN" in html


@pytest.mark.parametrize(
    "console_overrides",
    [{"run_worker": False, "twilio_account_sid": "AC" + "0" * 32, "twilio_auth_token": "t0k"}],
)
def test_a_configured_twilio_is_shown_sending_sms(console: Console) -> None:
    console.sign_in("Amina")
    html = console.get("/console/").text
    assert _provider_states(html) == {
        "Telegram": "no",
        "Twilio": "yes",
        "SMSGate": "no",
        "Sandbox simulator": "yes",  # Telegram still goes to the simulator
    }
    twilio = html.split('data-provider="Twilio"', 1)[1].split("</tr>", 1)[0]
    assert "sends SMS" in twilio
    assert "t0k" not in html  # no secret on the page
    assert "records Telegram instead of sending" in html


def _settings(**values: Any) -> Settings:
    base = {"twilio_account_sid": None, "twilio_auth_token": None}
    return make_settings("sqlite+aiosqlite:///unused.db", **(base | values))


def test_each_providers_state_follows_the_settings() -> None:
    every = _settings(
        telegram_bot_token="1:abc",
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token="t",
        twilio_from_number="+15005550006",
        smsgate_url="http://127.0.0.1:1",
        smsgate_password="p",
    )
    states = {p.name: (p.configured, p.detail) for p in providers(every)}
    assert states["Telegram"] == (True, "sends Telegram messages")
    assert states["Twilio"] == (True, "sends SMS")  # auto picks Twilio first
    assert states["SMSGate"] == (True, "configured, not used for SMS")
    assert states["Sandbox simulator"] == (False, "not used: every channel has a provider")

    gate = {p.name: p for p in providers(_settings(smsgate_url="http://g", smsgate_password="p"))}
    assert gate["SMSGate"].detail == "sends SMS"
    assert not gate["Twilio"].configured
    assert gate["Sandbox simulator"].detail == "records Telegram instead of sending"

    no_sender = providers(
        _settings(twilio_account_sid="AC1", twilio_auth_token="t", twilio_from_number=None)
    )
    assert "no sender: set TWILIO_FROM_NUMBER" in no_sender[1].detail


async def test_the_overview_on_a_phone_shows_an_urdu_city_right_to_left(
    served: Served, page: Any
) -> None:
    now = datetime.now(UTC)
    await served.runtime.units.run(lambda c: seed(c, now))
    await page.goto(await served.link("امینہ"))
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{served.url}/console/")
    assert await page.get_by_role("heading", name="Overview").is_visible()
    city = page.locator("#by-city th", has_text=URDU_CITY)
    await city.scroll_into_view_if_needed()
    assert await city.is_visible()
    assert await city.evaluate("el => getComputedStyle(el).direction") == "rtl"
    english = page.locator("#by-city th", has_text="Dhanote")
    assert await english.evaluate("el => getComputedStyle(el).direction") == "ltr"
    name = page.get_by_text("امینہ", exact=True).first
    assert await name.evaluate("el => getComputedStyle(el).direction") == "rtl"
    chart = page.locator("svg.chart")
    assert await chart.is_visible()
    assert await page.locator("svg.chart rect.bar").count() == 12
    # Nothing wider than the phone but the parts that scroll on their own.
    overflow = await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
