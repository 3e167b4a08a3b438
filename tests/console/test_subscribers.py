"""The Subscribers page: finding people by name or however their number is written, one
person's history across channels, importing a CSV (a preview that stores nothing, then all or
nothing) and the export."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select

from bot.core.audience import Audience
from bot.store import announcements, broadcasts, contacts, messages, subscribers
from bot.store.tables import contacts as contacts_table
from bot.store.tables import deliveries as deliveries_table
from bot.store.tables import subscribers as subscribers_table
from tests.console.conftest import Console, Served

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _people(html: str) -> list[int]:
    """The subscriber ids a list shows, in order."""
    return [int(i) for i in re.findall(r'<td><a href="/console/subscribers/(\d+)">', html)]


def _person(console: Console, address: str, channel: str = "sms", **profile: Any) -> int:
    def make(conn: Connection) -> int:
        ref = contacts.upsert_contact(
            conn,
            channel,  # type: ignore[arg-type]
            address,
            T0,
            name=profile.get("name"),
        )
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


def test_a_name_or_any_part_of_it_finds_people(console: Console) -> None:
    console.sign_in()
    ali = _person(console, "+923001234567", name="Ali Raza")
    aisha = _person(console, "5000000777", "telegram", name="عائشہ قریشی")
    aliya = _person(console, "+923011234567", name="Aliya Khan")
    _person(console, "+923021234567")  # no name
    for typed, found in (
        ("Ali Raza", [ali]),
        ("raza", [ali]),
        ("ALI", [aliya, ali]),  # newest first
        ("عائشہ", [aisha]),
        ("قریشی", [aisha]),
        ("ئشہ", [aisha]),  # a part of an Urdu name
        ("علی", []),
    ):
        shown = console.get("/console/subscribers", params={"q": typed})
        assert _people(shown.text) == found, typed
    # The name is in the list, right to left where it is Urdu, and on the person's page.
    listed = console.get("/console/subscribers").text
    assert '<td dir="auto" class="name">عائشہ قریشی</td>' in listed
    assert '<td dir="auto" class="name">Ali Raza</td>' in listed
    nobody = console.get("/console/subscribers?q=Zainab").text
    assert "No one matches. A name is found by any part of it" in nobody
    page = console.get(f"/console/subscribers/{aisha}").text
    assert '<dd dir="auto" class="name">عائشہ قریشی</dd>' in page


def _older(html: str) -> str:
    found = re.search(r'href="(/console/subscribers\?[^"]*before=\d+)"', html)
    assert found is not None, "no link to older people"
    return found.group(1).replace("&amp;", "&")


def test_the_list_and_a_search_page_newest_first(console: Console) -> None:
    console.sign_in()
    # 7,500 people: the oldest 2,500 on +92301…, the others on +92300…. The start common to
    # thousands is looked for among the newest 5,000 first (enough for +92300; none there
    # for +92301, whose people are then all collected); a rarer one collects at once.
    n = 7500

    def many(conn: Connection) -> None:
        conn.execute(
            insert(subscribers_table),
            [{"id": i, "topics": [], "created_at": T0, "updated_at": T0} for i in range(1, n + 1)],
        )
        conn.execute(
            insert(contacts_table),
            [
                {
                    "subscriber_id": i,
                    "channel": "sms",
                    "address": f"+923{'01' if i <= 2500 else '00'}12{i:05d}",
                    "status": "active",
                    "status_changed_at": T0,
                    "created_at": T0,
                    "updated_at": T0,
                }
                for i in range(1, n + 1)
            ],
        )

    console.run(lambda: console.runtime.units.run(many))
    first = console.get("/console/subscribers")
    assert "7500 subscribers" in first.text
    assert _people(first.text) == list(range(7500, 7450, -1))
    assert _people(console.get(_older(first.text)).text) == list(range(7450, 7400, -1))
    last = console.get("/console/subscribers?before=21")
    assert _people(last.text) == list(range(20, 0, -1)) and "Older" not in last.text

    for typed, newest in (("+92300", 7500), ("0301", 2500), ("0300 1203", 3999)):
        found = console.get("/console/subscribers", params={"q": typed})
        assert _people(found.text) == list(range(newest, newest - 50, -1)), typed
        older = console.get(_older(found.text))
        assert _people(older.text) == list(range(newest - 50, newest - 100, -1)), typed
    assert _people(console.get("/console/subscribers?q=0300 1203123").text) == [3123]
    assert _people(console.get("/console/subscribers?q=0300 1203123&before=3123").text) == []
    # The oldest page of a common start: fewer than a page left.
    tail = console.get("/console/subscribers?q=0301&before=11")
    assert _people(tail.text) == list(range(10, 0, -1)) and "Older" not in tail.text


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


def test_without_a_session_nothing_is_shown_or_stored(console: Console) -> None:
    for path in (
        "/console/subscribers",
        "/console/subscribers/1",
        "/console/subscribers/import",
        "/console/subscribers/export.csv",
    ):
        answer = console.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/console/login?next=")
    before = stored(console)
    for path in ("/console/subscribers/import", "/console/subscribers/import/confirm"):
        refused = console.client.post(path, files={"text": (None, GOOD)})
        assert refused.status_code == 401
    assert stored(console) == before


def stored(console: Console) -> tuple[int, int]:
    """How many subscribers and contacts the database holds."""

    def counts(conn: Connection) -> tuple[int, int]:
        people = conn.execute(select(func.count()).select_from(subscribers_table)).scalar_one()
        reach = conn.execute(select(func.count()).select_from(contacts_table)).scalar_one()
        return int(people), int(reach)

    return console.run(lambda: console.runtime.units.run(counts))


def upload(console: Console, data: bytes | str, name: str = "people.csv") -> Any:
    body = data.encode("utf-8") if isinstance(data, str) else data
    return console.post("/console/subscribers/import", files={"file": (name, body, "text/csv")})


GOOD = (
    "\ufeffphone,telegram_chat_id,name,language,city,topics\n"
    "0300 1234567,,عائشہ قریشی,urdu,dhanote,training\n"
    ",5000000777,Ali Raza,en,multan,\n"
    "+92 301 7654321,,,roman urdu,,\n"
)
BAD = (
    "phone,language,city\n"
    "0300 1234567,ur,dhanote\n"
    "0300 12,en,dhanote\n"
    "0301 7654321,klingon,atlantis\n"
)


def test_the_import_form_shows(console: Console) -> None:
    console.sign_in()
    form = console.get("/console/subscribers/import")
    assert form.status_code == 200
    assert 'enctype="multipart/form-data"' in form.text and 'type="file"' in form.text


def test_a_preview_names_each_bad_row_and_stores_nothing(console: Console) -> None:
    console.sign_in()
    before = stored(console)
    preview = upload(console, BAD)
    assert preview.status_code == 400
    html = preview.text
    assert "Nothing was stored: 3 problems" in html
    assert re.search(
        r"<td>Row 3</td><td dir=\"auto\">not a valid phone number: &#39;0300 12&#39;", html
    )
    assert "<td>Row 4</td>" in html and "klingon" in html and "atlantis" in html
    assert "Row 2</td>" not in html  # the good row is no problem
    assert "/console/subscribers/import/confirm" not in html  # no way to store a bad file
    assert stored(console) == before


def test_a_good_file_is_previewed_then_stored_all_at_once(console: Console) -> None:
    console.sign_in()
    before = stored(console)
    preview = upload(console, GOOD)
    assert preview.status_code == 200
    assert "3 good rows" in preview.text and "Import 3 rows" in preview.text
    assert "3 new people, 0 already on file." in preview.text
    assert "+923001234567" in preview.text and "5000000777" in preview.text
    assert '<td dir="auto">عائشہ قریشی</td>' in preview.text
    assert stored(console) == before  # a preview stores nothing
    text = re.search(r'<textarea name="text" hidden>\n(.*?)</textarea>', preview.text, re.S)
    assert text is not None
    done = console.post(
        "/console/subscribers/import/confirm",
        files={"text": (None, html.unescape(text.group(1))), "filename": (None, "people.csv")},
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/console/subscribers?created=3&updated=0&opted_out=0"
    assert stored(console) == (before[0] + 3, before[1] + 3)
    listed = console.get(done.headers["location"])
    assert "Imported: 3 new, 0 already known" in listed.text
    assert "+923001234567" in listed.text and "5000000777" in listed.text
    sid = _people(console.get("/console/subscribers?q=03001234567").text)[0]
    page = console.get(f"/console/subscribers/{sid}").text
    assert "Urdu" in page and "Dhanote" in page and "Training and courses" in page
    assert "عائشہ قریشی" in page
    assert _people(console.get("/console/subscribers?q=ali raza").text) != []


def test_a_confirmation_checks_the_text_again(console: Console) -> None:
    console.sign_in()
    before = stored(console)
    refused = console.post("/console/subscribers/import/confirm", files={"text": (None, BAD)})
    assert refused.status_code == 400
    assert "<td>Row 3</td>" in refused.text
    empty = console.post(
        "/console/subscribers/import/confirm", files={"text": (None, "phone,language\n")}
    )
    assert empty.status_code == 400 and "no one in it" in empty.text
    assert stored(console) == before


def test_an_import_never_resubscribes_someone_opted_out(console: Console) -> None:
    console.sign_in()

    def opted_out(conn: Connection) -> int:
        ref = contacts.upsert_contact(conn, "sms", "+923001234567", T0)
        contacts.set_contact_status(conn, ref.contact_id, "opted_out", T0, reason="keyword")
        return ref.contact_id

    contact_id = console.run(lambda: console.runtime.units.run(opted_out))
    text = "phone,sms_status\n03001234567,active\n03017654321,\n"
    preview = upload(console, text)
    assert "1 new person, 1 already on file, of whom 1 opted out" in preview.text
    assert "opted out, stays so" in preview.text
    done = console.post("/console/subscribers/import/confirm", files={"text": (None, text)})
    assert done.headers["location"] == "/console/subscribers?created=1&updated=1&opted_out=1"
    assert console.run(
        lambda: console.runtime.units.run(lambda c: contacts.is_opted_out(c, contact_id))
    )


def test_a_file_too_big_or_not_utf8_or_missing_is_refused_clearly(console: Console) -> None:
    console.sign_in()
    before = stored(console)
    # Just over the limit (read, then refused) and far over it (refused before reading).
    for rows in (84_000, 200_000):
        refused = upload(console, "phone\n" + "03001234567\n" * rows)
        assert refused.status_code == 413
        assert "the console imports up to 1 MB" in refused.text
    latin1 = "phone,city\n03001234567,Multán\n".encode("latin-1")
    unreadable = upload(console, latin1)
    assert unreadable.status_code == 400
    assert "people.csv can&#39;t be read: it is not UTF-8 text" in unreadable.text
    missing = console.post("/console/subscribers/import", data={})
    assert missing.status_code == 400 and "Choose a CSV file to import." in missing.text
    assert stored(console) == before


def test_an_import_needs_the_csrf_token(console: Console) -> None:
    console.sign_in()
    before = stored(console)
    forged = console.client.post(
        "/console/subscribers/import/confirm", files={"text": (None, GOOD)}
    )
    assert forged.status_code == 403
    assert stored(console) == before


def test_the_export_opens_in_excel_and_imports_again(console: Console) -> None:
    console.sign_in()
    _person(console, "+923001234567", city="dhanote", topics=["training"], name="عائشہ قریشی")
    _person(console, "5000000777", "telegram")  # Telegram only
    export = console.get("/console/subscribers/export.csv")
    assert export.status_code == 200
    assert export.headers["content-type"] == "text/csv; charset=utf-8"
    assert export.headers["content-disposition"].startswith('attachment; filename="subscribers-')
    assert export.content.startswith(b"\xef\xbb\xbf")
    lines = export.content.decode("utf-8-sig").splitlines()
    assert lines[0] == (
        "phone,telegram_chat_id,name,language,city,topics,sms_status,telegram_status"
    )
    assert "+923001234567,,عائشہ قریشی,,dhanote,training,active," in lines
    assert ",5000000777,,,,,,active" in lines
    again = upload(console, export.content, "subscribers.csv")
    assert again.status_code == 200 and "2 good rows" in again.text
    assert '<td dir="auto">عائشہ قریشی</td>' in again.text


async def _count(served: Served) -> int:
    return await served.runtime.units.run(subscribers.count_subscribers)


async def test_a_coordinator_imports_a_csv_in_a_browser(served: Served, page: Any) -> None:
    from playwright.async_api import expect

    await page.goto(await served.link("Amina"))
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{served.url}/console/")
    await page.goto(f"{served.url}/console/subscribers")
    await page.get_by_role("button", name="Import a CSV").click()

    # A file with a bad row: the row is named, and nothing is stored.
    await page.get_by_label("CSV file").set_input_files(
        {"name": "people.csv", "mimeType": "text/csv", "buffer": BAD.encode()}
    )
    await page.get_by_role("button", name="Check the file").click()
    problems = page.locator("table.problems")
    await expect(problems.get_by_role("row").filter(has_text="Row 3")).to_contain_text(
        "not a valid phone number"
    )
    await expect(problems.get_by_role("row").filter(has_text="Row 4")).to_contain_text(
        ["klingon", "atlantis"]
    )
    await expect(page.get_by_role("heading", name="Nothing was stored: 3 problems")).to_be_visible()
    await expect(page.get_by_role("button", name=re.compile("^Import"))).to_have_count(0)
    assert await _count(served) == 0

    # A good file: previewed, still nothing stored, then stored by the button.
    await page.get_by_role("button", name="Upload a corrected file").click()
    await page.get_by_label("CSV file").set_input_files(
        {"name": "people.csv", "mimeType": "text/csv", "buffer": GOOD.encode()}
    )
    await page.get_by_role("button", name="Check the file").click()
    await expect(page.get_by_role("heading", name="3 good rows")).to_be_visible()
    assert await _count(served) == 0
    await page.get_by_role("button", name="Import 3 rows").click()
    await page.wait_for_url(re.compile(r"/console/subscribers\?created=3"))
    await expect(page.get_by_role("status")).to_contain_text("Imported: 3 new")
    results = page.locator("#results")
    for shown in ("+923001234567", "5000000777", "+923017654321"):
        await expect(results).to_contain_text(shown)
    assert await _count(served) == 3

    # Search as the coordinator types: a number written the local way finds its person.
    await page.get_by_role("searchbox").fill("0301 765")
    await expect(results.get_by_role("row")).to_have_count(2)  # the header and one person
    await expect(results).to_contain_text("+923017654321")
    await results.get_by_role("link", name=re.compile("^#")).click()
    await expect(page.get_by_role("heading", name=re.compile("^Subscriber #"))).to_be_visible()
    await expect(page.locator("dl.profile")).to_contain_text("Roman Urdu")
