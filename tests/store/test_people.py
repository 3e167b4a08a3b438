"""Profiles and linking one person's Telegram chat and phone, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.store import people, repo
from bot.store.models import Subscriber

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
PHONE = "+923001234567"


async def test_interests_city_and_source(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as s:
        tg = await repo.upsert_contact(s, "telegram", "777", NOW)
        await people.set_topics(s, tg.subscriber_id, ["jobs", "training", "jobs"], NOW)
        await people.set_city(s, tg.subscriber_id, "multan", NOW)
        assert await people.set_source_once(s, tg.subscriber_id, "fb_ad", NOW)
        assert not await people.set_source_once(s, tg.subscriber_id, "later", NOW)
    async with sessions.begin() as s:
        profile = await people.get_profile(s, tg.subscriber_id)
    assert profile.topics == {"jobs", "training"}
    assert profile.city == "multan"
    assert profile.source == "fb_ad", "the first source is kept"


async def test_sharing_a_new_number_adds_an_sms_contact(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as s:
        tg = await repo.upsert_contact(s, "telegram", "777", NOW)
        sms = await people.link_phone(s, tg, PHONE, NOW)
    assert sms.subscriber_id == tg.subscriber_id
    assert sms.channel == "sms" and sms.status == "active"


async def test_sharing_a_known_number_merges_the_two_people(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as s:
        sms = await repo.upsert_contact(s, "sms", PHONE, NOW, language="ur")
        await people.set_topics(s, sms.subscriber_id, ["women"], NOW)
        await people.set_city(s, sms.subscriber_id, "bahawalpur", NOW)
        await repo.set_contact_status(s, sms.contact_id, "opted_out", NOW, reason="keyword")
        tg = await repo.upsert_contact(s, "telegram", "777", NOW)
        await people.set_topics(s, tg.subscriber_id, ["jobs"], NOW)
    async with sessions.begin() as s:
        linked = await people.link_phone(s, tg, PHONE, NOW)
    async with sessions.begin() as s:
        assert await s.scalar(select(func.count()).select_from(Subscriber)) == 1
        profile = await people.get_profile(s, tg.subscriber_id)
        contacts = await people.subscriber_contacts(s, tg.subscriber_id)
    assert linked.subscriber_id == tg.subscriber_id
    assert profile.topics == {"jobs", "women"}
    assert profile.city == "bahawalpur" and profile.language == "ur"
    assert {(c.channel, c.status) for c in contacts} == {
        ("telegram", "active"),
        ("sms", "opted_out"),
    }, "the SMS opt-out survives the merge"


async def test_linking_twice_changes_nothing(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as s:
        tg = await repo.upsert_contact(s, "telegram", "777", NOW)
        first = await people.link_phone(s, tg, PHONE, NOW)
        again = await people.link_phone(s, tg, PHONE, NOW)
    assert first == again
