"""The console's schedules: the list with next times and every language's text, pause,
resume and remove, each after asking and recorded with who; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.core.audience import Audience
from bot.core.schedule import format_fire, next_fires, parse_rule
from bot.outreach import coordinate
from bot.outreach.coordinate import Draft
from bot.store.tables import schedules as _schedules
from tests.console.conftest import Console

# The pages are the subject here; their queries are tested on both databases in tests/store
# (see "sqlite_only" in tests/conftest.py).
pytestmark = pytest.mark.sqlite_only

URDU = "ہر پیر کو آئی ٹی پارک میں تربیت"


@pytest.fixture
def console_overrides() -> dict[str, Any]:
    return {"run_worker": False}


def add(console: Console, when: str = "every monday at 10:00", **kw: Any) -> int:
    """A schedule, added as `outreach schedule add` adds it."""
    tz = console.runtime.settings.timezone
    now = datetime.now(UTC)
    draft = Draft(
        text_en=kw.pop("text_en", "Training on Monday at the IT park"),
        text_ur=kw.pop("text_ur", URDU),
        audience=kw.pop("audience", Audience()),
        title=kw.pop("title", "Weekly training"),
        text_ur_latn=kw.pop("text_ur_latn", None),
    )
    info = console.run(
        lambda: coordinate.add_schedule(
            console.runtime.units, draft, parse_rule(when, now, tz), now, by="cli"
        )
    )
    return info.id


def row(console: Console, schedule_id: int) -> Any:
    return console.run(
        lambda: console.runtime.units.run(
            lambda conn: conn.execute(
                select(_schedules).where(_schedules.c.id == schedule_id)
            ).one_or_none()
        )
    )


def test_the_list_shows_next_times_and_every_languages_text(console: Console) -> None:
    console.sign_in()
    sid = add(console, audience=Audience(channels=frozenset({"sms"}), topics=frozenset({"jobs"})))
    other = add(
        console, text_ur=None, title="<script>alert(1)</script>", text_ur_latn="Training Monday ko"
    )
    page = console.get("/console/schedules")
    assert page.status_code == 200
    html = page.text
    tz = ZoneInfo(console.runtime.settings.timezone)
    now = datetime.now(UTC)
    rule = parse_rule("every monday at 10:00", now, console.runtime.settings.timezone)
    for fire in next_fires(rule, now, 3):
        assert format_fire(fire.astimezone(tz)) in html, "the scheduler's next three times"
    assert "every Monday at 10:00" in html
    assert "SMS only; topics jobs" in html, "who it goes to, as the CLI says it"
    assert f'<dd dir="auto" lang="ur" class="text urdu">{URDU}</dd>' in html
    assert "Training on Monday at the IT park" in html
    assert html.count("None: Roman Urdu readers get the English text.") == 1
    assert '<dd dir="auto" class="text">Training Monday ko</dd>' in html, "a Roman Urdu text"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert f'id="schedule-{sid}"' in html and f'id="schedule-{other}"' in html
    assert html.count("None: Urdu readers get the English text.") == 1


@pytest.mark.parametrize("action", ["pause", "remove"])
def test_an_action_asks_first_and_changes_nothing_until_confirmed(
    console: Console, action: str
) -> None:
    console.sign_in()
    sid = add(console)
    asked = console.post(f"/console/schedules/{sid}/{action}")
    assert asked.status_code == 200
    assert f"{action.capitalize()} schedule #{sid}?" in asked.text
    assert 'name="confirm" value="yes"' in asked.text
    kept = row(console, sid)
    assert kept is not None and kept.enabled and kept.updated_by is None


def test_pause_and_resume_are_recorded_with_who(console: Console) -> None:
    console.sign_in("Amina")
    sid = add(console)
    paused = console.post(f"/console/schedules/{sid}/pause", {"confirm": "yes"})
    assert paused.status_code == 303 and paused.headers["location"] == "/console/schedules"
    stored = row(console, sid)
    assert not stored.enabled and stored.updated_by == "Amina"
    page = console.get("/console/schedules").text
    assert 'paused by <span dir="auto">Amina</span>' in page and "Resume…" in page
    assert console.post(f"/console/schedules/{sid}/pause", {"confirm": "yes"}).status_code == 409

    console.client.cookies.clear()
    console.sign_in("Bilal")
    resumed = console.post(f"/console/schedules/{sid}/resume", {"confirm": "yes"})
    assert resumed.status_code == 303
    stored = row(console, sid)
    assert stored.enabled and stored.updated_by == "Bilal"
    assert 'resumed by <span dir="auto">Bilal</span>' in console.get("/console/schedules").text


def test_remove_deletes_after_confirming(console: Console) -> None:
    console.sign_in()
    sid = add(console)
    gone = console.post(f"/console/schedules/{sid}/remove", {"confirm": "yes"})
    assert gone.status_code == 303
    assert row(console, sid) is None
    assert f'id="schedule-{sid}"' not in console.get("/console/schedules").text
    again = console.post(f"/console/schedules/{sid}/remove", {"confirm": "yes"})
    assert again.status_code == 404 and f"There is no schedule {sid}" in again.text


def test_unknown_actions_and_forged_forms_are_refused(console: Console) -> None:
    console.sign_in()
    sid = add(console)
    assert console.post(f"/console/schedules/{sid}/explode", {"confirm": "yes"}).status_code == 404
    forged = console.client.post(
        f"/console/schedules/{sid}/remove", data={"confirm": "yes", "csrf": "forged"}
    )
    assert forged.status_code == 403
    assert row(console, sid) is not None


def test_nothing_shows_without_signing_in(console: Console) -> None:
    got = console.get("/console/schedules", follow_redirects=False)
    assert got.status_code == 303 and got.headers["location"].startswith("/console/login")
    assert console.client.post("/console/schedules/1/remove").status_code == 401
