"""The store's queries against real databases (SQLite always, PostgreSQL when configured)."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.store import repo
from bot.store.engine import UnsupportedDatabase, create_engine, database_kind
from bot.store.models import Contact, Message, NaiveDatetimeError, Subscriber

Sessions = async_sessionmaker[AsyncSession]

NOW = datetime(2025, 11, 25, 9, 30, 15, 123456, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
PHONE = "+923001234567"
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


async def _count(sessions: Sessions, entity: type[Subscriber | Contact | Message]) -> int:
    async with sessions() as s:
        return await s.scalar(select(func.count()).select_from(entity)) or 0


async def _new_contact(sessions: Sessions, address: str = PHONE) -> repo.ContactRef:
    async with sessions.begin() as s:
        return await repo.upsert_contact(s, "sms", address, NOW)


# --- contacts -------------------------------------------------------------------------------


async def test_upsert_creates_once_then_returns_the_same_contact(sessions: Sessions) -> None:
    first = await _new_contact(sessions)
    again = await _new_contact(sessions)

    assert first.created
    assert not again.created
    assert (again.contact_id, again.subscriber_id) == (first.contact_id, first.subscriber_id)
    assert (again.channel, again.address, again.status, again.language) == (
        "sms",
        PHONE,
        "active",
        None,
    )
    assert await _count(sessions, Subscriber) == 1


async def test_upsert_sets_language_and_source_only_for_a_new_subscriber(
    sessions: Sessions,
) -> None:
    async with sessions.begin() as s:
        new = await repo.upsert_contact(
            s, "telegram", "123456789", NOW, language="ur", source="expo"
        )
        old = await repo.upsert_contact(s, "telegram", "123456789", LATER, language="en")
    assert new.language == old.language == "ur"
    async with sessions() as s:
        subscriber = await s.get_one(Subscriber, new.subscriber_id)
    assert (subscriber.source, subscriber.topics, subscriber.city) == ("expo", [], None)
    assert subscriber.created_at == subscriber.updated_at == NOW


async def test_concurrent_first_messages_from_one_number_make_one_subscriber(
    sessions: Sessions,
) -> None:
    async def first_message() -> repo.ContactRef:
        async with sessions.begin() as s:
            return await repo.upsert_contact(s, "sms", PHONE, NOW)

    refs = await asyncio.gather(*(first_message() for _ in range(10)))

    assert len({(r.contact_id, r.subscriber_id) for r in refs}) == 1
    assert sum(r.created for r in refs) == 1
    assert await _count(sessions, Subscriber) == 1
    assert await _count(sessions, Contact) == 1


async def test_channel_and_address_are_unique_together(sessions: Sessions) -> None:
    sms = await _new_contact(sessions)
    async with sessions.begin() as s:
        telegram = await repo.upsert_contact(s, "telegram", PHONE, NOW)
    assert telegram.contact_id != sms.contact_id

    row = {
        "subscriber_id": sms.subscriber_id,
        "channel": "sms",
        "address": PHONE,
        "status_changed_at": NOW,
        "created_at": NOW,
        "updated_at": NOW,
    }
    with pytest.raises(IntegrityError):
        async with sessions.begin() as s:
            await s.execute(insert(Contact).values(row))


async def test_get_contact(sessions: Sessions) -> None:
    created = await _new_contact(sessions)
    async with sessions() as s:
        assert await repo.get_contact(s, "sms", "+923009999999") is None
        found = await repo.get_contact(s, "sms", PHONE)
    assert found is not None
    assert found == dataclasses.replace(created, created=False)


async def test_status_change_records_time_reason_and_words(sessions: Sessions) -> None:
    ref = await _new_contact(sessions)
    async with sessions.begin() as s:
        await repo.set_contact_status(
            s, ref.contact_id, "opted_out", NOW, reason="keyword", words="band karo"
        )
    async with sessions.begin() as s:  # STOP again later: the first opt-out is kept
        await repo.set_contact_status(
            s, ref.contact_id, "opted_out", LATER, reason="keyword", words="STOP"
        )
    async with sessions() as s:
        contact = await s.get_one(Contact, ref.contact_id)
        again = await repo.get_contact(s, "sms", PHONE)
    assert (contact.status, contact.status_changed_at) == ("opted_out", NOW)
    assert (contact.status_reason, contact.status_words) == ("keyword", "band karo")
    assert again is not None
    assert again.status == "opted_out"


async def test_status_change_from_a_provider_has_no_words(sessions: Sessions) -> None:
    ref = await _new_contact(sessions)
    async with sessions.begin() as s:
        await repo.set_contact_status(s, ref.contact_id, "blocked", LATER, reason="telegram")
        await repo.set_contact_status(s, ref.contact_id, "invalid", LATER, reason="provider:21211")
    async with sessions() as s:
        contact = await s.get_one(Contact, ref.contact_id)
    assert (contact.status, contact.status_reason, contact.status_words) == (
        "invalid",
        "provider:21211",
        None,
    )
    assert (contact.created_at, contact.updated_at) == (NOW, LATER)


@pytest.mark.parametrize("later", ["blocked", "invalid"])
async def test_only_an_opt_in_leaves_opted_out(sessions: Sessions, later: str) -> None:
    ref = await _new_contact(sessions)
    async with sessions.begin() as s:
        await repo.set_contact_status(
            s, ref.contact_id, "opted_out", LATER, reason="keyword", words="STOP"
        )
        await repo.set_contact_status(s, ref.contact_id, later, LATER, reason="provider")  # type: ignore[arg-type]
    async with sessions.begin() as s:
        contact = await s.get_one(Contact, ref.contact_id)
        assert (contact.status, contact.status_words) == ("opted_out", "STOP")
        await repo.set_contact_status(s, ref.contact_id, "active", LATER, reason="keyword")
    async with sessions() as s:
        assert (await s.get_one(Contact, ref.contact_id)).status == "active"


async def test_status_of_an_unknown_contact_is_not_found(sessions: Sessions) -> None:
    with pytest.raises(repo.NotFound):
        async with sessions.begin() as s:
            await repo.set_contact_status(s, 404, "blocked", NOW, reason="telegram:blocked")


async def test_set_language(sessions: Sessions) -> None:
    ref = await _new_contact(sessions)
    async with sessions.begin() as s:
        await repo.set_language(s, ref.subscriber_id, "ur", LATER)
    async with sessions() as s:
        assert (await repo.get_contact(s, "sms", PHONE)) == repo.ContactRef(
            ref.contact_id, ref.subscriber_id, "sms", PHONE, "active", "ur", created=False
        )
        subscriber = await s.get_one(Subscriber, ref.subscriber_id)
    assert subscriber.updated_at == LATER
    with pytest.raises(repo.NotFound):
        async with sessions.begin() as s:
            await repo.set_language(s, 404, "en", NOW)


async def test_unknown_channel_or_status_is_rejected_by_the_database(sessions: Sessions) -> None:
    ref = await _new_contact(sessions)
    with pytest.raises(IntegrityError):
        async with sessions.begin() as s:
            await s.execute(text("UPDATE contacts SET status = 'paused'"))
    with pytest.raises(IntegrityError):
        async with sessions.begin() as s:
            await repo.record_outbound(s, ref.contact_id, "sms", "hi", NOW, status="lost")  # type: ignore[arg-type]


# --- messages -------------------------------------------------------------------------------


async def test_a_repeated_inbound_provider_id_is_stored_once(sessions: Sessions) -> None:
    ref = await _new_contact(sessions)
    async with sessions.begin() as s:
        first = await repo.record_inbound(s, ref.contact_id, "sms", "jobs", "SM1", NOW)
    async with sessions.begin() as s:
        repeat = await repo.record_inbound(s, ref.contact_id, "sms", "jobs", "SM1", LATER)

    assert isinstance(first, int)
    assert repeat is None
    assert await _count(sessions, Message) == 1


async def test_inbound_without_provider_id_or_on_another_channel_is_not_a_repeat(
    sessions: Sessions,
) -> None:
    ref = await _new_contact(sessions)
    async with sessions.begin() as s:
        ids = [
            await repo.record_inbound(s, ref.contact_id, "sms", "a", None, NOW),
            await repo.record_inbound(s, ref.contact_id, "sms", "b", None, NOW),
            await repo.record_inbound(s, ref.contact_id, "sms", "c", "42", NOW),
            await repo.record_inbound(s, ref.contact_id, "telegram", "d", "42", NOW),
        ]
        await repo.record_outbound(s, ref.contact_id, "sms", "e", NOW, provider_id="42")
        assert await repo.count_messages(s) == 5
    assert None not in ids
    assert len(set(ids)) == 4


async def test_outbound_and_its_delivery_reports(sessions: Sessions) -> None:
    ref = await _new_contact(sessions)
    async with sessions.begin() as s:
        message_id = await repo.record_outbound(
            s, ref.contact_id, "sms", "Jobs: …", NOW, segments=1
        )
        assert await repo.mark_outbound(s, message_id, "sent", NOW, provider_id="SM9")
    async with sessions.begin() as s:
        assert await repo.update_message_status(s, "sms", "SM9", "delivered", LATER)
        # Reports arrive out of order and twice: nothing moves backwards.
        assert not await repo.update_message_status(s, "sms", "SM9", "sent", LATER)
        assert not await repo.update_message_status(s, "sms", "SM9", "delivered", LATER)
        assert not await repo.update_message_status(s, "telegram", "SM9", "failed", LATER)
        assert not await repo.update_message_status(s, "sms", "nope", "delivered", LATER)
    async with sessions() as s:
        (message,) = await repo.recent_messages(s, ref.contact_id)
    assert (message.direction, message.status, message.provider_id) == ("out", "delivered", "SM9")
    assert (message.segments, message.created_at, message.updated_at) == (1, NOW, LATER)


async def test_a_failed_send_keeps_the_error(sessions: Sessions) -> None:
    ref = await _new_contact(sessions)
    async with sessions.begin() as s:
        message_id = await repo.record_outbound(s, ref.contact_id, "sms", "hi", NOW)
        await repo.mark_outbound(s, message_id, "sent", NOW, provider_id="SM7")
        await repo.update_message_status(
            s, "sms", "SM7", "failed", LATER, error_code="21610", error="unsubscribed recipient"
        )
        (message,) = await repo.recent_messages(s, ref.contact_id)
    assert (message.status, message.error_code, message.error) == (
        "failed",
        "21610",
        "unsubscribed recipient",
    )


async def test_marking_an_unknown_or_inbound_message_is_not_found(sessions: Sessions) -> None:
    ref = await _new_contact(sessions)
    async with sessions.begin() as s:
        inbound = await repo.record_inbound(s, ref.contact_id, "sms", "hi", "SM1", NOW)
    assert inbound is not None
    for message_id in (inbound, 404):
        with pytest.raises(repo.NotFound):
            async with sessions.begin() as s:
                await repo.mark_outbound(s, message_id, "sent", NOW)


async def test_recent_messages_newest_first(sessions: Sessions) -> None:
    ref = await _new_contact(sessions)
    async with sessions.begin() as s:
        for minute in range(5):
            at = NOW + timedelta(minutes=minute)
            await repo.record_inbound(s, ref.contact_id, "sms", f"m{minute}", None, at)
        recent = await repo.recent_messages(s, ref.contact_id, limit=3)
    assert [m.text for m in recent] == ["m4", "m3", "m2"]


# --- time -----------------------------------------------------------------------------------


async def test_datetimes_go_in_aware_and_come_out_aware_utc(sessions: Sessions) -> None:
    karachi = datetime(2025, 12, 5, 9, 0, 0, 654321, tzinfo=ZoneInfo("Asia/Karachi"))
    async with sessions.begin() as s:
        ref = await repo.upsert_contact(s, "sms", PHONE, karachi)
    async with sessions() as s:
        contact = await s.get_one(Contact, ref.contact_id)
    assert contact.created_at == karachi
    assert contact.created_at.utcoffset() == timedelta(0)
    assert contact.created_at.isoformat() == "2025-12-05T04:00:00.654321+00:00"


async def test_naive_datetimes_are_rejected(sessions: Sessions) -> None:
    naive = datetime(2025, 11, 25, 9, 30)
    with pytest.raises(NaiveDatetimeError, match="naive"):
        async with sessions.begin() as s:
            await repo.upsert_contact(s, "sms", PHONE, naive)
    ref = await _new_contact(sessions)
    async with sessions() as s:  # through the ORM too
        contact = await s.get_one(Contact, ref.contact_id)
        contact.updated_at = naive
        with pytest.raises(StatementError, match="naive") as caught:
            await s.flush()
    assert isinstance(caught.value.orig, NaiveDatetimeError)


# --- integrity and SQLite setup -------------------------------------------------------------


async def test_foreign_keys_are_enforced(sessions: Sessions) -> None:
    with pytest.raises(IntegrityError):
        async with sessions.begin() as s:
            await repo.record_inbound(s, 404, "sms", "orphan", None, NOW)


async def test_deleting_a_subscriber_deletes_their_contacts_and_messages(
    sessions: Sessions,
) -> None:
    ref = await _new_contact(sessions)
    other = await _new_contact(sessions, "+923007654321")
    async with sessions.begin() as s:
        await repo.record_inbound(s, ref.contact_id, "sms", "jobs", "SM1", NOW)
        await repo.record_inbound(s, other.contact_id, "sms", "jobs", "SM2", NOW)
        await s.execute(delete(Subscriber).where(Subscriber.id == ref.subscriber_id))
    assert await _count(sessions, Contact) == 1
    assert await _count(sessions, Message) == 1


@sqlite_only
async def test_sqlite_connections_are_set_up(sessions: Sessions) -> None:
    async with sessions() as s:
        pragmas = {
            name: (await s.execute(text(f"PRAGMA {name}"))).scalar_one()
            for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")
        }
    assert pragmas == {
        "journal_mode": "wal",
        "busy_timeout": 5000,
        "foreign_keys": 1,
        "synchronous": 1,
    }


@sqlite_only
async def test_sqlite_transactions_take_the_write_lock_at_begin(
    sessions: Sessions, db_url: str
) -> None:
    path = make_url(db_url).database
    assert path is not None
    async with sessions.begin() as s:
        await s.execute(text("SELECT 1"))  # a read, yet the transaction holds the write lock
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()


async def test_updates_reach_objects_the_session_already_holds(sessions: Sessions) -> None:
    ref = await _new_contact(sessions)
    async with sessions.begin() as s:
        contact = await s.get_one(Contact, ref.contact_id)
        await repo.set_contact_status(
            s, ref.contact_id, "blocked", LATER, reason="telegram:blocked"
        )
        assert (contact.status, contact.status_changed_at) == ("blocked", LATER)


async def test_create_engine_makes_the_sqlite_folder(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'new' / 'dir' / 'outreach.db'}"
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER)"))
    finally:
        await engine.dispose()
    assert (tmp_path / "new" / "dir" / "outreach.db").is_file()


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("sqlite+aiosqlite:///./data/outreach.db", "sqlite"),
        ("sqlite+aiosqlite://", "sqlite"),
        ("postgresql+asyncpg://postgres@127.0.0.1:5432/test", "postgresql"),
    ],
)
def test_database_kind(url: str, kind: str) -> None:
    assert database_kind(url) == kind


def test_database_kind_rejects_other_databases() -> None:
    with pytest.raises(UnsupportedDatabase, match="mysql"):
        database_kind("mysql+aiomysql://root@localhost/outreach")
