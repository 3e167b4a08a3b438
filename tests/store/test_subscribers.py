"""bot.store.subscribers: profiles and linking one person's Telegram chat and phone, on both
databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError

from bot.store import contacts, subscribers
from bot.store.models import NotFound
from bot.store.tables import subscribers as subscribers_table
from bot.store.units import Units

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
PHONE = "+923001234567"


async def test_set_language(units: Units) -> None:
    ref = await units.run(lambda conn: contacts.upsert_contact(conn, "sms", PHONE, NOW))
    await units.run(lambda conn: subscribers.set_language(conn, ref.subscriber_id, "ur", LATER))
    assert await units.run(lambda conn: contacts.get_contact(conn, "sms", PHONE)) == (
        contacts.ContactRef(
            ref.contact_id, ref.subscriber_id, "sms", PHONE, "active", "ur", created=False
        )
    )
    s = subscribers_table
    updated_at = await units.run(
        lambda conn: conn.execute(
            select(s.c.updated_at).where(s.c.id == ref.subscriber_id)
        ).scalar_one()
    )
    assert updated_at == LATER
    with pytest.raises(NotFound):
        await units.run(lambda conn: subscribers.set_language(conn, 404, "en", NOW))


async def test_roman_urdu_is_kept_and_a_language_we_do_not_have_refused(units: Units) -> None:
    ref = await units.run(lambda conn: contacts.upsert_contact(conn, "sms", PHONE, NOW))
    await units.run(lambda conn: subscribers.set_language(conn, ref.subscriber_id, "ur-Latn", NOW))
    got = await units.run(lambda conn: contacts.get_contact(conn, "sms", PHONE))
    assert got is not None and got.language == "ur-Latn"
    s = subscribers_table
    with pytest.raises(IntegrityError):  # the CHECK: en, ur or ur-Latn
        await units.run(
            lambda conn: conn.execute(
                s.update().where(s.c.id == ref.subscriber_id).values(language="ur-Arab")
            )
        )


async def test_interests_city_and_source(units: Units) -> None:
    def unit(conn: Connection) -> int:
        tg = contacts.upsert_contact(conn, "telegram", "777", NOW)
        subscribers.set_topics(conn, tg.subscriber_id, ["jobs", "training", "jobs"], NOW)
        subscribers.set_city(conn, tg.subscriber_id, "multan", NOW)
        assert subscribers.set_source_once(conn, tg.subscriber_id, "fb_ad", NOW)
        assert not subscribers.set_source_once(conn, tg.subscriber_id, "later", NOW)
        return tg.subscriber_id

    subscriber_id = await units.run(unit)
    profile = await units.run(lambda conn: subscribers.get_profile(conn, subscriber_id))
    assert profile.topics == {"jobs", "training"}
    assert profile.city == "multan"
    assert profile.source == "fb_ad", "the first source is kept"


async def test_an_unknown_subscriber_is_not_found(units: Units) -> None:
    with pytest.raises(NotFound):
        await units.run(lambda conn: subscribers.get_profile(conn, 404))
    with pytest.raises(NotFound):
        await units.run(lambda conn: subscribers.set_city(conn, 404, "multan", NOW))


async def test_sharing_a_new_number_adds_an_sms_contact(units: Units) -> None:
    def unit(conn: Connection) -> tuple[contacts.ContactRef, contacts.ContactRef]:
        tg = contacts.upsert_contact(conn, "telegram", "777", NOW)
        return tg, subscribers.link_phone(conn, tg, PHONE, NOW)

    tg, sms = await units.run(unit)
    assert sms.subscriber_id == tg.subscriber_id
    assert sms.channel == "sms" and sms.status == "active"


async def test_sharing_a_known_number_merges_the_two_people(units: Units) -> None:
    def setup(conn: Connection) -> contacts.ContactRef:
        sms = contacts.upsert_contact(conn, "sms", PHONE, NOW, language="ur")
        subscribers.set_topics(conn, sms.subscriber_id, ["women"], NOW)
        subscribers.set_city(conn, sms.subscriber_id, "bahawalpur", NOW)
        contacts.set_contact_status(conn, sms.contact_id, "opted_out", NOW, reason="keyword")
        tg = contacts.upsert_contact(conn, "telegram", "777", NOW)
        subscribers.set_topics(conn, tg.subscriber_id, ["jobs"], NOW)
        return tg

    tg = await units.run(setup)
    linked = await units.run(lambda conn: subscribers.link_phone(conn, tg, PHONE, NOW))
    people = await units.run(
        lambda conn: conn.execute(select(func.count()).select_from(subscribers_table)).scalar()
    )
    profile = await units.run(lambda conn: subscribers.get_profile(conn, tg.subscriber_id))
    both = await units.run(lambda conn: subscribers.subscriber_contacts(conn, tg.subscriber_id))
    assert people == 1
    assert linked.subscriber_id == tg.subscriber_id
    assert profile.topics == {"jobs", "women"}
    assert profile.city == "bahawalpur" and profile.language == "ur"
    assert {(c.channel, c.status) for c in both} == {
        ("telegram", "active"),
        ("sms", "opted_out"),
    }, "the SMS opt-out survives the merge"


async def test_linking_twice_changes_nothing(units: Units) -> None:
    def unit(conn: Connection) -> tuple[contacts.ContactRef, contacts.ContactRef]:
        tg = contacts.upsert_contact(conn, "telegram", "777", NOW)
        first = subscribers.link_phone(conn, tg, PHONE, NOW)
        again = subscribers.link_phone(conn, tg, PHONE, NOW)
        return first, again

    first, again = await units.run(unit)
    assert first == again
