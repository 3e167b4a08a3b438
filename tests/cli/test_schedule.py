"""`outreach schedule` as a coordinator uses it: add, list, show, pause, resume, remove."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, insert, select

from bot.store.tables import broadcasts as _broadcasts
from bot.store.tables import schedules as _schedules
from tests.cli.conftest import count, on_db, run, run_in_terminal

# The database is not the subject here: see "sqlite_only" in tests/conftest.py.
pytestmark = pytest.mark.sqlite_only


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
    assert "English: Weekly training" in stdout
    assert "Urdu: (none: Urdu readers get the English text)" in stdout
    assert "Roman Urdu: (none: Roman Urdu readers get the English text)" in stdout
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

    code, stdout, _ = run("schedule", "remove", "1", "--yes")
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


def _add_weekly(*extra: str) -> None:
    code, _, stderr = run(
        "schedule", "add", "--when", "every monday at 10:00", "--text-en", "Weekly training",
        "--topic", "training", *extra,
    )  # fmt: skip
    assert code == 0, stderr


def test_schedule_show_gives_every_language_text(town: str) -> None:
    _add_weekly("--text-ur", "ہفتہ وار تربیت\nپیر کو دس بجے")
    code, stdout, stderr = run("schedule", "show", "1")
    assert code == 0, stderr
    assert "English: Weekly training" in stdout
    assert "Urdu: ہفتہ وار تربیت\n  پیر کو دس بجے" in stdout, "every line, indented"
    assert "Roman Urdu:" in stdout and "get the English text" in stdout


def test_schedule_remove_without_a_terminal_or_yes_removes_nothing(town: str) -> None:
    _add_weekly()
    code, stdout, stderr = run("schedule", "remove", "1", input="y\n")
    assert code == 1
    assert stderr.strip() == (
        "Schedule 1 not removed: there is no terminal to ask on; add --yes to go ahead."
    )
    assert count(town, _schedules) == 1
    code, stdout, _ = run("schedule", "remove", "1", "-y")
    assert code == 0 and "Schedule 1 removed." in stdout
    assert count(town, _schedules) == 0


def test_schedule_remove_asks_at_a_terminal(town: str) -> None:
    _add_weekly()
    code, shown = run_in_terminal("schedule", "remove", "1", answer="n")
    assert "Remove schedule 1 ('Weekly training', every Monday at 10:00 PKT) for good?" in shown
    assert code == 1 and "Schedule 1 not removed" in shown
    assert count(town, _schedules) == 1
    code, shown = run_in_terminal("schedule", "remove", "1", answer="y")
    assert code == 0 and "Schedule 1 removed." in shown, shown
    assert count(town, _schedules) == 0
