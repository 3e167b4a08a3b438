"""`outreach report`: what became of the broadcasts, as text and as CSV."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import csv_rows, run, send, settle

# The database is not the subject here: see "sqlite_only" in tests/conftest.py.
pytestmark = pytest.mark.sqlite_only


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
    rows = csv_rows(stdout)
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
    assert list(rows[0])[-4:] == ["cancelled_by", "sms_segments", "cost", "currency"], (
        "columns added last, after the old ones"
    )

    code, stdout, _ = run("report", "--csv", "--limit", "1")
    assert len(csv_rows(stdout)) == 1


URDU = "نوکری میلہ پیر کو صبح دس بجے پارک میں ہوگا۔ اپنا شناختی کارڈ ساتھ لائیں اور وقت پر پہنچیں۔"


def test_report_csv_costs_the_sms_the_provider_accepted(
    town: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    telegram_only = tmp_path / "telegram.csv"
    telegram_only.write_text("telegram_chat_id,language,topics\n1000001,en,jobs\n")
    assert run("subscribers", "import", str(telegram_only))[0] == 0
    assert len(URDU) > 70, "two UCS-2 segments"
    bid = send("--title", "نوکری میلہ", "--text-ur", URDU)
    settle(
        town,
        {
            "+923011111111": ("delivered", None),  # English, 1 segment
            "+923022222222": ("sent", None),  # Urdu, 2 segments
            "1000001": ("sent", None),  # Telegram costs nothing
        },
    )
    code, stdout, stderr = run("report", "--csv")
    assert code == 0, stderr
    (row,) = csv_rows(stdout)
    assert row["title"] == "نوکری میلہ" and int(row["broadcast_id"]) == bid
    assert (row["sms_segments"], row["cost"], row["currency"]) == ("3", "", ""), (
        "no price set: no fee is made up"
    )

    monkeypatch.setenv("SMS_PRICE_PER_SEGMENT", "1.5")
    (row,) = csv_rows(run("report", "--csv")[1])
    assert (row["sms_segments"], row["cost"], row["currency"]) == ("3", "4.50", "PKR")

    settle(town, {"+923011111111": ("failed", "30003")})  # refused before it went out
    (row,) = csv_rows(run("report", "--csv")[1])
    assert (row["sms_segments"], row["cost"]) == ("2", "3.00")


def test_help_explains_the_new_commands(database: str) -> None:
    code, stdout, _ = run("--help")
    assert code == 0 and "schedule" in stdout and "report" in stdout
    code, stdout, _ = run("broadcast", "send", "--help")
    assert code == 0 and "--yes" in stdout and "--both-channels" in stdout
    code, stdout, _ = run("schedule", "add", "--help")
    assert code == 0 and "every monday at 10:00" in " ".join(stdout.split())
