"""``outreach db``: the database's schema (``upgrade``), and copies of a SQLite database
(``backup`` while the bot runs, ``restore`` when it does not; :mod:`bot.store.backup`).

On PostgreSQL ``backup`` and ``restore`` say in one line to use ``pg_dump`` and
``pg_restore`` (exit 2): deploy/README.md says how.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from bot.cli.common import confirm_or_exit, err, fail, first_line, load_settings, out, setup_logging

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.store.backup import Snapshot

db_app = typer.Typer(help="The database: schema migrations, SQLite backups.")

# What systemd calls the bot's processes (deploy/): what to stop before a restore.
STOP_HINT = "stop them first (systemctl stop outreach.target)"
PG_BACKUP = (
    "`outreach db backup` is for SQLite: on PostgreSQL use `pg_dump -Fc -f FILE DATABASE` "
    "(see deploy/README.md)."
)
PG_RESTORE = (
    "`outreach db restore` is for SQLite: on PostgreSQL use `pg_restore --clean --if-exists "
    "-d DATABASE FILE`, then `outreach db upgrade` (see deploy/README.md)."
)

Force = Annotated[
    bool, typer.Option("--force", "-f", help="Replace the file if it exists, without asking.")
]


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply the migrations to the configured database (creates the SQLite file if needed).

    Every other command needs the database at the current schema and says so when it is not.
    """
    import asyncio

    from bot.store.migrate import upgrade

    settings = load_settings()
    setup_logging("WARNING")
    asyncio.run(upgrade(settings.database_url, revision))
    out.print(f"Database ({settings.database_kind}) is at {revision}.")


@db_app.command("backup")
def db_backup(
    file: Annotated[
        Path,
        typer.Argument(
            help="Where to write the copy; an existing folder gets outreach-<UTC time>.db in it."
        ),
    ],
    force: Force = False,
) -> None:
    """Copy the SQLite database to FILE while the bot runs on it.

    SQLite's online backup: the copy is the database as one commit left it, checked before it
    is kept, and FILE is written whole or not at all. Readable by its owner only (it holds
    phone numbers). On PostgreSQL use pg_dump (exit 2).
    """
    import sqlite3
    import time
    from datetime import UTC, datetime

    from bot.store import backup

    settings = load_settings()
    setup_logging("WARNING")
    source = _sqlite_or_exit(settings, PG_BACKUP)
    if not source.exists():
        fail(f"There is no database at {source}: nothing to back up.")
    if file.is_dir():
        file = file / f"outreach-{datetime.now(UTC):%Y%m%d-%H%M%S}.db"
    if file.exists():
        if file.samefile(source):
            fail(f"{file} is the database itself: back it up to another file.")
        confirm_or_exit(
            f"{file} exists. Replace it?", force, f"{file} exists: not replaced", "--force"
        )
    started = time.monotonic()
    try:
        backup.copy(source, file)
        snapshot = backup.inspect(file, check=False)  # copy checked it
    except backup.BackupError as exc:
        fail(f"{exc}: nothing written to {file}.")
    except (OSError, sqlite3.Error) as exc:
        fail(f"Cannot back up {source} to {file}: {first_line(exc)}")
    seconds = time.monotonic() - started
    size = file.stat().st_size / 1_000_000
    out.print(
        f"Backed up {source} to {file} ({size:.1f} MB, {seconds:.1f} s): {_summary(snapshot)}.",
        markup=False,
        soft_wrap=True,
    )


@db_app.command("restore")
def db_restore(
    file: Annotated[Path, typer.Argument(help="A copy made by `outreach db backup`.")],
    force: Force = False,
) -> None:
    """Put FILE in place of the configured SQLite database.

    Stop `outreach serve` and `outreach worker` first: nothing is restored while a process has
    the database open. Refuses a file that is not an outreach database, or is damaged, or whose
    schema is newer than this version's; replaces the database at once (never half-written),
    asking first (--force: without asking). On PostgreSQL use pg_restore (exit 2).
    """
    import sqlite3

    from bot.store import backup
    from bot.store.locks import worker_running
    from bot.store.migrate import head_revision, known_revisions

    settings = load_settings()
    setup_logging("WARNING")
    target = _sqlite_or_exit(settings, PG_RESTORE)
    try:
        snapshot = backup.inspect(file)
    except backup.BackupError as exc:
        fail(f"{exc}: nothing restored.")
    except (OSError, sqlite3.Error) as exc:
        fail(f"Cannot read {file}: {first_line(exc)}; nothing restored.")
    head = head_revision()
    if snapshot.revision not in known_revisions():
        fail(
            f"{file} was made by a newer version of Dhanote Outreach: its schema revision "
            f"{snapshot.revision} is unknown to this one (at {head}). Restore it with that "
            "version; nothing restored."
        )
    if target.exists():
        if file.resolve().samefile(target):
            fail(f"{file} is the configured database itself: nothing to restore.")
        _settle_or_exit(target, worker_running(settings.database_url))
        confirm_or_exit(
            f"Replace {target} with {file}?", force, f"{target} exists: nothing restored", "--force"
        )
        _settle_or_exit(target, worker_running(settings.database_url))  # still nobody on it
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        backup.copy(file, target, check=False)  # inspect checked it
    except backup.BackupError as exc:
        fail(f"{exc}: nothing restored.")
    except (OSError, sqlite3.Error) as exc:
        fail(f"Cannot restore {file} into {target}: {first_line(exc)}; nothing restored.")
    out.print(f"Restored {file} into {target}: {_summary(snapshot)}.", markup=False, soft_wrap=True)
    if snapshot.revision != head:
        out.print(
            f"Its schema is older than this version's (it needs {head}): run `outreach db "
            "upgrade` before starting the bot.",
            markup=False,
            soft_wrap=True,
        )


def _sqlite_or_exit(settings: Settings, on_postgres: str) -> Path:
    """The SQLite file the settings name; on PostgreSQL ``on_postgres`` and exit 2."""
    from bot.store.engine import sqlite_file

    if settings.database_kind == "postgresql":
        _exit_2(on_postgres)
    path = sqlite_file(settings.database_url)
    if path is None:
        fail("DATABASE_URL names no SQLite file (an in-memory database has nothing to copy).")
    return path


def _exit_2(message: str) -> NoReturn:
    err.print(message, markup=False)
    raise typer.Exit(2)


def _settle_or_exit(target: Path, worker: bool) -> None:
    """Exit 1, saying what to stop, while a process has ``target`` open."""
    import sqlite3

    from bot.store import backup

    if worker:
        fail(
            f"An outreach worker is running on {target} (`outreach worker`, or `outreach "
            f"serve` with its worker): {STOP_HINT}; nothing restored."
        )
    try:
        backup.settle(target)
    except backup.InUse:
        fail(
            f"{target} is open in another process (`outreach serve`, `worker` or `chat`): "
            f"{STOP_HINT}; nothing restored."
        )
    except (OSError, sqlite3.Error) as exc:
        fail(f"Cannot open {target}: {first_line(exc)}; nothing restored.")


def _summary(snapshot: Snapshot) -> str:
    counts = ", ".join(f"{n:,} {table}" for table, n in snapshot.counts.items())
    return f"schema revision {snapshot.revision}, {counts}"
