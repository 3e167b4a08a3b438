"""bot.store.contacts against real databases (SQLite always, PostgreSQL when configured)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Connection, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.names import FOLDED_MAX, NAME_MAX
from bot.store import contacts
from bot.store.models import NaiveDatetimeError, NotFound
from bot.store.tables import contacts as contacts_table
from bot.store.tables import subscribers as subscribers_table
from bot.store.units import Units
from tests.conftest import (
    PATIENCE,
    create_elsewhere,
    eventually,
    postgres_only,
    waiting_for_a_lock,
)

NOW = datetime(2025, 11, 25, 9, 30, 15, 123456, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
PHONE = "+923001234567"


async def new_contact(units: Units, address: str = PHONE) -> contacts.ContactRef:
    return await units.run(lambda conn: contacts.upsert_contact(conn, "sms", address, NOW))


async def contact_row(units: Units, contact_id: int) -> Any:
    c = contacts_table
    return await units.run(lambda conn: conn.execute(select(c).where(c.c.id == contact_id)).one())


async def count(units: Units, table: Any) -> int:
    def unit(conn: Connection) -> int:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

    return await units.run(unit)


async def test_upsert_creates_once_then_returns_the_same_contact(units: Units) -> None:
    first = await new_contact(units)
    again = await new_contact(units)

    assert first.created
    assert not again.created
    assert (again.contact_id, again.subscriber_id) == (first.contact_id, first.subscriber_id)
    assert (again.channel, again.address, again.status, again.language) == (
        "sms",
        PHONE,
        "active",
        None,
    )
    assert await count(units, subscribers_table) == 1


async def test_upsert_sets_language_and_source_only_for_a_new_subscriber(units: Units) -> None:
    def unit(conn: Connection) -> tuple[contacts.ContactRef, contacts.ContactRef]:
        new = contacts.upsert_contact(
            conn, "telegram", "123456789", NOW, language="ur", source="expo"
        )
        old = contacts.upsert_contact(conn, "telegram", "123456789", LATER, language="en")
        return new, old

    new, old = await units.run(unit)
    assert new.language == old.language == "ur"
    s = subscribers_table
    subscriber = await units.run(
        lambda conn: conn.execute(select(s).where(s.c.id == new.subscriber_id)).one()
    )
    assert (subscriber.source, subscriber.topics, subscriber.city) == ("expo", [], None)
    assert subscriber.created_at == subscriber.updated_at == NOW


async def test_upsert_keeps_the_latest_name_given_and_never_empties_one(units: Units) -> None:
    s = subscribers_table

    async def upsert(name: str | None, now: datetime) -> tuple[Any, ...]:
        """The subscriber's name, folded name and updated_at after the upsert."""

        def unit(conn: Connection) -> tuple[Any, ...]:
            ref = contacts.upsert_contact(conn, "telegram", "123456789", now, name=name)
            where = s.c.id == ref.subscriber_id
            stmt = select(s.c.name, s.c.name_folded, s.c.updated_at).where(where)
            return tuple(conn.execute(stmt).one())

        return await units.run(unit)

    assert await upsert("Amina Bibi", NOW) == ("Amina Bibi", "amina bibi", NOW)
    # The same name again writes nothing (updated_at stays), nor does no name at all.
    assert await upsert("Amina Bibi", LATER) == ("Amina Bibi", "amina bibi", NOW)
    assert await upsert(None, LATER) == ("Amina Bibi", "amina bibi", NOW)
    # They renamed themselves on Telegram: the new name, folded beside it.
    later = LATER + timedelta(minutes=1)
    assert await upsert("عائشہ قریشی", later) == ("عائشہ قریشی", "عائشہ قریشی", later)
    assert await count(units, subscribers_table) == 1
    # The longest name, of a letter folding spells out long, fits (and its index entry).
    name, folded, _ = await upsert("\ufdfa" * NAME_MAX, later)
    assert name == "\ufdfa" * NAME_MAX and len(folded) == FOLDED_MAX


async def test_concurrent_first_messages_from_one_number_make_one_subscriber(
    units: Units,
) -> None:
    refs = await asyncio.gather(*(new_contact(units) for _ in range(10)))

    assert len({(r.contact_id, r.subscriber_id) for r in refs}) == 1
    assert sum(r.created for r in refs) == 1
    assert await count(units, subscribers_table) == 1
    assert await count(units, contacts_table) == 1


@postgres_only
async def test_a_message_never_waits_for_deliveries_being_written_to_its_contact(
    units: Units, engine: AsyncEngine
) -> None:
    contact = await new_contact(units)
    async with engine.connect() as writer:
        await writer.begin()
        # What writing a delivery row takes on its contact: the foreign key's check.
        await writer.execute(
            text("SELECT id FROM contacts WHERE id = :id FOR KEY SHARE"), {"id": contact.contact_id}
        )

        def lock(conn: Connection) -> contacts.ContactRef | None:
            conn.execute(text("SET LOCAL lock_timeout = '200ms'"))  # a wait fails, not hangs
            return contacts.get_contact(conn, "sms", PHONE, lock=True)

        found = await units.run(lock)
        await writer.rollback()
    assert found is not None and found.contact_id == contact.contact_id


async def test_channel_and_address_are_unique_together(units: Units) -> None:
    sms = await new_contact(units)
    telegram = await units.run(lambda conn: contacts.upsert_contact(conn, "telegram", PHONE, NOW))
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
        await units.run(lambda conn: conn.execute(insert(contacts_table).values(row)))


async def test_get_contact(units: Units) -> None:
    created = await new_contact(units)
    assert await units.run(lambda conn: contacts.get_contact(conn, "sms", "+923009999999")) is None
    found = await units.run(lambda conn: contacts.get_contact(conn, "sms", PHONE))
    assert found is not None
    assert found == dataclasses.replace(created, created=False)


async def test_status_change_records_time_reason_and_words(units: Units) -> None:
    ref = await new_contact(units)
    await units.run(
        lambda conn: contacts.set_contact_status(
            conn, ref.contact_id, "opted_out", NOW, reason="keyword", words="band karo"
        )
    )
    await units.run(  # STOP again later: the first opt-out is kept
        lambda conn: contacts.set_contact_status(
            conn, ref.contact_id, "opted_out", LATER, reason="keyword", words="STOP"
        )
    )
    contact = await contact_row(units, ref.contact_id)
    again = await units.run(lambda conn: contacts.get_contact(conn, "sms", PHONE))
    assert (contact.status, contact.status_changed_at) == ("opted_out", NOW)
    assert (contact.status_reason, contact.status_words) == ("keyword", "band karo")
    assert again is not None
    assert again.status == "opted_out"
    assert await units.run(lambda conn: contacts.is_opted_out(conn, ref.contact_id))


async def test_status_change_from_a_provider_has_no_words(units: Units) -> None:
    ref = await new_contact(units)

    def unit(conn: Connection) -> None:
        contacts.set_contact_status(conn, ref.contact_id, "blocked", LATER, reason="telegram")
        contacts.set_contact_status(conn, ref.contact_id, "invalid", LATER, reason="provider:21211")

    await units.run(unit)
    contact = await contact_row(units, ref.contact_id)
    assert (contact.status, contact.status_reason, contact.status_words) == (
        "invalid",
        "provider:21211",
        None,
    )
    assert (contact.created_at, contact.updated_at) == (NOW, LATER)
    assert not await units.run(lambda conn: contacts.is_opted_out(conn, ref.contact_id))


@pytest.mark.parametrize("later", ["blocked", "invalid"])
async def test_only_an_opt_in_leaves_opted_out(units: Units, later: str) -> None:
    ref = await new_contact(units)

    def unit(conn: Connection) -> None:
        contacts.set_contact_status(
            conn, ref.contact_id, "opted_out", LATER, reason="keyword", words="STOP"
        )
        contacts.set_contact_status(conn, ref.contact_id, later, LATER, reason="provider")  # type: ignore[arg-type]

    await units.run(unit)
    contact = await contact_row(units, ref.contact_id)
    assert (contact.status, contact.status_words) == ("opted_out", "STOP")
    await units.run(
        lambda conn: contacts.set_contact_status(
            conn, ref.contact_id, "active", LATER, reason="keyword"
        )
    )
    assert (await contact_row(units, ref.contact_id)).status == "active"


async def test_status_of_an_unknown_contact_is_not_found(units: Units) -> None:
    with pytest.raises(NotFound):
        await units.run(
            lambda conn: contacts.set_contact_status(
                conn, 404, "blocked", NOW, reason="telegram:blocked"
            )
        )


async def test_an_unknown_status_is_rejected_by_the_database(units: Units) -> None:
    await new_contact(units)
    with pytest.raises(IntegrityError):
        await units.run(lambda conn: conn.execute(text("UPDATE contacts SET status = 'paused'")))


async def test_datetimes_go_in_aware_and_come_out_aware_utc(units: Units) -> None:
    karachi = datetime(2025, 12, 5, 9, 0, 0, 654321, tzinfo=ZoneInfo("Asia/Karachi"))
    ref = await units.run(lambda conn: contacts.upsert_contact(conn, "sms", PHONE, karachi))
    contact = await contact_row(units, ref.contact_id)
    assert contact.created_at == karachi
    assert contact.created_at.utcoffset() == timedelta(0)
    assert contact.created_at.isoformat() == "2025-12-05T04:00:00.654321+00:00"


async def test_naive_datetimes_are_rejected(units: Units) -> None:
    naive = datetime(2025, 11, 25, 9, 30)
    with pytest.raises(NaiveDatetimeError, match="naive"):
        await units.run(lambda conn: contacts.upsert_contact(conn, "sms", PHONE, naive))
    assert await count(units, contacts_table) == 0


async def test_upsert_contacts_is_upsert_contact_for_each(units: Units) -> None:
    old = await new_contact(units)
    wanted = [
        contacts.Wanted("sms", "+923001111111", NOW, language="ur"),
        contacts.Wanted("sms", PHONE, NOW, name="Amna"),
        contacts.Wanted("telegram", "900001", NOW, language="ur-Latn", name="Bilal"),
    ]

    first = await units.run(lambda conn: contacts.upsert_contacts(conn, wanted, skip_locked=True))
    again = await units.run(lambda conn: contacts.upsert_contacts(conn, wanted, skip_locked=True))

    assert all(ref is not None for ref in first)
    new, same, telegram = (ref for ref in first if ref is not None)
    assert (new.address, new.language, new.created) == ("+923001111111", "ur", True)
    assert (same.contact_id, same.subscriber_id, same.created) == (
        old.contact_id,
        old.subscriber_id,
        False,
    )
    assert (telegram.channel, telegram.language, telegram.created) == ("telegram", "ur-Latn", True)
    assert [ref.contact_id for ref in again if ref] == [ref.contact_id for ref in first if ref]
    assert not any(ref.created for ref in again if ref)
    assert await count(units, subscribers_table) == 3, "one subscriber each, none left over"
    names = await units.run(
        lambda conn: dict(
            conn.execute(select(subscribers_table.c.id, subscribers_table.c.name)).all()
        )
    )
    assert names[same.subscriber_id] == "Amna", "a new name is kept"
    assert names[telegram.subscriber_id] == "Bilal"
    languages = await units.run(
        lambda conn: dict(
            conn.execute(select(subscribers_table.c.id, subscribers_table.c.language)).all()
        )
    )
    assert languages[new.subscriber_id] == "ur", "a new subscriber's language is kept"
    assert languages[telegram.subscriber_id] == "ur-Latn"


@postgres_only
async def test_upsert_contacts_leaves_out_a_contact_another_transaction_holds(
    units: Units, engine: AsyncEngine
) -> None:
    held = await new_contact(units)
    wanted = [
        contacts.Wanted("sms", PHONE, LATER),
        contacts.Wanted("sms", "+923001111111", LATER),
    ]
    async with engine.connect() as other:
        c = contacts_table
        await other.execute(select(c.c.id).where(c.c.id == held.contact_id).with_for_update())

        found = await asyncio.wait_for(
            units.run(lambda conn: contacts.upsert_contacts(conn, wanted, skip_locked=True)),
            PATIENCE,
        )

        assert found[0] is None, "not waited for"
        assert found[1] is not None and found[1].created
        await other.rollback()
    found = await units.run(lambda conn: contacts.upsert_contacts(conn, wanted, skip_locked=True))
    assert found[0] is not None and found[0].contact_id == held.contact_id


@postgres_only
async def test_upsert_contacts_leaves_out_a_contact_another_transaction_creates_meanwhile(
    units: Units, engine: AsyncEngine
) -> None:
    wanted = [
        contacts.Wanted("sms", PHONE, LATER),
        contacts.Wanted("sms", "+923001111111", LATER),
    ]
    async with engine.connect() as other:
        await create_elsewhere(other, PHONE, NOW)
        upsert = asyncio.ensure_future(
            units.run(lambda conn: contacts.upsert_contacts(conn, wanted, skip_locked=True))
        )
        await eventually(lambda: upsert.done() or waiting_for_a_lock(engine))
        await other.commit()
    found = await upsert

    assert found[0] is None, "theirs: the caller takes it alone"
    assert found[1] is not None and found[1].created
    assert await count(units, subscribers_table) == 2, "the subscriber made for it is dropped"
