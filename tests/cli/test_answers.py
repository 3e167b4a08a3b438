"""`outreach answers` and `outreach report unanswered`, run as a coordinator would, on a
migrated database (SQLite, and PostgreSQL when configured), with the shipped content."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import csv_rows, run

# The database is not the subject here: see "sqlite_only" in tests/conftest.py.
pytestmark = pytest.mark.sqlite_only

FEES = (
    "answers", "add", "fees",
    "--keyword", "fees", "-k", "fees kitni hai", "-k", "فیس",
    "--sms-en", "TEST fees: PKR 1234 (test value)",
    "--sms-ur", "ٹیسٹ فیس: 1234 روپے",
    "--by", "amna",
)  # fmt: skip


def ask(text: str, sender: str = "+923001112223") -> dict[str, object]:
    code, stdout, stderr = run("chat", "--once", text, "--json", "--from", sender)
    assert code == 0, stderr
    result: dict[str, object] = json.loads(stdout)
    return result


def test_an_added_answer_is_answered_and_listed(database: str) -> None:
    # Fees are not in the article: a person answers, until a coordinator adds the answer.
    before = ask("fees kitni hai?")
    assert (before["intent"], before["answer_id"]) == ("staff", None)
    assert before["thread_id"] is not None
    code, stdout, stderr = run(*FEES)
    assert code == 0, stderr
    assert "Answer 'fees' added by amna" in stdout

    reply = ask("Fees kitni hai?", "+923001112224")
    assert (reply["answer_id"], reply["reply"]) == ("fees", "TEST fees: PKR 1234 (test value)")
    assert reply["thread_id"] is None, "answered, not handed over"
    assert ask("فیس", "+923001112225")["reply"] == "ٹیسٹ فیس: 1234 روپے"

    code, stdout, _ = run("answers", "list")
    assert code == 0
    assert "fees, fees kitni hai, فیس" in stdout and "amna" in stdout
    assert "1 answer(s) added by coordinators." in stdout


def test_a_bad_answer_lists_every_problem_and_stores_nothing(database: str) -> None:
    code, _, stderr = run(
        "answers", "add", "jobs", "-k", "naukri", "-k", "STOP",
        "--sms-en", "“curly”", "--sms-ur", " ", "--by", "amna",
    )  # fmt: skip
    assert code == 1
    assert "Answer 'jobs' not added, 5 problem(s):" in stderr
    for problem in (
        "id: 'jobs' is already an answer in content/",
        "keywords: 'naukri' is already a keyword of the content answer 'jobs'",
        "keywords: 'STOP' is a reserved compliance/command word",
        "sms-en: not GSM-7",
        "sms-ur: empty",
    ):
        assert problem in stderr
    assert run("answers", "list")[1].startswith("No answers added yet")


def test_missing_texts_are_named(database: str) -> None:
    code, _, stderr = run("answers", "add", "fees", "-k", "fees", "--by", "amna")
    assert code == 1
    assert "Answer 'fees' not added: --sms-en, --sms-ur missing." in stderr


def test_the_same_id_twice_points_at_edit(database: str) -> None:
    assert run(*FEES)[0] == 0
    code, _, stderr = run(*FEES)
    assert code == 1 and "`outreach answers edit fees`" in stderr


def test_edit_show_and_remove_keep_the_history(database: str) -> None:
    assert run(*FEES)[0] == 0
    code, stdout, stderr = run(
        "answers", "edit", "fees", "--add-keyword", "fee kitni", "--remove-keyword", "فیس",
        "--telegram-en", "TEST fees, longer (test value)", "--by", "bilal",
    )  # fmt: skip
    assert code == 0, stderr
    assert "Answer 'fees' changed by bilal." in stdout
    assert ask("fee kitni", "+923001112226")["answer_id"] == "fees"

    code, stdout, _ = run("answers", "show", "fees")
    assert code == 0
    assert "keywords: fees, fees kitni hai, fee kitni" in stdout
    assert "SMS (English) [1 segment(s), GSM-7]: TEST fees: PKR 1234 (test value)" in stdout
    assert "SMS (Urdu) [1 segment(s), UCS-2]" in stdout
    assert "Telegram (English): TEST fees, longer (test value)" in stdout
    assert "added by amna" in stdout and "last changed by bilal" in stdout
    history = stdout.split("History (newest first):")[1].split("\n")
    assert "bilal: edit: keywords" in history[1] and "amna: add" in history[-2]

    code, stdout, _ = run("answers", "edit", "fees", "--telegram-en", "", "--by", "bilal")
    assert code == 0 and "changed" in stdout
    shown = run("answers", "show", "fees")[1]
    assert "Telegram (English):" not in shown
    assert "edit: Telegram (English) 'TEST fees, longer (test value)' -> (none)" in shown
    code, stdout, _ = run("answers", "edit", "fees", "--sms-en", "TEST fees: PKR 1234 (test value)")
    assert code == 0 and "Answer 'fees' is unchanged." in stdout

    code, _, stderr = run("answers", "remove", "fees", "--by", "amna", input="n\n")
    assert code == 1 and "Nothing removed." in stderr
    assert ask("fees kitni hai", "+923001112228")["answer_id"] == "fees"
    code, stdout, _ = run("answers", "remove", "fees", "--by", "amna", input="y\n")
    assert code == 0 and "Answer 'fees' removed by amna." in stdout
    assert ask("fees kitni hai", "+923001112229")["intent"] == "staff", "a person again"
    code, stdout, _ = run("answers", "show", "fees")
    assert code == 0 and "Answer 'fees' was removed." in stdout and "amna: remove" in stdout


def test_an_edit_is_checked_like_an_add(database: str) -> None:
    assert run(*FEES)[0] == 0
    code, _, stderr = run("answers", "edit", "fees", "-k", "jobs", "--by", "bilal")
    assert code == 1
    assert "Answer 'fees' not changed, 1 problem(s):" in stderr
    assert "'jobs' is already a keyword of the content answer 'jobs'" in stderr
    assert "fees kitni hai" in run("answers", "show", "fees")[1], "nothing changed"


def test_unknown_answers_and_empty_edits_are_one_line_errors(database: str) -> None:
    for args in (("show", "nope"), ("edit", "nope", "-k", "x1"), ("remove", "nope", "--yes")):
        code, _, stderr = run("answers", *args)
        assert code == 1 and "There is no answer 'nope'" in stderr, args
    code, _, stderr = run("answers", "edit", "fees")
    assert code == 1 and "Nothing to change" in stderr


def test_content_check_checks_the_added_answers(database: str) -> None:
    assert run(*FEES)[0] == 0
    code, stdout, stderr = run("content", "check")
    assert code == 0, stderr
    assert "Answers added by coordinators (database): 1" in stdout
    assert "✓ fees: fees, fees kitni hai, فیس (last changed by amna)" in stdout


def test_content_check_without_a_database_checks_the_content(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/none.db")
    code, stdout, _ = run("content", "check")
    assert code == 0, "no database yet"
    assert "Answers added by coordinators: not checked" in stdout


def test_report_unanswered_groups_what_the_bot_did_not_understand(database: str) -> None:
    for n, text in enumerate(
        [
            "fees kitni hai",
            "Fees kitni hai?",
            "FEES  kitni hai!",
            "fess kitni hai",
            "فیس کتنی ہے",
        ]
    ):
        ask(text, f"+92300111{n:04d}")
    code, stdout, _ = run(
        "chat", "--once", "fees kitni hai", "--channel", "telegram", "--from", "77"
    )
    assert code == 0
    ask("naukri")

    code, stdout, stderr = run("report", "unanswered")
    assert code == 0, stderr
    assert (
        "Not answered by the bot in the last 30 days: 6 message(s), 2 different question(s)"
        in stdout
    )
    first = stdout.split("\n")[4]
    assert "fees kitni hai" in first and "│ 5 " in first and "sms 4, telegram 1" in first

    code, stdout, _ = run("report", "unanswered", "--days", "1", "--csv")
    assert code == 0
    rows = csv_rows(stdout)
    assert [(r["question"], r["asked"], r["sms"], r["telegram"]) for r in rows] == [
        ("fees kitni hai", "5", "4", "1"),
        ("فیس کتنی ہے", "1", "1", "0"),
    ]
    # Roman Urdu writers, answered in Roman Urdu
    assert rows[1]["lang_ur"] == "1" and rows[0]["lang_ur-Latn"] == "5"
    assert rows[0]["examples"].split(" | ")[0] in {"fees kitni hai", "Fees kitni hai?"}


def test_report_unanswered_with_nothing_and_days_elsewhere(database: str) -> None:
    ask("naukri")
    # Thanks, ok and greetings are not questions the bot failed.
    for n, text in enumerate(["shukriya", "ok", "👍", "theek hai", "شکریہ", "salam", "hi"]):
        ask(text, f"+92300222{n:04d}")
    code, stdout, _ = run("report", "unanswered", "--days", "7")
    assert code == 0 and "Every message of the last 7 days was understood and answered." in stdout
    code, _, stderr = run("report", "--days", "7")
    assert code == 1 and "--days is for `outreach report unanswered`" in stderr
