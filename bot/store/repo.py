"""The queries the bot runs, as small async functions over an ``AsyncSession``.

The caller owns the transaction and none of these commit::

    async with sessions.begin() as s:
        contact = await repo.upsert_contact(s, "sms", "+923001234567", now)
        await repo.record_inbound(s, contact.contact_id, "sms", "jobs", sid, now)

Every function takes ``now`` (aware; a naive datetime raises ``NaiveDatetimeError``) and
never reads the clock. Inserts that can race (a new sender's first two messages arriving
together, a provider retrying a webhook) use ``INSERT … ON CONFLICT DO NOTHING`` so the loser
finds the winner's row instead of failing. Missing rows raise :class:`NotFound`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.util import identity_key

from bot.core.catalog import Lang
from bot.core.decision import Channel, ContactStatus
from bot.store import sql
from bot.store.models import Base, Contact, Message, MessageStatus, Subscriber

# The hot-path functions live in bot.store.sql as synchronous Core; these are their async
# faces for code that holds an AsyncSession.
NotFound = sql.NotFound
ContactRef = sql.ContactRef


async def get_contact(s: AsyncSession, channel: Channel, address: str) -> ContactRef | None:
    """The contact for ``(channel, address)``, or None if there is none."""
    return await s.run_sync(lambda ss: sql.get_contact(ss.connection(), channel, address))


async def upsert_contact(
    s: AsyncSession,
    channel: Channel,
    address: str,
    now: datetime,
    *,
    language: Lang | None = None,
    source: str | None = None,
) -> ContactRef:
    """See :func:`bot.store.sql.upsert_contact`."""
    sql.require_aware(now)
    return await s.run_sync(
        lambda ss: sql.upsert_contact(
            ss.connection(), channel, address, now, language=language, source=source
        )
    )


async def record_inbound(
    s: AsyncSession,
    contact_id: int,
    channel: Channel,
    text: str,
    provider_id: str | None,
    now: datetime,
) -> int | None:
    """See :func:`bot.store.sql.record_inbound`."""
    sql.require_aware(now)
    return await s.run_sync(
        lambda ss: sql.record_inbound(ss.connection(), contact_id, channel, text, provider_id, now)
    )


async def record_outbound(
    s: AsyncSession,
    contact_id: int,
    channel: Channel,
    text: str,
    now: datetime,
    *,
    segments: int | None = None,
    status: MessageStatus = "queued",
    provider_id: str | None = None,
) -> int:
    """See :func:`bot.store.sql.record_outbound`."""
    sql.require_aware(now)
    return await s.run_sync(
        lambda ss: sql.record_outbound(
            ss.connection(),
            contact_id,
            channel,
            text,
            now,
            segments=segments,
            status=status,
            provider_id=provider_id,
        )
    )


async def mark_outbound(
    s: AsyncSession,
    message_id: int,
    status: MessageStatus,
    now: datetime,
    *,
    provider_id: str | None = None,
    error_code: str | None = None,
    error: str | None = None,
) -> bool:
    """See :func:`bot.store.sql.mark_outbound`."""
    sql.require_aware(now)
    changed = await s.run_sync(
        lambda ss: sql.mark_outbound(
            ss.connection(),
            message_id,
            status,
            now,
            provider_id=provider_id,
            error_code=error_code,
            error=error,
        )
    )
    await _refresh_held(s, Message, message_id)
    return changed


async def update_message_status(
    s: AsyncSession,
    channel: Channel,
    provider_id: str,
    status: MessageStatus,
    now: datetime,
    *,
    error_code: str | None = None,
    error: str | None = None,
) -> bool:
    """See :func:`bot.store.sql.update_message_status`."""
    sql.require_aware(now)
    return await s.run_sync(
        lambda ss: sql.update_message_status(
            ss.connection(), channel, provider_id, status, now, error_code=error_code, error=error
        )
    )


async def set_contact_status(
    s: AsyncSession,
    contact_id: int,
    status: ContactStatus,
    now: datetime,
    *,
    reason: str,
    words: str | None = None,
) -> None:
    """See :func:`bot.store.sql.set_contact_status`."""
    sql.require_aware(now)
    await s.run_sync(
        lambda ss: sql.set_contact_status(
            ss.connection(), contact_id, status, now, reason=reason, words=words
        )
    )
    await _refresh_held(s, Contact, contact_id)


async def set_language(s: AsyncSession, subscriber_id: int, lang: Lang, now: datetime) -> None:
    """See :func:`bot.store.sql.set_language`."""
    sql.require_aware(now)
    await s.run_sync(lambda ss: sql.set_language(ss.connection(), subscriber_id, lang, now))
    await _refresh_held(s, Subscriber, subscriber_id)


async def count_messages(s: AsyncSession) -> int:
    """How many messages are stored, in and out."""
    return await s.scalar(select(func.count()).select_from(Message)) or 0


async def recent_messages(s: AsyncSession, contact_id: int, limit: int = 20) -> Sequence[Message]:
    """The contact's last ``limit`` messages, newest first."""
    stmt = (
        select(Message)
        .where(Message.contact_id == contact_id)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(limit)
    )
    return (await s.scalars(stmt)).all()


async def _refresh_held(s: AsyncSession, entity: type[Base], row_id: int) -> None:
    """The Core UPDATEs above bypass the ORM: refresh an object the session already holds."""
    held = s.identity_map.get(identity_key(entity, row_id))
    if held is not None:
        await s.refresh(held)
