"""``outreach worker`` as a deployment runs it: a real process that sends what coordinators
queued, and a second worker on the same database that only waits."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.cli.test_main import OUTREACH, migrated, run, workdir
from tests.conftest import eventually

pytestmark = pytest.mark.slow

__all__ = ["migrated", "workdir"]  # the fixtures, used by name


def statuses(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT status FROM deliveries ORDER BY id")]


def start_worker(workdir: Path) -> subprocess.Popen[str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TWILIO", "TELEGRAM", "SMSGATE"))
    }
    # Quiet hours off, so the test passes at any time of day.
    env |= {"QUIET_HOURS_START": "00:00", "QUIET_HOURS_END": "00:00", "SMS_PER_SECOND": "100"}
    return subprocess.Popen(
        [str(OUTREACH), "worker"],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_worker_sends_queued_announcements_and_a_second_one_stands_by(
    migrated: Path,
) -> None:
    workdir = migrated
    csv_file = workdir / "people.csv"
    csv_file.write_text(
        "phone,language,city,topics\n0300 1234567,en,multan,jobs\n0301 7654321,ur,,\n",
        encoding="utf-8",
    )
    code, _, stderr = run("subscribers", "import", str(csv_file))
    assert code == 0, stderr
    code, _, stderr = run("broadcast", "send", "--text-en", "Job fair on Monday", "--yes")
    assert code == 0, stderr
    db = workdir / "data" / "outreach.db"
    assert statuses(db) == ["pending", "pending"]

    first = start_worker(workdir)
    second = None
    second_said: list[str] = []
    try:
        # The CLI calls above run their own loops: this test is not a coroutine.
        asyncio.run(eventually(lambda: statuses(db) == ["sent", "sent"], "both sent"))
        second = start_worker(workdir)
        assert second.stderr is not None
        for line in second.stderr:  # until it has tried the lock (or exited: then it fails)
            second_said.append(line)
            if "waits as a standby" in line:
                break
        assert second.poll() is None
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
    _, first_err = first.communicate(timeout=30)
    assert second is not None
    _, rest = second.communicate(timeout=30)
    second_err = "".join(second_said) + rest
    assert first.returncode == 0, first_err
    assert second.returncode == 0, second_err
    assert "worker started" in first_err
    assert "waits as a standby" in second_err
    assert "worker started" not in second_err
    assert "Traceback" not in first_err + second_err
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status FROM broadcasts").fetchall() == [("done",)]
