"""The coordinators' commands as a person uses them: `outreach broadcast`, `schedule`, `report`.

Each test runs the real Typer app on a migrated database (SQLite, and PostgreSQL when
``OUTREACH_TEST_POSTGRES_URL`` is set) named by ``DATABASE_URL``, with the shipped content.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import Connection, Table, func, insert, select, update
from typer.testing import CliRunner

from bot.cli import coordinate as cli
from bot.cli.main import app
from bot.core.audience import Audience
from bot.store.engine import create_engine
from bot.store.tables import broadcasts as _broadcasts
from bot.store.tables import contacts as _contacts
from bot.store.tables import deliveries as _deliveries
from bot.store.tables import schedules as _schedules
from bot.store.tables import subscribers as _subscribers
from bot.store.units import Units

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")


ROSTER = (
    "phone,language,city,topics\n"
    "03011111111,en,multan,jobs\n"
    "03022222222,ur,multan,jobs\n"
    "03033333333,en,dhanote,training\n"
    "03044444444,en,multan,jobs\n"
)
OPTED_OUT = "+923044444444"


@pytest.fixture
def database(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The database the commands use, in a fresh working folder with the shipped content."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONTENT_DIR", str(REPO / "content"))
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("COLUMNS", "200")  # tables one row per line
    return db_url


@pytest.fixture
def town(database: str, tmp_path: Path) -> str:
    """Four people with an SMS number follow topics; the last one texted STOP."""
    roster = tmp_path / "people.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    code, _, stderr = run("subscribers", "import", str(roster))
    assert code == 0, stderr
    code, _, stderr = run("chat", "--once", "STOP", "--from", OPTED_OUT)
    assert code == 0, stderr
    return database


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def on_db(url: str, fn: Callable[[Connection], T]) -> T:
    """Run ``fn`` in one transaction on the database, as the application would."""

    async def go() -> T:
        engine = create_engine(url)
        units = Units(engine)
        try:
            return await units.run(fn)
        finally:
            units.close()
            await engine.dispose()

    return asyncio.run(go())


def count(url: str, table: Table) -> int:
    return on_db(
        url, lambda conn: conn.execute(select(func.count()).select_from(table)).scalar_one()
    )


def queued_numbers(url: str, broadcast_id: int) -> set[str]:
    return on_db(
        url,
        lambda conn: set(
            conn.execute(
                select(_contacts.c.address)
                .join(_deliveries, _deliveries.c.contact_id == _contacts.c.id)
                .where(_deliveries.c.broadcast_id == broadcast_id)
            ).scalars()
        ),
    )


def settle(url: str, outcomes: dict[str, tuple[str, str | None]]) -> None:
    """Move the deliveries to these numbers to (status, error), as the dispatcher would."""

    def unit(conn: Connection) -> None:
        for address, (status, error) in outcomes.items():
            contact = select(_contacts.c.id).where(_contacts.c.address == address)
            conn.execute(
                update(_deliveries)
                .where(_deliveries.c.contact_id == contact.scalar_subquery())
                .values(status=status, error=error)
            )

    on_db(url, unit)


def send(*extra: str) -> int:
    """`broadcast send --yes` to jobs followers; the broadcast id."""
    code, stdout, stderr = run(
        "broadcast", "send", "--text-en", "Job fair on Monday", "--topic", "jobs", "--yes", *extra
    )
    assert code == 0, stderr
    first = next(line for line in stdout.splitlines() if line.startswith("Broadcast "))
    return int(first.split()[1])


# broadcast send


def test_send_shows_the_preview_asks_and_declining_sends_nothing(town: str) -> None:
    code, stdout, stderr = run(
        "broadcast", "send", "--text-en", "Job fair on Monday", "--topic", "jobs", input="n\n"
    )
    assert code == 1
    assert "Recipients: 2 SMS" in stdout, "the opted-out follower is not counted"
    assert "Send to 2 people? [y/N]" in stdout
    assert "Nothing sent." in stderr
    assert count(town, _broadcasts) == 0
    assert count(town, _deliveries) == 0


def test_send_without_an_answer_sends_nothing(town: str) -> None:
    code, _, stderr = run("broadcast", "send", "--text-en", "Job fair", input="")
    assert code == 1 and "Nothing sent." in stderr
    assert count(town, _broadcasts) == 0


def test_send_confirmed_queues_the_audience_and_says_how_to_follow(town: str) -> None:
    code, stdout, stderr = run(
        "broadcast", "send", "--text-en", "Job fair", "--topic", "jobs", "--city", "Multan",
        input="y\n",
    )  # fmt: skip
    assert code == 0, stderr
    assert "Broadcast 1 queued for 2 people." in stdout
    assert "`outreach serve` delivers it" in stdout
    assert "outreach broadcast show 1 --follow" in stdout
    assert queued_numbers(town, 1) == {"+923011111111", "+923022222222"}


def test_send_yes_skips_the_question_and_never_queues_the_opted_out(town: str) -> None:
    bid = send()
    assert queued_numbers(town, bid) == {"+923011111111", "+923022222222"}
    assert OPTED_OUT not in queued_numbers(town, bid)
    created_by = on_db(
        town,
        lambda conn: conn.execute(
            select(_broadcasts.c.created_by).where(_broadcasts.c.id == bid)
        ).scalar_one(),
    )
    assert created_by == "cli"


def test_send_to_nobody_is_refused(town: str) -> None:
    code, stdout, stderr = run("broadcast", "send", "--text-en", "x", "--topic", "women", "--yes")
    assert code == 1
    assert "Recipients: none" in stdout
    assert "Nobody matches" in stderr
    assert count(town, _broadcasts) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--topic", "jbos"), "Unknown topic 'jbos'; choose from training, jobs"),
        (("--city", "Lahore"), "Unknown city 'Lahore'; choose from dhanote, multan"),
        (("--language", "fr"), "unknown 'fr'"),
    ],
    ids=["topic", "city", "language"],
)
def test_send_rejects_unknown_audience_names(
    town: str, args: tuple[str, ...], message: str
) -> None:
    code, _, stderr = run("broadcast", "send", "--text-en", "x", "--yes", *args)
    assert code == 1
    assert message in stderr
    assert "Traceback" not in stderr
    assert count(town, _broadcasts) == 0


def test_preview_and_send_count_the_same_people(town: str) -> None:
    code, stdout, _ = run("broadcast", "preview", "--text-en", "x", "--language", "en")
    assert code == 0 and "Recipients: 2 SMS" in stdout
    code, stdout, _ = run(
        "broadcast", "preview", "--text-en", "x", "--language", "en", "--topic", "jobs"
    )
    assert code == 0 and "Recipients: 1 SMS" in stdout
    assert queued_numbers(town, send("--language", "en")) == {"+923011111111"}


# broadcast list, show, cancel


def test_list_and_show_a_broadcast(town: str) -> None:
    code, stdout, _ = run("broadcast", "list")
    assert code == 0 and "No broadcasts yet" in stdout
    bid = send("--title", "Fair")
    code, stdout, _ = run("broadcast", "list")
    assert code == 0
    assert f"#{bid} Fair (queued, " in stdout
    assert "2 people: 0 delivered, 0 sent, 0 failed, 0 skipped, 2 waiting" in stdout
    code, stdout, stderr = run("broadcast", "show", f"#{bid}")
    assert code == 0, stderr
    assert f"#{bid} Fair" in stdout
    assert "Recipients: 2 (2 SMS)" in stdout
    assert "Delivered 0, sent 0, failed 0, skipped 0, waiting 2" in stdout
    assert "PKT" in stdout, "times are in the configured zone"


@pytest.mark.parametrize("command", ["show", "cancel"])
def test_an_unknown_or_malformed_broadcast_id_is_one_line_and_exit_1(
    town: str, command: str
) -> None:
    code, _, stderr = run("broadcast", command, "42")
    assert code == 1
    assert stderr.strip() == "There is no broadcast 42; `outreach broadcast list` shows them."
    code, _, stderr = run("broadcast", command, "forty")
    assert code == 1
    assert (
        stderr.strip() == "'forty' is not a broadcast number; `outreach broadcast list` shows them."
    )


async def test_follow_polls_until_nothing_is_left_to_send(
    units: Units, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.outreach import coordinate

    monkeypatch.setattr(cli, "FOLLOW_POLL_SECONDS", 0.01)
    await units.run(lambda conn: _people(conn, "+923011111111", "+923022222222"))
    draft = coordinate.Draft("Job fair", None, Audience())
    sent = await coordinate.send_now(units, draft, datetime.now(UTC), by="cli")
    waiting = await coordinate.get_report(units, sent.broadcast_id)
    assert waiting is not None and waiting.waiting == 2
    following = asyncio.create_task(cli._follow(units, waiting))
    await asyncio.sleep(0.05)
    assert not following.done(), "it keeps watching while messages wait"
    await units.run(
        lambda conn: conn.execute(
            update(_deliveries)
            .where(_deliveries.c.broadcast_id == sent.broadcast_id)
            .values(status="delivered")
        )
    )
    done = await asyncio.wait_for(following, timeout=10)
    assert done.waiting == 0 and done.by_status["delivered"] == 2


def _people(conn: Connection, *numbers: str) -> None:
    now = datetime.now(UTC)
    for number in numbers:
        sid = conn.execute(
            insert(_subscribers)
            .values(language="en", topics=[], created_at=now, updated_at=now)
            .returning(_subscribers.c.id)
        ).scalar_one()
        conn.execute(
            insert(_contacts).values(
                subscriber_id=sid,
                channel="sms",
                address=number,
                status="active",
                status_changed_at=now,
                created_at=now,
                updated_at=now,
            )
        )


def test_show_follow_ends_with_a_full_bar_and_the_report(town: str) -> None:
    bid = send()
    settle(town, {"+923011111111": ("delivered", None), "+923022222222": ("sent", None)})
    code, stdout, stderr = run("broadcast", "show", str(bid), "--follow")
    assert code == 0, stderr
    assert "2/2" in stdout, "the progress bar ends full"
    assert "Delivered 1, sent 1, failed 0, skipped 0, waiting 0" in stdout


def test_cancel_skips_what_waits_and_leaves_what_was_sent(town: str) -> None:
    bid = send()
    settle(town, {"+923011111111": ("sent", None)})
    code, stdout, stderr = run("broadcast", "cancel", str(bid))
    assert code == 0, stderr
    assert f"Broadcast {bid} cancelled: 1 waiting messages will not be sent." in stdout
    code, stdout, _ = run("broadcast", "show", str(bid))
    assert "Status: cancelled" in stdout
    assert ", by cli" in stdout and ", cancelled by cli" in stdout
    assert "Delivered 0, sent 1, failed 0, skipped 1, waiting 0" in stdout
    assert "Skipped: cancelled 1" in stdout
    code, _, stderr = run("broadcast", "cancel", str(bid))
    assert code == 1
    assert "already cancelled: nothing to cancel" in stderr


# schedule


def test_schedule_add_list_show_pause_resume_remove(town: str) -> None:
    code, stdout, stderr = run(
        "schedule", "add", "--when", "every monday at 10:00", "--text-en", "Weekly training",
        "--topic", "training",
    )  # fmt: skip
    assert code == 0, stderr
    assert "Schedule 1 added: 'Weekly training', every Monday at 10:00 PKT." in stdout
    next_line = next(line for line in stdout.splitlines() if line.startswith("Next: "))
    assert next_line.count("Mon ") == 3
    assert "Recipients: 1 SMS" in stdout, "the preview of whom it would reach today"

    code, stdout, _ = run("schedule", "list")
    assert code == 0
    assert "Weekly training" in stdout and "topics training" in stdout

    code, stdout, _ = run("schedule", "show", "1")
    assert code == 0
    assert "When: every Monday at 10:00 PKT" in stdout
    assert "Next: Mon " in stdout
    assert "Added by: cli" in stdout

    code, stdout, _ = run("schedule", "pause", "1")
    assert code == 0 and "Schedule 1 paused" in stdout
    code, stdout, _ = run("schedule", "show", "1")
    assert "(paused)" in stdout and "Next: paused" in stdout
    code, stdout, _ = run("schedule", "list")
    assert "paused" in stdout

    code, stdout, _ = run("schedule", "resume", "1")
    assert code == 0 and "Schedule 1 resumed; next: Mon " in stdout
    assert on_db(town, lambda conn: conn.execute(select(_schedules.c.enabled)).scalar_one())

    code, stdout, _ = run("schedule", "remove", "1")
    assert code == 0 and "Schedule 1 removed." in stdout
    assert count(town, _schedules) == 0
    code, stdout, _ = run("schedule", "list")
    assert "No schedules yet" in stdout


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("every blursday", "Did not understand 'blursday'"),
        ("on 1 january 2020 at 10:00", "has already passed"),
        ("every day at 10:00 until 1 january 2020", "never comes again: nothing scheduled"),
    ],
    ids=["gibberish", "past-date", "ended"],
)
def test_schedule_add_refuses_a_bad_when(town: str, when: str, message: str) -> None:
    code, _, stderr = run("schedule", "add", "--when", when, "--text-en", "x")
    assert code == 1
    assert message in stderr
    assert "Traceback" not in stderr
    assert count(town, _schedules) == 0


@pytest.mark.parametrize("command", ["show", "pause", "resume", "remove"])
def test_an_unknown_schedule_id_is_one_line_and_exit_1(town: str, command: str) -> None:
    code, _, stderr = run("schedule", command, "7")
    assert code == 1
    assert stderr.strip() == "There is no schedule 7; `outreach schedule list` shows them."


def test_schedule_show_lists_missed_runs_in_local_time(town: str) -> None:
    code, _, stderr = run(
        "schedule", "add", "--when", "every day at 09:00", "--text-en", "Daily tip"
    )
    assert code == 0, stderr
    missed = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # 09:00 in Karachi

    def record(conn: Connection) -> None:
        aid = conn.execute(select(_schedules.c.announcement_id)).scalar_one()
        conn.execute(
            insert(_broadcasts).values(
                announcement_id=aid,
                schedule_id=1,
                key=f"schedule:1:{missed.isoformat()}",
                audience={},
                status="missed",
                scheduled_for=missed,
                created_by="schedule",
                finished_at=missed,
                created_at=missed,
                updated_at=missed,
            )
        )

    on_db(town, record)
    code, stdout, _ = run("schedule", "show", "1")
    assert code == 0
    assert "Missed while the bot was down (1):" in stdout
    assert "  Fri 20 Nov 2026 09:00 PKT" in stdout


# report


def test_report_counts_by_status_and_reason(town: str) -> None:
    bid = send("--title", "Job fair")
    settle(
        town,
        {"+923011111111": ("delivered", None), "+923022222222": ("failed", "21211 invalid")},
    )
    code, stdout, stderr = run("report")
    assert code == 0, stderr
    assert f"#{bid} Job fair" in stdout
    assert "Delivered 1, sent 0, failed 1, skipped 0, waiting 0" in stdout
    assert "Failed: 21211 invalid 1" in stdout

    code, stdout, _ = run("report", str(bid))
    assert code == 0 and f"#{bid} Job fair" in stdout
    code, _, stderr = run("report", "99")
    assert code == 1 and "There is no broadcast 99" in stderr


def test_report_csv_is_one_parseable_row_per_broadcast(town: str) -> None:
    first = send("--title", "Job fair, part 1")
    second = send("--title", "Part 2")
    settle(
        town,
        {"+923011111111": ("skipped", "opted_out"), "+923022222222": ("failed", None)},
    )
    code, stdout, stderr = run("report", "--csv")
    assert code == 0, stderr
    rows = list(csv.DictReader(io.StringIO(stdout)))
    assert [int(r["broadcast_id"]) for r in rows] == [second, first], "newest first"
    row = rows[1]
    assert row["title"] == "Job fair, part 1"
    assert row["status"] == "queued" and row["created_by"] == "cli"
    assert row["scheduled_for"].endswith("+05:00"), "in the configured zone"
    statuses = ("pending", "sending", "sent", "delivered", "failed", "skipped")
    assert {s: int(row[s]) for s in statuses} == {
        "pending": 0, "sending": 0, "sent": 0, "delivered": 0, "failed": 1, "skipped": 1,
    }  # fmt: skip
    assert int(row["total"]) == 2
    assert row["failed_reasons"] == "unknown: 1"
    assert row["skipped_reasons"] == "opted_out: 1"
    assert row["cancelled_by"] == ""
    assert list(rows[0])[-1] == "cancelled_by", "a column added last, after the old ones"

    code, stdout, _ = run("report", "--csv", "--limit", "1")
    assert len(list(csv.DictReader(io.StringIO(stdout)))) == 1


def test_help_explains_the_new_commands(database: str) -> None:
    code, stdout, _ = run("--help")
    assert code == 0 and "schedule" in stdout and "report" in stdout
    code, stdout, _ = run("broadcast", "send", "--help")
    assert code == 0 and "--yes" in stdout and "--both-channels" in stdout
    code, stdout, _ = run("schedule", "add", "--help")
    assert code == 0 and "every monday at 10:00" in " ".join(stdout.split())


def _give_telegram(url: str, number: str, chat: str) -> None:
    """The person with ``number`` also has an active Telegram chat."""

    def unit(conn: Connection) -> None:
        now = datetime.now(UTC)
        subscriber_id = conn.execute(
            select(_contacts.c.subscriber_id).where(_contacts.c.address == number)
        ).scalar_one()
        conn.execute(
            insert(_contacts).values(
                subscriber_id=subscriber_id,
                channel="telegram",
                address=chat,
                status="active",
                status_changed_at=now,
                created_at=now,
                updated_at=now,
            )
        )

    on_db(url, unit)


def test_telegram_users_are_not_texted_unless_both_channels_is_asked_for(
    town: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _give_telegram(town, "+923011111111", "5550001")
    cheapest = send()
    assert queued_numbers(town, cheapest) == {"5550001", "+923022222222"}
    both = send("--both-channels")
    assert queued_numbers(town, both) == {"5550001", "+923011111111", "+923022222222"}
    # The setting changes the default; the option still wins.
    monkeypatch.setenv("BROADCAST_BOTH_CHANNELS", "true")
    assert queued_numbers(town, send()) == {"5550001", "+923011111111", "+923022222222"}
    assert queued_numbers(town, send("--cheapest-channel")) == {"5550001", "+923022222222"}
