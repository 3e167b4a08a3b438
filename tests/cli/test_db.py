"""`outreach db backup` and `outreach db restore`: a copy taken in the middle of a broadcast
comes back whole in a fresh folder, and every refusal says what is wrong and touches nothing.

SQLite only: these are SQLite's commands (on PostgreSQL they send you to pg_dump and
pg_restore, tested here without a server)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest

from bot.channels.base import SendResult
from bot.channels.telegram import TelegramChannel, build_bot
from bot.config import Settings
from bot.core.decision import Channel, Reply
from bot.outreach.dispatcher import Dispatcher
from bot.store import backup
from bot.store.engine import create_engine
from bot.store.locks import WorkerLock
from bot.store.migrate import head_revision, require_current, upgrade
from bot.store.units import Units
from fakes.clock import FakeClock
from fakes.server import aserve
from fakes.telegram_api import FakeTelegram
from tests.cli.conftest import run
from tests.outreach.test_dispatch_loop import run_until_final
from tests.outreach.test_dispatcher import setup, tg
from tests.store.test_backup import add_dangling_contact

pytestmark = pytest.mark.sqlite_only

TOKEN = "7000000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
PEOPLE = 240
BACKUP_AT = 90  # the send during which the backup is taken


def path_of(url: str) -> Path:
    return Path(url.removeprefix("sqlite+aiosqlite:///"))


def query(path: Path, sql: str) -> list[tuple[object, ...]]:
    """Rows of ``sql`` on the SQLite file at ``path``, read with the plain driver."""
    with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as conn:
        return conn.execute(sql).fetchall()


def statuses(path: Path) -> Counter[str]:
    return Counter({str(s): int(n) for s, n in query(path, _BY_STATUS)})


_BY_STATUS = "SELECT status, count(*) FROM deliveries GROUP BY status"


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """DATABASE_URL pointing into a folder that does not exist yet."""
    target = tmp_path / "fresh" / "data" / "outreach.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{target}")
    return target


class BackingUp:
    """A sender that sends through ``channel`` and, on send number ``at``, first waits for
    ``take`` to run in a thread: the backup is taken with that delivery in flight and the
    other sends of the dispatcher's window going on beside it."""

    def __init__(self, channel: TelegramChannel, at: int, take: Callable[[], None]) -> None:
        self.channel: Channel = "telegram"
        self._inner, self._at, self._take = channel, at, take
        self._sends = 0

    async def send(self, to: str, reply: Reply) -> SendResult:
        self._sends += 1
        if self._sends == self._at:
            await asyncio.to_thread(self._take)
        return await self._inner.send(to, reply)


async def broadcast_while_backing_up(url: str, file: Path) -> FakeTelegram:
    """A broadcast to ``PEOPLE`` Telegram chats sent by the dispatcher through the fake Bot
    API, backed up to ``file`` during send ``BACKUP_AT``; the fake, once everything is sent."""
    fake = FakeTelegram(TOKEN)
    engine = create_engine(url)
    units = Units(engine)
    settings = Settings(_env_file=None, telegram_bot_token=TOKEN)
    try:
        await setup(units, [tg(n) for n in range(1, PEOPLE + 1)])
        async with aserve(fake.app) as api:
            settings = settings.model_copy(update={"telegram_api_base_url": api})
            async with build_bot(settings) as bot:
                channel = TelegramChannel(bot, clock=FakeClock())
                sender = BackingUp(channel, BACKUP_AT, lambda: backup.copy(path_of(url), file))
                dispatcher = Dispatcher(units, {"telegram": sender}, batch=25)
                await run_until_final(dispatcher, units, "telegram")
    finally:
        units.close()
        await engine.dispose()
    return fake


def test_a_backup_taken_mid_broadcast_restores_whole_into_a_fresh_folder(
    database: str, tmp_path: Path, fresh: Path
) -> None:
    copy = tmp_path / "mid-broadcast.db"
    fake = asyncio.run(broadcast_while_backing_up(database, copy))
    assert len(fake.sent) == PEOPLE
    assert statuses(path_of(database)) == {"sent": PEOPLE}

    # The copy is one commit's state: whole, nothing pointing at nothing, the broadcast's
    # every row there (queued in one statement), and sends still in flight when it was taken.
    assert query(copy, "PRAGMA integrity_check") == [("ok",)]
    assert query(copy, "PRAGMA foreign_key_check") == []
    taken = statuses(copy)
    assert taken.total() == PEOPLE
    assert taken["sending"] >= 1  # the send it was taken during, at least
    assert 0 < taken["sent"] < PEOPLE
    orphans = "SELECT count(*) FROM deliveries d LEFT JOIN broadcasts b ON b.id = d.broadcast_id"
    assert query(copy, orphans + " WHERE b.id IS NULL") == [(0,)]
    assert query(
        copy, "SELECT count(*) FROM deliveries WHERE status = 'sent' AND provider_id IS NULL"
    ) == [(0,)]
    assert query(copy, "SELECT status FROM broadcasts") == [("sending",)]
    assert not copy.with_name(copy.name + "-wal").exists()  # one self-contained file

    code, stdout, stderr = run("db", "restore", str(copy))
    assert code == 0, stderr
    assert f"Restored {copy} into {fresh}" in stdout
    assert f"{PEOPLE} deliveries" in stdout
    asyncio.run(require_current(f"sqlite+aiosqlite:///{fresh}"))  # the schema check passes
    assert statuses(fresh) == taken  # what the copy held, not what the broadcast became
    assert query(fresh, "PRAGMA foreign_key_check") == []
    assert fresh.stat().st_mode & 0o777 == 0o600  # phone numbers: its owner's only


def test_backup_writes_a_checked_private_copy(database: str, tmp_path: Path) -> None:
    code, stdout, stderr = run("chat", "--once", "naukri")
    assert code == 0, stderr
    copy = tmp_path / "copy.db"
    code, stdout, stderr = run("db", "backup", str(copy))
    assert code == 0, stderr
    assert f"to {copy}" in stdout
    assert f"schema revision {head_revision()}, 1 subscribers" in stdout
    assert copy.stat().st_mode & 0o777 == 0o600
    assert query(copy, "SELECT count(*) FROM messages") == query(
        path_of(database), "SELECT count(*) FROM messages"
    )
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_backup_into_a_folder_names_the_copy_by_the_time(database: str, tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    code, _, stderr = run("db", "backup", str(folder))
    assert code == 0, stderr
    (made,) = folder.iterdir()
    assert made.name.startswith("outreach-") and made.suffix == ".db"
    assert backup.inspect(made).revision == head_revision()


def test_backup_does_not_replace_a_file_without_force(database: str, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    copy.write_bytes(b"last week's")
    code, _, stderr = run("db", "backup", str(copy))
    assert code == 1
    assert f"{copy} exists: not replaced: there is no terminal to ask on; add --force" in stderr
    assert copy.read_bytes() == b"last week's"
    code, _, stderr = run("db", "backup", str(copy), "--force")
    assert code == 0, stderr
    assert backup.inspect(copy).revision == head_revision()


def test_backup_refuses_to_write_over_the_database_itself(database: str) -> None:
    code, _, stderr = run("db", "backup", str(path_of(database)), "--force")
    assert code == 1
    assert "is the database itself" in stderr


def test_backup_of_no_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "none" / "outreach.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{missing}")
    code, _, stderr = run("db", "backup", str(tmp_path / "copy.db"))
    assert code == 1
    assert f"There is no database at {missing}: nothing to back up." in stderr
    assert not missing.parent.exists()


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("backup", "on PostgreSQL use `pg_dump -Fc -f FILE DATABASE`"),
        ("restore", "on PostgreSQL use `pg_restore --clean --if-exists -d DATABASE FILE`, then"),
    ],
)
def test_on_postgresql_they_point_at_its_own_tools(
    command: str, says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://outreach:pw@db.invalid/outreach")
    code, stdout, stderr = run("db", command, str(tmp_path / "x.db"))
    assert code == 2
    assert says in stderr and "deploy/README.md" in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert "pw" not in stderr + stdout


# -- restore's refusals --------------------------------------------------------------------


@pytest.fixture
def good_copy(database: str, tmp_path: Path) -> Path:
    copy = tmp_path / "good.db"
    backup.copy(path_of(database), copy)
    return copy


@pytest.fixture
def unchanged(database: str) -> Iterator[None]:
    """The configured database is byte for byte the same after the test."""
    path = path_of(database)
    before = path.read_bytes()
    yield
    assert path.read_bytes() == before


def test_restore_does_not_replace_a_database_without_force(
    database: str, good_copy: Path, unchanged: None
) -> None:
    code, _, stderr = run("db", "restore", str(good_copy))
    assert code == 1
    assert (
        f"{path_of(database)} exists: nothing restored: there is no terminal to ask on; "
        "add --force to go ahead." in stderr
    )


def test_restore_with_force_replaces_the_database(database: str, good_copy: Path) -> None:
    code, _, stderr = run("chat", "--once", "naukri")  # written after the copy was taken
    assert code == 0, stderr
    code, stdout, stderr = run("db", "restore", str(good_copy), "--force")
    assert code == 0, stderr
    assert "Restored" in stdout
    assert query(path_of(database), "SELECT count(*) FROM messages") == [(0,)]


def test_restore_refuses_a_file_that_is_not_sqlite(
    database: str, tmp_path: Path, unchanged: None
) -> None:
    junk = tmp_path / "notes.db"
    junk.write_text("a spreadsheet, saved by mistake", encoding="utf-8")
    code, _, stderr = run("db", "restore", str(junk), "--force")
    assert code == 1
    assert f"{junk} is not a SQLite database: nothing restored." in stderr


def test_restore_refuses_a_sqlite_database_of_something_else(
    database: str, tmp_path: Path, unchanged: None
) -> None:
    other = tmp_path / "other.db"
    with closing(sqlite3.connect(other)) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    code, _, stderr = run("db", "restore", str(other), "--force")
    assert code == 1
    assert f"{other} is a SQLite database, but not Dhanote Outreach's" in stderr
    assert "nothing restored" in stderr


def test_restore_refuses_a_newer_schema(good_copy: Path, database: str, unchanged: None) -> None:
    with closing(sqlite3.connect(good_copy)) as conn, conn:
        conn.execute("UPDATE alembic_version SET version_num = 'f00dcafe1234'")
    code, _, stderr = run("db", "restore", str(good_copy), "--force")
    assert code == 1
    assert (
        f"{good_copy} was made by a newer version of Dhanote Outreach: its schema revision "
        f"f00dcafe1234 is unknown to this one (at {head_revision()})" in stderr
    )


def test_restore_refuses_a_damaged_copy(good_copy: Path, database: str, unchanged: None) -> None:
    add_dangling_contact(good_copy)
    code, _, stderr = run("db", "restore", str(good_copy), "--force")
    assert code == 1
    assert f"{good_copy} is damaged: 1 rows point at rows that are not there" in stderr


def test_restore_refuses_while_a_process_has_the_database_open(
    database: str, good_copy: Path, unchanged: None
) -> None:
    with closing(sqlite3.connect(path_of(database))) as conn:
        conn.execute("SELECT count(*) FROM messages").fetchone()  # open, as serve keeps it
        code, _, stderr = run("db", "restore", str(good_copy), "--force")
    assert code == 1
    assert f"{path_of(database)} is open in another process" in stderr
    assert "systemctl stop outreach.target" in stderr


def test_restore_refuses_while_a_worker_holds_the_lock(
    database: str, good_copy: Path, unchanged: None
) -> None:
    async def hold() -> WorkerLock:
        lock = WorkerLock(create_engine(database))  # a file lock: no connection is made
        assert await lock.try_acquire()
        return lock

    lock = asyncio.run(hold())
    try:
        code, _, stderr = run("db", "restore", str(good_copy), "--force")
    finally:
        asyncio.run(lock.release())
    assert code == 1
    assert f"An outreach worker is running on {path_of(database)}" in stderr


def test_restoring_an_older_schema_says_to_upgrade(tmp_path: Path, fresh: Path) -> None:
    older = tmp_path / "older.db"
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{older}", "bbd711e9217b"))
    code, stdout, stderr = run("db", "restore", str(older))
    assert code == 0, stderr
    assert "schema revision bbd711e9217b" in stdout
    assert f"Its schema is older than this version's (it needs {head_revision()}): run" in stdout
    code, _, stderr = run("broadcast", "list")
    assert code == 1
    assert "run `outreach db upgrade`" in stderr
    code, _, stderr = run("db", "upgrade")
    assert code == 0, stderr
    asyncio.run(require_current(f"sqlite+aiosqlite:///{fresh}"))
