"""``bot.store.backup``: the copy holds every commit (those still in the write-ahead log too),
a failed copy leaves the destination as it was, and a database in use is never settled."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from bot.store import backup
from bot.store.migrate import head_revision


@pytest.fixture
def db(sqlite_template: Path, tmp_path: Path) -> Path:
    """An outreach database at head, in WAL mode as the app leaves it."""
    path = tmp_path / "outreach.db"
    shutil.copyfile(sqlite_template, path)
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
    return path


def wal_connection(path: Path) -> sqlite3.Connection:
    """A connection that commits into the log and never folds it into the file."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    return conn


def add_subscribers(conn: sqlite3.Connection, n: int) -> None:
    conn.executemany(
        "INSERT INTO subscribers (created_at, updated_at) VALUES ('2026-12-01', '2026-12-01')",
        [()] * n,
    )


def add_dangling_contact(path: Path) -> None:
    """A contact of a subscriber who is not there (the plain driver leaves foreign keys off)."""
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(
            "INSERT INTO contacts (subscriber_id, channel, address, status, status_changed_at,"
            " created_at, updated_at) VALUES (999, 'sms', '+923001234567', 'active',"
            " '2026-01-01', '2026-01-01', '2026-01-01')"
        )


def test_the_copy_holds_what_is_only_in_the_log(db: Path, tmp_path: Path) -> None:
    with closing(wal_connection(db)) as writer:
        add_subscribers(writer, 5)
        log = db.with_name(db.name + "-wal")
        assert log.stat().st_size > 0  # committed, and not in the file yet
        naive = tmp_path / "naive.db"
        shutil.copyfile(db, naive)  # what `cp` would keep
        copy = tmp_path / "copy.db"
        backup.copy(db, copy)
    assert backup.inspect(naive).counts["subscribers"] == 0
    snapshot = backup.inspect(copy)
    assert snapshot == backup.Snapshot(
        head_revision(),
        {"subscribers": 5, "contacts": 0, "messages": 0, "broadcasts": 0, "deliveries": 0},
    )
    assert not copy.with_name(copy.name + "-wal").exists()


def test_a_damaged_source_leaves_the_destination_as_it_was(db: Path, tmp_path: Path) -> None:
    add_dangling_contact(db)
    dest = tmp_path / "kept.db"
    dest.write_bytes(b"yesterday's backup")
    with pytest.raises(backup.Damaged, match=f"{db} is damaged: 1 rows point at rows"):
        backup.copy(db, dest)
    assert dest.read_bytes() == b"yesterday's backup"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_a_replacement_keeps_the_mode_of_the_file_it_replaces(db: Path, tmp_path: Path) -> None:
    dest = tmp_path / "shared.db"
    dest.write_bytes(b"old")
    dest.chmod(0o640)
    backup.copy(db, dest)
    assert dest.stat().st_mode & 0o777 == 0o640
    assert backup.inspect(dest).revision == head_revision()


@pytest.mark.parametrize(
    ("make", "says"),
    [
        pytest.param(lambda p: None, "There is no file at", id="missing"),
        pytest.param(lambda p: p.mkdir(), "is a folder, not a SQLite database", id="folder"),
        pytest.param(lambda p: p.write_bytes(b""), "is not a SQLite database", id="empty"),
    ],
)
def test_inspect_names_what_is_not_a_database(
    tmp_path: Path, make: Callable[[Path], object], says: str
) -> None:
    path = tmp_path / "x.db"
    make(path)
    with pytest.raises(backup.NotSqlite, match=says):
        backup.inspect(path)


def test_a_database_in_use_is_not_settled_and_keeps_its_log(db: Path) -> None:
    with closing(wal_connection(db)) as writer:
        add_subscribers(writer, 3)
        with pytest.raises(backup.InUse, match="is open in another process"):
            backup.settle(db)
        assert db.with_name(db.name + "-wal").stat().st_size > 0
    assert backup.inspect(db).counts["subscribers"] == 3


def test_settling_folds_a_crashed_process_log_into_the_file(db: Path, tmp_path: Path) -> None:
    with closing(wal_connection(db)) as writer:
        add_subscribers(writer, 4)
        # What a process killed now leaves: the file and its log, the log not folded in.
        crashed = tmp_path / "crashed"
        crashed.mkdir()
        for name in (db.name, db.name + "-wal"):
            shutil.copyfile(db.with_name(name), crashed / name)
    left = crashed / db.name
    backup.settle(left)
    assert sorted(p.name for p in crashed.iterdir()) == [db.name]
    assert backup.inspect(left).counts["subscribers"] == 4
