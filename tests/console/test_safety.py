"""Every console route, walked as an outsider would: without a session, with a forged CSRF
token. Routes are read from the app itself, so a page added later is walked too."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pytest
from markupsafe import escape
from sqlalchemy import Connection
from starlette.routing import Mount, Route

from bot.app.runtime import Runtime
from bot.console import mount
from bot.core.added import AddedAnswer
from bot.core.audience import Audience
from bot.outreach import coordinate
from bot.outreach.coordinate import Draft
from bot.outreach.inbound import IncomingMessage
from bot.store import answers as stored_answers
from bot.store.contacts import set_contact_status, upsert_contact
from bot.store.subscribers import set_city
from tests.console.conftest import Console, Served, console_settings
from tests.outreach.test_coordinate import person, set_statuses

# The database is not the subject here: see "sqlite_only" in tests/conftest.py.
pytestmark = pytest.mark.sqlite_only

SIGN_IN_PAGES = {"/login", "/login/{token}"}
PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def console_routes() -> Iterator[tuple[str, str]]:
    """(method, path) of every console route but the static files, parameters filled in."""
    for route in mount(console_settings("sqlite+aiosqlite:///unused.db")).routes:
        if isinstance(route, Mount):
            assert route.path == "/static", f"a mount under /console: {route.path}"
            continue
        assert isinstance(route, Route)
        for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
            yield method, route.path


@pytest.fixture
def console_overrides() -> dict[str, Any]:
    # No dispatcher: the seeded broadcast stays in flight, so the overview shows its title
    # (with one, it could finish first and the walk would not see the title there).
    return {"run_worker": False}


def filled(path: str) -> str:
    return "/console" + PARAM.sub("1", path)


def test_the_walk_sees_the_pages() -> None:
    paths = {path for _, path in console_routes()}
    assert {"/", "/login", "/login/{token}", "/logout"} <= paths


def test_nothing_answers_without_a_session_but_the_sign_in_pages(console: Console) -> None:
    for method, path in console_routes():
        if path in SIGN_IN_PAGES:
            continue
        answer = console.client.request(method, filled(path), follow_redirects=False)
        where = f"{method} {path}"
        if method == "GET":
            assert answer.status_code == 303, where
            assert answer.headers["location"].startswith("/console/login?next="), where
            htmx = console.client.get(filled(path), headers={"HX-Request": "true"})
            assert htmx.status_code == 401, where
        else:
            assert answer.status_code in (401, 403), where


def test_every_change_needs_the_sessions_csrf_token(console: Console) -> None:
    console.sign_in("Amina", admin=True)
    for method, path in console_routes():
        if method == "GET":
            continue
        where = f"{method} {path}"
        forged = console.client.request(
            method, filled(path), data={"csrf": "forged"}, follow_redirects=False
        )
        assert forged.status_code == 403, where
        forged = console.client.request(
            method, filled(path), headers={"X-CSRF-Token": "forged"}, follow_redirects=False
        )
        assert forged.status_code == 403, where
        missing = console.client.request(method, filled(path), follow_redirects=False)
        assert missing.status_code == 403, where
    assert console.get("/console/", follow_redirects=False).status_code == 200, "still in"


# HTML and script in every text a page shows ------------------------------------------------

ATTACK = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'&"
# What never reaches a page unescaped, whole or in part.
RAW = ("<script>alert", "<img src=x", "onerror=alert(2)>")


def payload(field: str) -> str:
    """The attack, tagged with the field it was put in (so a page is seen to show that field)."""
    return f"{ATTACK} {field}"


def escaped(field: str) -> str:
    """``payload(field)`` as Jinja's autoescape writes it."""
    return str(escape(payload(field)))


@dataclass
class Seeded:
    broadcast_id: int
    thread_id: int
    subscriber_id: int
    answer_key: str


async def seed(rt: Runtime) -> Seeded:
    """A database where every text a console page can show is the attack: an announcement
    (every language and its title) sent and scheduled, a failure reason, a subscriber's name
    (as their Telegram profile gives it), city, topic and opt-out words, a handed-over
    conversation, an added answer and who added it."""
    now = datetime.now(UTC)
    number = "+923000000101"

    def resident(conn: Connection) -> int:
        reach = (("sms", number, "active"), ("telegram", "1101", "active"))
        person(conn, *reach, language="ur", topics=(payload("topic"),))
        telegram = upsert_contact(conn, "telegram", "1101", now, name=payload("resident_name"))
        subscriber_id = telegram.subscriber_id
        set_city(conn, subscriber_id, payload("city"), now)
        words = payload("status_words")
        set_contact_status(conn, telegram.contact_id, "opted_out", now, reason="stop", words=words)
        return subscriber_id

    subscriber_id = await rt.units.run(resident)
    draft = Draft(
        text_en=payload("text_en"), text_ur=payload("text_ur"),
        text_ur_latn=payload("text_ur_latn"), audience=Audience(), title=payload("title"),
    )  # fmt: skip
    sent = await coordinate.send_now(rt.units, rt.settings, draft, now, by=ATTACK)
    failed = {number: ("failed", payload("error"))}
    await rt.units.run(lambda conn: set_statuses(conn, sent.broadcast_id, failed))
    rule, _ = coordinate.plan_rule("every monday at 10:00", now, rt.settings.timezone)
    scheduled = replace(draft, title=payload("schedule_title"), text_en=payload("schedule_en"))
    await coordinate.add_schedule(rt.units, scheduled, rule, now, by=ATTACK)
    thread_id = None
    for text in ("insaan se baat karni hai", payload("incoming")):
        msg = IncomingMessage("sms", number, text, f"SM{uuid.uuid4().hex}", now)
        outcome = await rt.inbox.handle(msg)
        await rt.inbox.deliver(outcome, rt.senders["sms"], now)
        thread_id = thread_id or outcome.thread_id
    assert thread_id is not None, "handed over"
    answer = AddedAnswer(
        key="xss_probe", keywords=(payload("keyword"),), sms_en=payload("answer_en"),
        sms_ur=payload("answer_ur"), sms_ur_latn=payload("answer_ur_latn"),
        telegram_en=payload("answer_tg_en"), telegram_ur=payload("answer_tg_ur"),
    )  # fmt: skip
    await rt.units.run(lambda conn: stored_answers.add_answer(conn, answer, ATTACK, now))
    return Seeded(sent.broadcast_id, thread_id, subscriber_id, answer.key)


def seed_console(console: Console) -> Seeded:
    """:func:`seed`, and a coordinator's reply in the conversation."""
    ids = console.run(seed, console.runtime)
    reply = console.post(f"/console/inbox/{ids.thread_id}/reply", {"text": payload("reply")})
    assert reply.status_code == 303, reply.text
    return ids


def seeded_path(path: str, ids: Seeded) -> str:
    values = {
        "id": ids.broadcast_id, "thread_id": ids.thread_id,
        "subscriber_id": ids.subscriber_id, "key": ids.answer_key,
    }  # fmt: skip
    return "/console" + PARAM.sub(lambda m: str(values[m.group(1)]), path)


# Which tagged payloads each GET page shows (those not listed may be absent, never raw).
SHOWN_ON_GET = {
    "/": {"title", "incoming", "city", "topic"},
    "/overview/live": {"title"},
    "/broadcasts": {"title"},
    "/broadcasts/{id:int}": {"title", "error"},
    "/broadcasts/{id:int}/progress": {"error"},
    "/schedules": {"schedule_title", "schedule_en", "text_ur", "text_ur_latn"},
    "/inbox/{thread_id:int}": {"incoming", "reply"},
    "/answers": {"keyword", "answer_en", "answer_ur"},
    "/answers/{key}/edit": {
        "keyword",
        "answer_en",
        "answer_ur",
        "answer_ur_latn",
        "answer_tg_en",
        "answer_tg_ur",
    },
    "/subscribers": {"resident_name", "city", "topic"},
    "/subscribers/{subscriber_id:int}": {
        "resident_name",
        "title",
        "error",
        "incoming",
        "reply",
        "city",
        "topic",
        "status_words",
    },
}


def shows(html: str, field: str) -> bool:
    """Whether ``html`` shows ``payload(field)`` escaped (an echo may quote it: a CSV row's
    problem shows its value as Python writes it, a file name comes URL-quoted)."""
    return (
        re.search(re.escape(str(escape(ATTACK[:-4]))) + "[^<>]{0,40}? " + field, html) is not None
    )


def assert_safe(html: str, where: str) -> None:
    for raw in RAW:
        assert raw not in html, f"{where} shows {raw!r} unescaped"


def test_html_in_every_text_field_is_shown_escaped(console: Console) -> None:
    console.sign_in(payload("name"), admin=True)
    ids = seed_console(console)
    walked = 0
    for method, path in console_routes():
        if method != "GET" or path in SIGN_IN_PAGES:
            continue
        where = f"GET {path}"
        answer = console.get(seeded_path(path, ids))
        assert answer.status_code == 200, where
        if not answer.headers["content-type"].startswith("text/html"):
            assert answer.headers["content-type"].startswith("text/csv"), where
            continue
        walked += 1
        assert_safe(answer.text, where)
        if "<html" in answer.text:  # a whole page, not an htmx fragment
            assert escaped("name") in answer.text, f"{where}: the signed-in coordinator's name"
        for field in SHOWN_ON_GET.get(path, set()):
            assert shows(answer.text, field), f"{where} shows {field}"
    assert walked >= len(SHOWN_ON_GET)


def test_html_echoed_back_from_what_was_typed_is_escaped(console: Console) -> None:
    console.sign_in(payload("name"), admin=True)
    ids = seed_console(console)
    htmx = {"HX-Request": "true"}
    typed = {
        "audience": "1", "channel": ["sms", "telegram"], "title": payload("title"),
        "text_en": payload("text_en"), "text_ur": payload("text_ur"),
        "text_roman": payload("text_ur_latn"), "when": payload("when"),
    }  # fmt: skip
    echoes = {
        "search": console.get("/console/subscribers", params={"q": payload("q")}),
        "search fragment": console.get(
            "/console/subscribers", params={"q": payload("q")}, headers=htmx
        ),
        "reply cost": console.get(
            f"/console/inbox/{ids.thread_id}/cost", params={"text": payload("typed")}
        ),
        "simulator": console.post("/console/simulator", {"text": payload("typed")}),
        "simulator fragment": console.post(
            "/console/simulator", {"text": payload("typed")}, headers=htmx
        ),
        "simulator address": console.get("/console/simulator", params={"address": payload("q")}),
        "compose preview": console.post("/console/compose/preview", typed, headers=htmx),
        "compose refused": console.post("/console/compose/schedule", typed),
        "answer form refused": console.post(
            "/console/answers/new", {"key": payload("key"), "sms_en": payload("answer_en")}
        ),
        "import preview": console.post(
            "/console/subscribers/import",
            files={
                "file": (
                    payload("filename"),
                    "phone,name,language,city,topics\n"
                    f"0300 1234567,,ur,{payload('row')},\n"
                    f"0301 7654321,{payload('row_name')},ur,,\n".encode(),
                    "text/csv",
                )
            },
        ),
    }
    for what, answer in echoes.items():
        assert answer.status_code in (200, 400), f"{what}: {answer.status_code}"
        assert_safe(answer.text, what)
    for what, fields in {
        "search": {"q"},
        "search fragment": {"q"},
        "simulator": {"typed"},
        "simulator fragment": {"typed"},
        "compose refused": {"title", "text_en", "text_ur", "text_ur_latn", "when"},
        "answer form refused": {"key", "answer_en"},
        "import preview": {"filename", "row", "row_name"},
    }.items():
        for field in fields:
            assert shows(echoes[what].text, field), f"{what} shows {field}"


# In a browser: pages showing the attack, and an htmx swap echoing it, run none of it.

BROWSER_PAGES = (
    "/", "/broadcasts", "/broadcasts/{id:int}", "/schedules", "/inbox/{thread_id:int}",
    "/answers", "/answers/{key}/edit", "/subscribers", "/subscribers/{subscriber_id:int}",
)  # fmt: skip


async def test_a_browser_runs_none_of_the_html_it_shows(served: Served, page: Any) -> None:
    from playwright.async_api import expect

    ids = await seed(served.runtime)
    dialogs: list[str] = []

    async def opened(dialog: Any) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()  # or the page would wait for someone to close it

    page.on("dialog", opened)
    await page.goto(await served.link(payload("name")))
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{served.url}/console/")

    async def injected() -> list[str]:
        """Elements the attack would have made: scripts saying alert, images with onerror."""
        found: list[str] = await page.evaluate(
            """() => [...document.querySelectorAll('script, img[onerror]')]
                .filter(e => e.tagName === 'IMG' || e.textContent.includes('alert'))
                .map(e => e.outerHTML)"""
        )
        return found

    for path in BROWSER_PAGES:
        await page.goto(served.url + seeded_path(path, ids))
        await expect(page.get_by_text(ATTACK).first).to_be_visible()
        assert await injected() == [], path

    await page.goto(f"{served.url}/console/simulator")
    await page.get_by_label("Your message").fill(payload("typed"))
    await page.get_by_role("button", name="Send").click()
    result = page.locator("#simulator-result")
    await expect(result.get_by_text(payload("typed")).first).to_be_visible(timeout=30_000)
    assert await injected() == [], "simulator"
    assert dialogs == [], "no alert ever opened"
