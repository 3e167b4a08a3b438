"""Copies of a SQLite database, taken while the bot runs on it and put back when it does not.

* :func:`copy` is SQLite's online backup API in one step: it reads the source in one read
  transaction, so the copy is the database as one commit left it, whatever is written
  meanwhile. Every connection of ours runs in WAL mode, where a reader neither blocks the
  writer nor waits for it: ``outreach serve`` goes on storing messages and sending while a
  backup runs. The copy is written to a temporary file beside the destination, checked
  (``integrity_check``, ``foreign_key_check``), made one self-contained file
  (``journal_mode=DELETE``: no ``-wal`` beside it), flushed to disk and only then renamed over
  the destination, so a crash, a full disk or a damaged source leaves the destination as it
  was, never half-written.
* :func:`inspect` says what a file holds (its schema revision and some counts), after
  checking that it is a SQLite database, undamaged, and Dhanote Outreach's.
* :func:`settle` makes sure no process has a database open (``outreach serve``, ``worker``,
  ``chat`` all keep theirs open while they run) and folds its write-ahead log back into the
  file, so that the file can be replaced.

PostgreSQL has its own tools (``pg_dump``, ``pg_restore``); nothing here is for it. Unlike
the query modules this one does not go through :class:`bot.store.units.Units`: the backup
API and the locks it relies on belong to the driver's own connections.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.store.migrate import VERSION_TABLE

SQLITE_HEADER = b"SQLite format 3\x00"
# Tables every outreach database has had since its first migration.
OUTREACH_TABLES = frozenset({VERSION_TABLE, "subscribers", "contacts", "messages"})
# The rows a summary counts, where the table exists.
COUNTED = ("subscribers", "contacts", "messages", "broadcasts", "deliveries")
# Seconds to wait for a writer's lock before giving up (a backup reads without one in WAL).
BUSY_TIMEOUT = 30.0
# Files SQLite keeps beside a database while it is open (or after a crash).
COMPANIONS = ("-wal", "-shm", "-journal")


class BackupError(RuntimeError):
    """What is wrong, in one line for a person, naming the file."""


class NotSqlite(BackupError):
    """The file is missing, unreadable, or not a SQLite database."""


class NotOutreach(BackupError):
    """A SQLite database, but not Dhanote Outreach's."""


class Damaged(BackupError):
    """``integrity_check`` or ``foreign_key_check`` found a problem."""


class InUse(BackupError):
    """Another connection (in this process or another) has the database open."""


@dataclass(frozen=True)
class Snapshot:
    """What an outreach database holds: its schema revision and rows per :data:`COUNTED`
    table that it has."""

    revision: str
    counts: Mapping[str, int]


def copy(source: Path, dest: Path, *, check: bool = True) -> None:
    """Copy the SQLite database in ``source`` to ``dest``, replacing ``dest`` at once if it
    exists; see the module docstring. The new file is readable by its owner only, unless it
    replaces one: then it takes that one's mode and (when allowed) owner. Run as root into a
    directory someone else owns, the new file is theirs.

    The copy is checked unless ``check`` is false (the caller has just checked ``source``
    with :func:`inspect`): the checks read every page, ten times as long as the copy takes
    (a 240 MB database: 28 s against 2.8 s).

    Raises :class:`NotSqlite` or :class:`Damaged` for the source (nothing written),
    ``sqlite3.Error`` and ``OSError`` for what else fails (nothing written either)."""
    _require_sqlite(source)
    handle, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(handle)
    temp = Path(name)
    try:
        with (
            contextlib.closing(_open(source)) as src,
            contextlib.closing(sqlite3.connect(temp, isolation_level=None)) as dst,
        ):
            src.backup(dst)  # every page in one step: one read transaction, one snapshot
            dst.execute("PRAGMA journal_mode=DELETE")
            if check:
                _check(dst, source)
        _take_place(temp, dest)
        _fsync(temp)
        os.replace(temp, dest)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync(dest.parent)


def inspect(path: Path, *, check: bool = True) -> Snapshot:
    """The revision and counts of the outreach database in ``path``, which is only read.

    Raises :class:`NotSqlite`, :class:`Damaged` (with ``check``: SQLite's integrity and
    foreign-key checks, which read every page) or :class:`NotOutreach` (no ``alembic_version``
    or not the tables an outreach database has)."""
    _require_sqlite(path)
    with contextlib.closing(_open(path)) as conn:
        if check:
            _check(conn, path)
        tables = {
            str(name)
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        missing = sorted(OUTREACH_TABLES - tables)
        if missing:
            raise NotOutreach(
                f"{path} is a SQLite database, but not Dhanote Outreach's "
                f"(it has no {', '.join(missing)} table)"
            )
        found = conn.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone()  # noqa: S608
        if found is None:
            raise NotOutreach(f"{path} has no schema revision (its {VERSION_TABLE} is empty)")
        counts = {
            table: int(conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])  # noqa: S608
            for table in COUNTED
            if table in tables
        }
    return Snapshot(revision=str(found[0]), counts=counts)


def settle(path: Path) -> None:
    """Make sure no connection has the SQLite database at ``path`` open, and leave it one
    self-contained file (what its write-ahead log held folded in), ready to be replaced.

    Raises :class:`InUse` when another connection has it open: every process of ours keeps
    one open while it runs (in WAL mode it holds a shared lock on the file all along), so
    taking the file's exclusive lock, without waiting, fails then. A file that is not a
    SQLite database has nothing to settle."""
    conn = sqlite3.connect(_uri(path), uri=True, timeout=0, isolation_level=None)
    try:
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise InUse(f"{path} is open in another process") from exc
        raise
    except sqlite3.DatabaseError:  # not a database: nothing of SQLite's to fold in
        pass
    finally:
        conn.close()  # the last connection checkpoints the log and deletes it
    for suffix in COMPANIONS:  # left by a crash; they would be read with the new file
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def _require_sqlite(path: Path) -> None:
    try:
        with path.open("rb") as file:
            header = file.read(len(SQLITE_HEADER))
    except FileNotFoundError as exc:
        raise NotSqlite(f"There is no file at {path}") from exc
    except IsADirectoryError as exc:
        raise NotSqlite(f"{path} is a folder, not a SQLite database") from exc
    except OSError as exc:
        raise NotSqlite(f"Cannot read {path}: {exc.strerror or exc}") from exc
    if header != SQLITE_HEADER:
        raise NotSqlite(f"{path} is not a SQLite database")


def _uri(path: Path) -> str:
    # mode=rw never creates a file, and falls back to reading only when the file is
    # write-protected. Read-write rather than read-only: the last connection to a WAL
    # database deletes its -wal and -shm on closing, a read-only one cannot (and files left
    # by root beside the service's database would lock the service out of it).
    return f"{path.absolute().as_uri()}?mode=rw"


def _open(path: Path) -> sqlite3.Connection:
    """A connection that only reads ``path`` (``query_only``), waiting out a writer's lock."""
    conn = sqlite3.connect(_uri(path), uri=True, timeout=BUSY_TIMEOUT, isolation_level=None)
    conn.execute("PRAGMA query_only=ON")
    return conn


def _check(conn: sqlite3.Connection, path: Path) -> None:
    """Raise :class:`Damaged`, naming ``path``, unless the database on ``conn`` passes
    ``integrity_check`` and ``foreign_key_check``."""
    problems = [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise Damaged(f"{path} is damaged: integrity_check says {problems[0]}")
    dangling = conn.execute("PRAGMA foreign_key_check").fetchall()
    if dangling:
        raise Damaged(
            f"{path} is damaged: {len(dangling)} rows point at rows that are not there "
            f"(the first in table {dangling[0][0]})"
        )


def _take_place(temp: Path, dest: Path) -> None:
    """Give ``temp`` the mode and owner of the ``dest`` it replaces; a new file run as root
    goes to the owner of its directory (the service's, for its data directory)."""
    try:
        like = dest.stat()
    except FileNotFoundError:
        if os.geteuid() == 0:
            folder = dest.parent.stat()
            os.chown(temp, folder.st_uid, folder.st_gid)
        return
    os.chmod(temp, like.st_mode & 0o7777)
    with contextlib.suppress(PermissionError):
        os.chown(temp, like.st_uid, like.st_gid)


def _fsync(path: Path) -> None:
    """Flush ``path`` (a file, or a folder after a rename) to the disk."""
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
