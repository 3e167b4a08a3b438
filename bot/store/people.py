"""A subscriber's profile (interests, city, source) and linking one person's contacts.

Like :mod:`bot.store.repo`, every function takes the caller's session and never commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.catalog import Lang
from bot.store import sql
from bot.store.models import Contact, Subscriber
from bot.store.repo import ContactRef, NotFound, get_contact


@dataclass(frozen=True, slots=True)
class Profile:
    subscriber_id: int
    language: Lang | None
    city: str | None
    topics: frozenset[str]
    source: str | None


async def get_profile(s: AsyncSession, subscriber_id: int) -> Profile:
    """The subscriber's profile; :class:`NotFound` for an unknown id."""
    sub = await s.get(Subscriber, subscriber_id)
    if sub is None:
        raise NotFound(f"no subscriber with id {subscriber_id}")
    return Profile(sub.id, sub.language, sub.city, frozenset(sub.topics or ()), sub.source)


async def set_topics(
    s: AsyncSession, subscriber_id: int, topics: Iterable[str], now: datetime
) -> None:
    """Replace the subscriber's interests (stored sorted, without repeats)."""
    await _update(s, subscriber_id, now, topics=sorted(set(topics)))


async def set_city(s: AsyncSession, subscriber_id: int, city: str | None, now: datetime) -> None:
    await _update(s, subscriber_id, now, city=city)


async def set_source_once(s: AsyncSession, subscriber_id: int, source: str, now: datetime) -> bool:
    """See :func:`bot.store.sql.set_source_once`."""
    return await s.run_sync(
        lambda ss: sql.set_source_once(ss.connection(), subscriber_id, source, now)
    )


async def link_phone(
    s: AsyncSession, telegram: ContactRef, phone_e164: str, now: datetime
) -> ContactRef:
    """Make the SMS contact for ``phone_e164`` belong to the Telegram contact's subscriber.

    A new SMS contact is created (active) when there is none. When the number already belongs
    to another subscriber, the two people are one: that subscriber's contacts move over, its
    interests are added, and its language, city and source fill what this one lacks; then it
    is deleted. Each contact keeps its own status, so an SMS opt-out survives the merge.
    """
    existing = await get_contact(s, "sms", phone_e164)
    keep = telegram.subscriber_id
    if existing is None:
        s.add(
            Contact(
                subscriber_id=keep,
                channel="sms",
                address=phone_e164,
                status="active",
                status_changed_at=now,
                status_reason="telegram:contact shared",
                created_at=now,
                updated_at=now,
            )
        )
        await s.flush()
        linked = await get_contact(s, "sms", phone_e164)
        assert linked is not None  # just inserted in this transaction
        return linked
    if existing.subscriber_id != keep:
        await _merge(s, keep=keep, gone=existing.subscriber_id, now=now)
    linked = await get_contact(s, "sms", phone_e164)
    assert linked is not None
    return linked


async def _merge(s: AsyncSession, *, keep: int, gone: int, now: datetime) -> None:
    a = await get_profile(s, keep)
    b = await get_profile(s, gone)
    await s.execute(update(Contact).where(Contact.subscriber_id == gone).values(subscriber_id=keep))
    await _update(
        s,
        keep,
        now,
        topics=sorted(a.topics | b.topics),
        language=a.language or b.language,
        city=a.city or b.city,
        source=a.source or b.source,
    )
    await s.execute(delete(Subscriber).where(Subscriber.id == gone))


async def _update(s: AsyncSession, subscriber_id: int, now: datetime, **values: object) -> None:
    result = await s.execute(
        update(Subscriber).where(Subscriber.id == subscriber_id).values(**values, updated_at=now)
    )
    if not getattr(result, "rowcount", 0):
        raise NotFound(f"no subscriber with id {subscriber_id}")


async def subscriber_contacts(s: AsyncSession, subscriber_id: int) -> list[ContactRef]:
    """Every contact of the subscriber, SMS and Telegram."""
    rows = (
        await s.execute(
            select(Contact.channel, Contact.address).where(Contact.subscriber_id == subscriber_id)
        )
    ).all()
    found = [await get_contact(s, channel, address) for channel, address in rows]
    return [c for c in found if c is not None]
