"""What the coordinators' command tests share (`outreach broadcast`, `schedule`, `report`).

Each test runs the real Typer app on a migrated database (SQLite, and PostgreSQL when
``OUTREACH_TEST_POSTGRES_URL`` is set) named by ``DATABASE_URL``, with the shipped content.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import pty
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import Connection, Table, func, select, update
from typer.testing import CliRunner

from bot.cli.main import app
from bot.store.engine import create_engine
from bot.store.tables import contacts as _contacts
from bot.store.tables import deliveries as _deliveries
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


def csv_rows(stdout: str) -> list[dict[str, str]]:
    """The rows of a CSV the command wrote, which starts with the BOM (for Excel)."""
    assert stdout.startswith("\ufeff"), "UTF-8 with a BOM, so Excel shows Urdu"
    return list(csv.DictReader(io.StringIO(stdout.removeprefix("\ufeff"))))


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


OUTREACH = Path(sys.executable).parent / "outreach"
TERMINAL_TIMEOUT = 60


def run_in_terminal(*args: str, answer: str) -> tuple[int, str]:
    """``outreach ARGS`` at a (pseudo-)terminal, as a person runs it: ``answer`` and Enter are
    typed when it asks ``[y/N]``; the exit code and everything it showed. It runs in its own
    process, with this one's environment (``DATABASE_URL``, ``CONTENT_DIR``)."""
    main, terminal = pty.openpty()
    process = subprocess.Popen(
        [str(OUTREACH), *args], stdin=terminal, stdout=terminal, stderr=terminal, close_fds=True
    )
    os.close(terminal)
    shown, asked = b"", False
    try:
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # EIO: the command ended and closed the terminal
                break
            if not chunk:
                break
            shown += chunk
            if not asked and b"[y/N]" in shown:
                os.write(main, answer.encode() + b"\n")
                asked = True
        code = process.wait(timeout=TERMINAL_TIMEOUT)
    finally:
        os.close(main)
        if process.poll() is None:
            process.kill()
            process.wait()
    return code, shown.decode("utf-8", "replace").replace("\r\n", "\n")


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
    """Move the deliveries to these numbers to (status, error), as the dispatcher would (sent
    and delivered ones accepted by the provider now)."""

    def unit(conn: Connection) -> None:
        now = datetime.now(UTC)
        for address, (status, error) in outcomes.items():
            contact = select(_contacts.c.id).where(_contacts.c.address == address)
            accepted = status in ("sent", "delivered")  # the provider took it (and charges)
            conn.execute(
                update(_deliveries)
                .where(_deliveries.c.contact_id == contact.scalar_subquery())
                .values(status=status, error=error, sent_at=now if accepted else None)
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
