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
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Executable, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.catalog import Lang
from bot.core.decision import Channel, ContactStatus
from bot.store.models import (
    Base,
    Contact,
    Message,
    MessageStatus,
    NaiveDatetimeError,
    Subscriber,
)

# Which statuses an outbound message may move to a given status from. Statuses only move
# forward, so a late or repeated delivery report ("sent" after "delivered") changes nothing.
_MAY_FOLLOW: dict[MessageStatus, tuple[MessageStatus, ...]] = {
    "received": (),
    "queued": (),
    "sent": ("queued",),
    "simulated": ("queued",),
    "delivered": ("queued", "sent"),
    "failed": ("queued", "sent"),
}


_REASON_MAX = 64  # the length of contacts.status_reason


class NotFound(LookupError):
    """The contact, subscriber or message a function was asked to change does not exist."""


@dataclass(frozen=True, slots=True)
class ContactRef:
    """A contact as the conversation needs it; ``created`` is True for a first contact."""

    contact_id: int
    subscriber_id: int
    channel: Channel
    address: str
    status: ContactStatus
    language: Lang | None
    created: bool


async def get_contact(s: AsyncSession, channel: Channel, address: str) -> ContactRef | None:
    """The contact for ``(channel, address)``, or None if there is none."""
    stmt = (
        select(Contact.id, Contact.subscriber_id, Contact.status, Subscriber.language)
        .join(Subscriber, Subscriber.id == Contact.subscriber_id)
        .where(Contact.channel == channel, Contact.address == address)
    )
    row = (await s.execute(stmt)).one_or_none()
    if row is None:
        return None
    contact_id, subscriber_id, status, language = row
    return ContactRef(contact_id, subscriber_id, channel, address, status, language, False)


async def upsert_contact(
    s: AsyncSession,
    channel: Channel,
    address: str,
    now: datetime,
    *,
    language: Lang | None = None,
    source: str | None = None,
) -> ContactRef:
    """The contact for ``(channel, address)``, created with a new subscriber if needed.

    ``language`` and ``source`` (e.g. a Telegram deep-link payload) are only used when the
    subscriber is created. ``address`` is taken as given: pass E.164 for SMS.
    Safe against a concurrent first message from the same address: one subscriber results.
    """
    _require_aware(now)
    found = await get_contact(s, channel, address)
    if found is not None:
        return found
    subscriber_id = (
        await s.execute(
            insert(Subscriber)
            .values(language=language, source=source, topics=[], created_at=now, updated_at=now)
            .returning(Subscriber.id)
        )
    ).scalar_one()
    contact_id: int | None = await s.scalar(
        _insert(s, Contact)
        .values(
            subscriber_id=subscriber_id,
            channel=channel,
            address=address,
            status="active",
            status_changed_at=now,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["channel", "address"])
        .returning(Contact.id)
    )
    if contact_id is not None:
        return ContactRef(contact_id, subscriber_id, channel, address, "active", language, True)
    # Another transaction created this contact after we looked: drop our subscriber, use theirs.
    await s.execute(delete(Subscriber).where(Subscriber.id == subscriber_id))
    winner = await get_contact(s, channel, address)
    if winner is None:  # pragma: no cover - the conflicting row cannot vanish before commit
        raise NotFound(f"{channel} contact disappeared while being created")
    return winner


async def record_inbound(
    s: AsyncSession,
    contact_id: int,
    channel: Channel,
    text: str,
    provider_id: str | None,
    now: datetime,
) -> int | None:
    """Store an inbound message as ``received``; return its id.

    Returns None when a message with this ``provider_id`` was already recorded for this
    channel (a provider retrying its webhook): nothing is stored then.
    """
    _require_aware(now)
    message_id: int | None = await s.scalar(
        _insert(s, Message)
        .values(
            contact_id=contact_id,
            direction="in",
            channel=channel,
            text=text,
            provider_id=provider_id,
            status="received",
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["channel", "direction", "provider_id"])
        .returning(Message.id)
    )
    return message_id


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
    """Store an outbound message; return its id.

    ``provider_id`` must be unique per channel among outbound messages (see
    :class:`~bot.store.models.Message`); a repeat raises ``IntegrityError``.
    """
    _require_aware(now)
    result = await s.execute(
        insert(Message)
        .values(
            contact_id=contact_id,
            direction="out",
            channel=channel,
            text=text,
            provider_id=provider_id,
            segments=segments,
            status=status,
            created_at=now,
            updated_at=now,
        )
        .returning(Message.id)
    )
    return result.scalar_one()


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
    """Record what the channel did with outbound message ``message_id``.

    ``provider_id``, when given, is stored for later delivery reports. Returns False (and
    changes nothing) when the message is already past ``status``, e.g. ``delivered`` when
    ``sent`` arrives. Raises :class:`NotFound` if there is no such outbound message.
    """
    _require_aware(now)
    values: dict[str, Any] = {"status": status, "error_code": error_code, "error": error}
    if provider_id is not None:
        values["provider_id"] = provider_id
    changed = await _advance(s, status, now, values, Message.id == message_id)
    if not changed and not await _exists(s, Message, message_id, direction="out"):
        raise NotFound(f"no outbound message with id {message_id}")
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
    """Apply a delivery report to the outbound message the provider calls ``provider_id``.

    Returns True when the message changed; False when no outbound message on ``channel`` has
    that provider id, or the message is already past ``status`` (reports arrive out of order).
    """
    _require_aware(now)
    values = {"status": status, "error_code": error_code, "error": error}
    return await _advance(
        s,
        status,
        now,
        values,
        Message.channel == channel,
        Message.direction == "out",
        Message.provider_id == provider_id,
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
    """Change a contact's status, recording when, why (``reason``) and the person's ``words``.

    Setting the status it already has changes nothing, so the first opt-out's time and words
    are kept when someone texts STOP twice. Raises :class:`NotFound` for an unknown contact.
    """
    _require_aware(now)
    result = await _execute(
        s,
        update(Contact)
        .where(Contact.id == contact_id, Contact.status != status)
        .values(
            status=status,
            status_changed_at=now,
            # Provider reasons can run long; the column keeps the start, which names the code.
            status_reason=reason[:_REASON_MAX],
            status_words=words,
            updated_at=now,
        ),
    )
    if result.rowcount == 0 and not await _exists(s, Contact, contact_id):
        raise NotFound(f"no contact with id {contact_id}")


async def set_language(s: AsyncSession, subscriber_id: int, lang: Lang, now: datetime) -> None:
    """Store the subscriber's language. Raises :class:`NotFound` for an unknown subscriber."""
    _require_aware(now)
    result = await _execute(
        s,
        update(Subscriber)
        .where(Subscriber.id == subscriber_id)
        .values(language=lang, updated_at=now),
    )
    if result.rowcount == 0:
        raise NotFound(f"no subscriber with id {subscriber_id}")


async def count_replies_since(s: AsyncSession, contact_id: int, since: datetime) -> int:
    """Outbound messages to the contact created at or after ``since`` (the cost guard)."""
    _require_aware(since)
    stmt = select(func.count()).where(
        Message.contact_id == contact_id,
        Message.direction == "out",
        Message.created_at >= since,
    )
    return await s.scalar(stmt) or 0


async def count_same_inbound_since(
    s: AsyncSession, contact_id: int, text: str, since: datetime
) -> int:
    """Inbound messages from the contact with exactly ``text`` since ``since`` (the loop guard)."""
    _require_aware(since)
    stmt = select(func.count()).where(
        Message.contact_id == contact_id,
        Message.direction == "in",
        Message.created_at >= since,
        Message.text == text,
    )
    return await s.scalar(stmt) or 0


async def contact_of_message(
    s: AsyncSession, channel: Channel, provider_id: str
) -> ContactRef | None:
    """The contact an outbound message with this provider id went to, if we have it."""
    stmt = (
        select(Contact.channel, Contact.address)
        .join(Message, Message.contact_id == Contact.id)
        .where(
            Message.channel == channel,
            Message.direction == "out",
            Message.provider_id == provider_id,
        )
    )
    row = (await s.execute(stmt)).first()
    return None if row is None else await get_contact(s, row.channel, row.address)


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


def _require_aware(now: datetime) -> None:
    # Checked up front so the caller gets this error, not one wrapped in a StatementError.
    if now.tzinfo is None or now.utcoffset() is None:
        raise NaiveDatetimeError(
            f"naive datetime {now.isoformat()} given as now; pass an aware one"
        )


async def _advance(
    s: AsyncSession, status: MessageStatus, now: datetime, values: dict[str, Any], *where: Any
) -> bool:
    """UPDATE the outbound message matching ``where`` if it may move to ``status``."""
    stmt = (
        update(Message)
        .where(*where, Message.status.in_(_MAY_FOLLOW[status]))
        .values(**values, updated_at=now)
    )
    return (await _execute(s, stmt)).rowcount > 0


async def _exists(s: AsyncSession, entity: type[Base], row_id: int, **equal: str) -> bool:
    table = entity.__table__
    stmt = select(table.c.id).where(
        table.c.id == row_id, *(table.c[k] == v for k, v in equal.items())
    )
    return (await s.scalar(stmt)) is not None


async def _execute(s: AsyncSession, stmt: Executable) -> CursorResult[Any]:
    """Execute an UPDATE; objects the session already holds are updated to match."""
    return cast(CursorResult[Any], await s.execute(stmt))


def _insert(s: AsyncSession, entity: type[Base]) -> sqlite.Insert | postgresql.Insert:
    """A dialect INSERT, which (unlike the generic one) has ``on_conflict_do_nothing``."""
    dialect = s.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(entity)
    if dialect == "sqlite":
        return sqlite.insert(entity)
    raise NotImplementedError(f"no upsert for the {dialect} dialect")
