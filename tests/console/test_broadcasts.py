"""The console's broadcasts: the list, one broadcast's funnel and its live fragment, cancel
after asking, the report as CSV; on SQLite and PostgreSQL, through the TestClient.

The worker is off here, so a broadcast stays where a test puts it: deliveries are moved the
way the dispatcher would (``settle``), broadcasts made with the CLI's own ``send_now``.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from bot.core.audience import Audience
from bot.outreach import coordinate, reporting
from bot.outreach.coordinate import Draft
from bot.outreach.spreadsheets import REPORT_COLUMNS
from bot.store.broadcasts import finish_broadcasts
from bot.store.tables import broadcasts as _broadcasts
from tests.cli.conftest import settle
from tests.console.conftest import Console
from tests.outreach.test_coordinate import town

# The pages are the subject here; their queries are tested on both databases in tests/store
# (see "sqlite_only" in tests/conftest.py).
pytestmark = pytest.mark.sqlite_only

BOM = "\ufeff"


@pytest.fixture
def console_overrides() -> dict[str, Any]:
    return {"run_worker": False}


def send(console: Console, title: str = "Job fair", text_ur: str | None = None) -> int:
    """A broadcast to everyone, queued as `outreach broadcast send` queues it."""
    draft = Draft(
        text_en=f"{title} on Monday at the IT park", text_ur=text_ur, audience=Audience(),
        title=title,
    )  # fmt: skip
    sent = console.run(
        lambda: coordinate.send_now(
            console.runtime.units, console.runtime.settings, draft, datetime.now(UTC), by="cli"
        )
    )
    return sent.broadcast_id


def populate(console: Console) -> None:
    console.run(lambda: console.runtime.units.run(town))


def stored(console: Console, broadcast_id: int) -> Any:
    return console.run(
        lambda: console.runtime.units.run(
            lambda conn: conn.execute(
                select(_broadcasts).where(_broadcasts.c.id == broadcast_id)
            ).one()
        )
    )


# town(): five people get a default broadcast: 1001 and 1004 on Telegram, +…02, 03, 06 by SMS.
OUTCOMES = {
    "1001": ("sent", None),
    "+923000000002": ("delivered", None),
    "+923000000006": ("failed", "21211 invalid number"),
}


def test_the_list_shows_the_newest_first_with_their_counts(console: Console, db_url: str) -> None:
    console.sign_in()
    populate(console)
    first = send(console, "Job fair")
    second = send(console, "<b>Clinic</b> & vaccines")
    settle(db_url, OUTCOMES)
    page = console.get("/console/broadcasts")
    assert page.status_code == 200
    assert page.text.index(f'href="/console/broadcasts/{second}"') < page.text.index(
        f'href="/console/broadcasts/{first}"'
    ), "newest first"
    assert "&lt;b&gt;Clinic&lt;/b&gt; &amp; vaccines" in page.text, "titles escaped"
    assert "<b>Clinic</b>" not in page.text
    cells = re.sub(r"\s+", "", page.text)
    # reach 5, delivered 1, sent 1, failed 1, skipped 0, waiting 2: each row.
    assert cells.count("<td>5</td><td>1</td><td>1</td><td>1</td><td>0</td><td>2</td>") == 2


def test_the_list_pages_twenty_at_a_time(console: Console) -> None:
    console.sign_in()
    ids = [send(console, f"Notice {n}") for n in range(23)]
    first = console.get("/console/broadcasts")
    shown = [i for i in ids if f'href="/console/broadcasts/{i}"' in first.text]
    assert shown == ids[-20:]
    older = f"/console/broadcasts?before={ids[3]}"
    assert f'href="{older}"' in first.text
    second = console.get(older)
    assert [i for i in ids if f'href="/console/broadcasts/{i}"' in second.text] == ids[:3]
    assert "?before=" not in second.text, "the last page has no older link"
    assert console.get("/console/broadcasts?before=x").status_code == 400


def test_one_broadcast_shows_its_funnel_chart_table_and_reasons(
    console: Console, db_url: str
) -> None:
    console.sign_in()
    populate(console)
    bid = send(console, "Job fair")
    settle(db_url, OUTCOMES)
    page = console.get(f"/console/broadcasts/{bid}")
    assert page.status_code == 200
    html = page.text
    assert "<svg" in html and 'class="funnel"' in html
    # queued 5 → sent 2 (one delivered) → failed 1, waiting 2 (1004 and +…03).
    for stage, n in {"queued": 5, "sent": 2, "delivered": 1, "failed": 1, "skipped": 0,
                     "waiting": 2}.items():  # fmt: skip
        assert f'<td data-stage="{stage}">{n}</td>' in html, stage
    assert "21211 invalid number" in html
    assert 'hx-trigger="every 2s"' in html, "still being sent: it polls"
    assert "Cancel this broadcast" in html
    assert console.get("/console/broadcasts/999").status_code == 404


def test_the_progress_fragment_stops_polling_once_done(console: Console, db_url: str) -> None:
    console.sign_in()
    populate(console)
    bid = send(console)
    live = console.get(f"/console/broadcasts/{bid}/progress", headers={"HX-Request": "true"})
    assert live.status_code == 200
    assert "<html" not in live.text, "a fragment, not a page"
    assert 'hx-trigger="every 2s"' in live.text
    everyone = ("1001", "1004", "+923000000002", "+923000000003", "+923000000006")
    settle(db_url, {address: ("sent", None) for address in everyone})
    # What the dispatcher does once nothing is left to send.
    console.run(
        lambda: console.runtime.units.run(lambda c: finish_broadcasts(c, datetime.now(UTC)))
    )
    done = console.get(f"/console/broadcasts/{bid}/progress", headers={"HX-Request": "true"})
    assert 'data-status="done"' in done.text
    assert "hx-trigger" not in done.text and "Cancel this broadcast" not in done.text


def test_cancel_asks_first_then_records_who(console: Console, db_url: str) -> None:
    me = console.sign_in("Amina")
    populate(console)
    bid = send(console)
    settle(db_url, {"1001": ("sent", None)})
    asked = console.post(f"/console/broadcasts/{bid}/cancel")
    assert asked.status_code == 200 and "Cancel broadcast" in asked.text
    assert "4 of 5 messages are not sent yet" in asked.text
    assert stored(console, bid).status == "queued", "asking changes nothing"

    done = console.post(f"/console/broadcasts/{bid}/cancel", {"confirm": "yes"})
    assert done.status_code == 303 and done.headers["location"] == f"/console/broadcasts/{bid}"
    row = stored(console, bid)
    assert row.status == "cancelled" and row.cancelled_by == me.name
    page = console.get(f"/console/broadcasts/{bid}").text
    assert 'cancelled by <span dir="auto">Amina</span>' in page
    assert "hx-trigger" not in page
    report = console.run(lambda: reporting.get_report(console.runtime.units, bid))
    assert report is not None and report.skipped_by_reason == {"cancelled": 4}

    again = console.post(f"/console/broadcasts/{bid}/cancel", {"confirm": "yes"})
    assert again.status_code == 409 and "already cancelled" in again.text


def test_cancel_needs_the_csrf_token(console: Console) -> None:
    console.sign_in()
    populate(console)
    bid = send(console)
    refused = console.client.post(
        f"/console/broadcasts/{bid}/cancel", data={"confirm": "yes", "csrf": "forged"}
    )
    assert refused.status_code == 403
    assert stored(console, bid).status == "queued"


def _csv_rows(body: bytes) -> tuple[list[str], list[dict[str, str]]]:
    assert body.startswith(BOM.encode("utf-8")), "UTF-8 with a BOM, so Excel shows Urdu"
    text = body.decode("utf-8").removeprefix(BOM)
    reader = csv.DictReader(io.StringIO(text))
    return list(reader.fieldnames or []), list(reader)


def test_a_broadcasts_csv_is_the_reports_row_with_a_bom(console: Console, db_url: str) -> None:
    console.sign_in()
    populate(console)
    bid = send(console, "ملازمت میلہ", text_ur="ملازمت میلہ پیر کو")
    settle(db_url, OUTCOMES)
    got = console.get(f"/console/broadcasts/{bid}.csv")
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("text/csv")
    assert f'filename="broadcast-{bid}.csv"' in got.headers["content-disposition"]
    header, rows = _csv_rows(got.content)
    assert header == list(REPORT_COLUMNS), "the columns `outreach report --csv` writes"
    assert "cost" in header
    assert len(rows) == 1, "one row per broadcast, as the report defines"
    row = rows[0]
    assert int(row["broadcast_id"]) == bid and row["title"] == "ملازمت میلہ"
    assert (row["total"], row["delivered"], row["sent"], row["failed"], row["pending"]) == (
        "5", "1", "1", "1", "2",
    )  # fmt: skip
    assert row["failed_reasons"] == "21211 invalid number: 1"
    assert console.get("/console/broadcasts/999.csv").status_code == 404


def test_the_lists_csv_has_a_row_per_broadcast_newest_first(console: Console) -> None:
    console.sign_in()
    populate(console)
    first, second = send(console, "One"), send(console, "Two")
    got = console.get("/console/broadcasts.csv")
    assert got.status_code == 200
    _, rows = _csv_rows(got.content)
    assert [int(r["broadcast_id"]) for r in rows] == [second, first]


@pytest.mark.parametrize(
    "path",
    ["/console/broadcasts", "/console/broadcasts/1", "/console/broadcasts/1.csv",
     "/console/broadcasts.csv"],
)  # fmt: skip
def test_nothing_shows_without_signing_in(console: Console, path: str) -> None:
    got = console.get(path, follow_redirects=False)
    assert got.status_code == 303 and got.headers["location"].startswith("/console/login")
    fragment = console.get("/console/broadcasts/1/progress", headers={"HX-Request": "true"})
    assert fragment.status_code == 401
    assert console.client.post("/console/broadcasts/1/cancel").status_code == 401
