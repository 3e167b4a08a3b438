"""The Subscribers page: finding people however their number is written, one person's history
across channels, importing a CSV (a preview that stores nothing, then all or nothing) and the
export."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select

from bot.core.audience import Audience
from bot.store import announcements, broadcasts, contacts, messages, subscribers
from bot.store.tables import contacts as contacts_table
from bot.store.tables import deliveries as deliveries_table
from bot.store.tables import subscribers as subscribers_table
from tests.console.conftest import Console

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _people(html: str) -> list[int]:
    """The subscriber ids a list shows, in order."""
    return [int(i) for i in re.findall(r'<td><a href="/console/subscribers/(\d+)">', html)]


def _person(console: Console, address: str, channel: str = "sms", **profile: Any) -> int:
    def make(conn: Connection) -> int:
        ref = contacts.upsert_contact(conn, channel, address, T0)  # type: ignore[arg-type]
        if "city" in profile:
            subscribers.set_city(conn, ref.subscriber_id, profile["city"], T0)
        if "topics" in profile:
            subscribers.set_topics(conn, ref.subscriber_id, profile["topics"], T0)
        return ref.subscriber_id

    return console.run(lambda: console.runtime.units.run(make))


def test_a_number_is_found_however_it_is_written(console: Console) -> None:
    console.sign_in()
    wanted = _person(console, "+923001234567")
    other = _person(console, "+923011234567")
    for typed in (
        "0300 1234567",
        "03001234567",
        "+92 300 1234567",
        "923001234567",
        "0092-300-1234567",
        "۰۳۰۰۱۲۳۴۵۶۷",
    ):
        found = console.get("/console/subscribers", params={"q": typed})
        assert found.status_code == 200
        assert _people(found.text) == [wanted], typed
    # The start of a number finds everyone whose number starts so, newest first.
    assert _people(console.get("/console/subscribers?q=0300").text) == [wanted]
    assert _people(console.get("/console/subscribers?q=%2B9230").text) == [other, wanted]
    nobody = console.get("/console/subscribers?q=0345 1234567")
    assert _people(nobody.text) == [] and "No one matches" in nobody.text


def test_a_chat_id_a_subscriber_id_and_a_city_find_people(console: Console) -> None:
    console.sign_in()
    on_telegram = _person(console, "5000000777", "telegram")
    in_town = _person(console, "+923001234567", city="dhanote")
    assert _people(console.get("/console/subscribers?q=5000000777").text) == [on_telegram]
    assert _people(console.get("/console/subscribers?q=500000").text) == [on_telegram]
    assert _people(console.get(f"/console/subscribers?q=%23{in_town}").text) == [in_town]
    assert _people(console.get("/console/subscribers?q=Dhanote").text) == [in_town]
    # htmx asks for the results alone as the coordinator types.
    partial = console.get("/console/subscribers?q=dhan", headers={"HX-Request": "true"})
    assert partial.text.lstrip().startswith('<section id="results">')
    assert _people(partial.text) == [in_town]


def test_the_list_pages_newest_first(console: Console) -> None:
    console.sign_in()

    def many(conn: Connection) -> None:
        conn.execute(
            insert(subscribers_table),
            [{"id": i, "topics": [], "created_at": T0, "updated_at": T0} for i in range(1, 121)],
        )
        conn.execute(
            insert(contacts_table),
            [
                {
                    "subscriber_id": i,
                    "channel": "sms",
                    "address": f"+9230012{i:05d}",
                    "status": "active",
                    "status_changed_at": T0,
                    "created_at": T0,
                    "updated_at": T0,
                }
                for i in range(1, 121)
            ],
        )

    console.run(lambda: console.runtime.units.run(many))
    first = console.get("/console/subscribers")
    assert "120 subscribers" in first.text
    assert _people(first.text) == list(range(120, 70, -1))
    older = re.search(r'href="(/console/subscribers\?before=\d+)"', first.text)
    assert older is not None
    second = console.get(older.group(1))
    assert _people(second.text) == list(range(70, 20, -1))
    third = console.get(re.search(r'href="(/console/subscribers\?before=\d+)"', second.text)[1])  # type: ignore[index]
    assert _people(third.text) == list(range(20, 0, -1))
    assert "Older" not in third.text
    # Paging a search keeps the search.
    searched = console.get("/console/subscribers?q=%2B92300")
    assert 'q=%2B92300&amp;before=71"' in searched.text


def test_a_persons_page_shows_their_history_across_channels(console: Console) -> None:
    console.sign_in()

    def story(conn: Connection) -> tuple[int, int]:
        sms = contacts.upsert_contact(conn, "sms", "+923001234567", T0, language="ur")
        tg = contacts.upsert_contact(conn, "telegram", "5000000777", T0)
        sid = subscribers.link_phone(conn, tg, "+923001234567", T0).subscriber_id
        subscribers.set_city(conn, sid, "dhanote", T0)
        messages.record_inbound(
            conn, sms.contact_id, "sms", "fees kitni hai?", "SM1", T0 + timedelta(minutes=1),
            intent="fees",
        )  # fmt: skip
        messages.record_outbound(
            conn, sms.contact_id, "sms", "فیس 500 روپے ہے", T0 + timedelta(minutes=2),
            status="delivered",
        )  # fmt: skip
        aid = announcements.create_announcement(
            conn, "Training starts Monday", "Training starts Monday", None, [], T0
        )
        bid, _ = broadcasts.start_broadcast(
            conn, aid, Audience(), "manual:1", T0, T0 + timedelta(hours=1)
        )
        assert bid is not None
        conn.execute(
            deliveries_table.update()
            .where(deliveries_table.c.broadcast_id == bid)
            .values(status="failed", error="21614 not a mobile number")
        )
        contacts.set_contact_status(
            conn, sms.contact_id, "opted_out", T0 + timedelta(hours=2), reason="keyword",
            words="STOP",
        )  # fmt: skip
        return sid, bid

    sid, bid = console.run(lambda: console.runtime.units.run(story))
    shown = console.get(f"/console/subscribers/{sid}")
    assert shown.status_code == 200
    html = shown.text
    assert "+923001234567" in html and "5000000777" in html  # both contacts, one person
    assert "Urdu" in html
    assert "fees kitni hai?" in html and "understood as fees" in html
    assert "فیس 500 روپے ہے" in html and 'dir="auto"' in html
    assert "Training starts Monday" in html and f"/console/broadcasts/{bid}" in html
    assert "21614 not a mobile number" in html
    assert "opted out" in html and "STOP" in html and "keyword" in html
    # Newest first: the opt-out, then the announcement, then the reply, then the question.
    order = [html.index(s) for s in ("STOP", "Training starts", "فیس", "fees kitni")]
    assert order == sorted(order)
    # The list marks the opt-out too.
    assert "opted out" in console.get("/console/subscribers?q=03001234567").text


def test_an_unknown_person_is_a_clear_404(console: Console) -> None:
    console.sign_in()
    missing = console.get("/console/subscribers/999")
    assert missing.status_code == 404
    assert "There is no subscriber #999." in missing.text


def test_text_a_resident_wrote_is_escaped(console: Console) -> None:
    console.sign_in()

    def story(conn: Connection) -> int:
        ref = contacts.upsert_contact(conn, "sms", "+923001234567", T0)
        messages.record_inbound(conn, ref.contact_id, "sms", "<script>alert(1)</script>", "S", T0)
        return ref.subscriber_id

    sid = console.run(lambda: console.runtime.units.run(story))
    html = console.get(f"/console/subscribers/{sid}").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    searched = console.get("/console/subscribers", params={"q": "<b>x</b>"}).text
    assert "<b>x</b>" not in searched and "&lt;b&gt;x&lt;/b&gt;" in searched


def test_without_a_session_nothing_is_shown(console: Console) -> None:
    for path in ("/console/subscribers", "/console/subscribers/1"):
        answer = console.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/console/login?next=")


def count(console: Console) -> int:
    return console.run(
        lambda: console.runtime.units.run(
            lambda c: int(
                c.execute(select(func.count()).select_from(subscribers_table)).scalar_one()
            )
        )
    )
