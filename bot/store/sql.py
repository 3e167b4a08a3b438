"""The inbound hot path as synchronous SQLAlchemy Core on a ``Connection``.

Every resident message runs these in one transaction. They are synchronous so the whole
unit runs in one hop to the database (see :mod:`bot.store.units`) instead of one hop per
statement, and they use Core statements on the tables, not ORM entities, because building
and compiling ORM statements cost more than everything else a webhook does. The async
functions in :mod:`bot.store.repo` with the same names call these, so there is one
implementation of each.

The statements that run for every message are :class:`~bot.store.prepared.Prepared`: the
Core statement below is their one definition, compiled once per dialect and run on the
connection's DBAPI cursor, in the same transaction.

None of them commits; ``now`` must be timezone-aware.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    Connection,
    String,
    Table,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import BindParameter

from bot.core.catalog import Lang
from bot.core.decision import Channel, ContactStatus
from bot.store.models import Contact, Message, MessageStatus, NaiveDatetimeError, Subscriber
from bot.store.prepared import Prepared

_contacts = cast(Table, Contact.__table__)
_subscribers = cast(Table, Subscriber.__table__)
_messages = cast(Table, Message.__table__)

_REASON_MAX = 64  # the length of contacts.status_reason
_SOURCE_MAX = 128  # the length of subscribers.source


class NotFound(LookupError):
    """The row the caller named does not exist."""


# Not frozen: one is built for every message, and a frozen dataclass sets each field through
# object.__setattr__, at four times the cost. Nothing changes one once built.
@dataclass(slots=True)
class ContactRef:
    """A contact and what the conversation needs of its subscriber.

    ``created`` is True when this call created the contact (a first message).
    """

    contact_id: int
    subscriber_id: int
    channel: Channel
    address: str
    status: ContactStatus
    language: Lang | None
    created: bool


def require_aware(now: datetime) -> None:
    # Checked up front so the caller gets this error, not one wrapped in a StatementError.
    # UTC, what every caller passes, is aware without asking it for its offset.
    tz = now.tzinfo
    if tz is not UTC and (tz is None or now.utcoffset() is None):
        raise NaiveDatetimeError(
            f"naive datetime {now.isoformat()} given as now; pass an aware one"
        )


_GET_CONTACT = Prepared(
    select(_contacts.c.id, _contacts.c.subscriber_id, _contacts.c.status, _subscribers.c.language)
    .join(_subscribers, _subscribers.c.id == _contacts.c.subscriber_id)
    .where(_contacts.c.channel == bindparam("channel"), _contacts.c.address == bindparam("address"))
)


# Statements are built once: constructing and cache-keying them per message cost more than
# executing them.
_NOW: BindParameter[datetime] = bindparam("now")
_INSERT_SUBSCRIBER = Prepared(
    insert(_subscribers)
    .values(
        language=bindparam("language"),
        source=bindparam("source"),
        topics=bindparam("topics"),
        created_at=_NOW,
        updated_at=_NOW,
    )
    .returning(_subscribers.c.id)
)
_INSERT_OUTBOUND = Prepared(
    insert(_messages)
    .values(
        contact_id=bindparam("contact_id"),
        direction="out",
        channel=bindparam("channel"),
        text=bindparam("text"),
        provider_id=bindparam("provider_id"),
        segments=bindparam("segments"),
        status=bindparam("status"),
        created_at=_NOW,
        updated_at=_NOW,
    )
    .returning(_messages.c.id)
)
_SET_STATUS = Prepared(
    update(_contacts)
    .where(
        _contacts.c.id == bindparam("contact_id"),
        _contacts.c.status != bindparam("status"),
        # Only an opt-in leaves opted_out: a provider report or a block must not erase it.
        or_(_contacts.c.status != "opted_out", bindparam("status", type_=String) == "active"),
    )
    .values(
        status=bindparam("status"),
        status_changed_at=_NOW,
        status_reason=bindparam("reason"),
        status_words=bindparam("words"),
        updated_at=_NOW,
    )
)
_SET_LANGUAGE = Prepared(
    update(_subscribers)
    .where(_subscribers.c.id == bindparam("subscriber_id"))
    .values(language=bindparam("language"), updated_at=_NOW)
)
_SET_SOURCE = Prepared(
    update(_subscribers)
    .where(_subscribers.c.id == bindparam("subscriber_id"), _subscribers.c.source.is_(None))
    .values(source=bindparam("source"), updated_at=_NOW)
)


def _build_upserts(dialect: str) -> dict[str, Prepared]:
    """The INSERT ... ON CONFLICT DO NOTHING statements, which are dialect-specific."""
    makers: dict[str, Callable[[Table], sqlite.Insert | postgresql.Insert]] = {
        "sqlite": sqlite.insert,
        "postgresql": postgresql.insert,
    }
    make = makers[dialect]
    return {
        "contact": Prepared(
            make(_contacts)
            .values(
                subscriber_id=bindparam("subscriber_id"),
                channel=bindparam("channel"),
                address=bindparam("address"),
                status="active",
                status_changed_at=_NOW,
                created_at=_NOW,
                updated_at=_NOW,
            )
            .on_conflict_do_nothing(index_elements=["channel", "address"])
            .returning(_contacts.c.id)
        ),
        "inbound": Prepared(
            make(_messages)
            .values(
                contact_id=bindparam("contact_id"),
                direction="in",
                channel=bindparam("channel"),
                text=bindparam("text"),
                provider_id=bindparam("provider_id"),
                status="received",
                created_at=_NOW,
                updated_at=_NOW,
            )
            .on_conflict_do_nothing(index_elements=["channel", "direction", "provider_id"])
            .returning(_messages.c.id)
        ),
    }


_UPSERTS = {dialect: _build_upserts(dialect) for dialect in ("sqlite", "postgresql")}


def _prepared(conn: Connection, name: str) -> Prepared:
    try:
        return _UPSERTS[conn.dialect.name][name]
    except KeyError:
        raise NotImplementedError(f"no upsert for the {conn.dialect.name} dialect") from None


def get_contact(conn: Connection, channel: Channel, address: str) -> ContactRef | None:
    """The contact for ``(channel, address)``, or None if there is none."""
    rows = _GET_CONTACT.rows(conn, {"channel": channel, "address": address})
    if not rows:
        return None
    contact_id, subscriber_id, status, language = rows[0]
    return ContactRef(contact_id, subscriber_id, channel, address, status, language, False)


def upsert_contact(
    conn: Connection,
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
    require_aware(now)
    found = get_contact(conn, channel, address)
    if found is not None:
        return found
    subscriber_id: int = _INSERT_SUBSCRIBER.scalar(
        conn, {"language": language, "source": source, "topics": [], "now": now}
    )
    contact_id: int | None = _prepared(conn, "contact").scalar(
        conn, {"subscriber_id": subscriber_id, "channel": channel, "address": address, "now": now}
    )
    if contact_id is not None:
        return ContactRef(contact_id, subscriber_id, channel, address, "active", language, True)
    # Another transaction created this contact after we looked: drop our subscriber, use theirs.
    conn.execute(delete(_subscribers).where(_subscribers.c.id == subscriber_id))
    winner = get_contact(conn, channel, address)
    if winner is None:  # pragma: no cover - the conflicting row cannot vanish before commit
        raise NotFound(f"{channel} contact disappeared while being created")
    return winner


def record_inbound(
    conn: Connection,
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
    require_aware(now)
    message_id: int | None = _prepared(conn, "inbound").scalar(
        conn,
        {
            "contact_id": contact_id,
            "channel": channel,
            "text": text,
            "provider_id": provider_id,
            "now": now,
        },
    )
    return message_id


def record_outbound(
    conn: Connection,
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
    require_aware(now)
    params = {
        "contact_id": contact_id,
        "channel": channel,
        "text": text,
        "provider_id": provider_id,
        "segments": segments,
        "status": status,
        "now": now,
    }
    return int(_INSERT_OUTBOUND.scalar(conn, params))


_RECENT = Prepared(
    select(
        func.coalesce(
            func.sum(
                case(
                    (
                        and_(
                            _messages.c.direction == "out",
                            _messages.c.created_at >= bindparam("replies_since"),
                        ),
                        1,
                    ),
                    else_=0,
                )
            ),
            0,
        ),
        func.coalesce(
            func.sum(
                case(
                    (
                        and_(
                            _messages.c.direction == "in",
                            _messages.c.created_at >= bindparam("same_since"),
                            _messages.c.text == bindparam("text"),
                        ),
                        1,
                    ),
                    else_=0,
                )
            ),
            0,
        ),
    ).where(
        _messages.c.contact_id == bindparam("contact_id"),
        _messages.c.created_at >= bindparam("since"),
    )
)


def recent_counts(
    conn: Connection,
    contact_id: int,
    *,
    replies_since: datetime,
    text: str,
    same_since: datetime,
) -> tuple[int, int]:
    """(replies sent since ``replies_since``, inbound ``text`` since ``same_since``).

    The cost guard and the loop guard in one query.
    """
    require_aware(replies_since)
    require_aware(same_since)
    row = _RECENT.rows(
        conn,
        {
            "contact_id": contact_id,
            "replies_since": replies_since,
            "same_since": same_since,
            "text": text,
            "since": min(replies_since, same_since),
        },
    )[0]
    return int(row[0]), int(row[1])


def set_contact_status(
    conn: Connection,
    contact_id: int,
    status: ContactStatus,
    now: datetime,
    *,
    reason: str,
    words: str | None = None,
) -> None:
    """Change a contact's status, recording when, why (``reason``) and the person's ``words``.

    Setting the status it already has changes nothing, so the first opt-out's time and words
    are kept when someone texts STOP twice. An opted-out contact only ever moves to
    ``active`` (an opt-in): a block or a provider report leaves the opt-out in place.
    Raises :class:`NotFound` for an unknown contact.
    """
    require_aware(now)
    changed = _SET_STATUS.rowcount(
        conn,
        {
            "contact_id": contact_id,
            "status": status,
            # Provider reasons can run long; the column keeps the start, which names the code.
            "reason": reason[:_REASON_MAX],
            "words": words,
            "now": now,
        },
    )
    if changed == 0 and not _exists(conn, _contacts, contact_id):
        raise NotFound(f"no contact with id {contact_id}")


_STATUS_OF = Prepared(select(_contacts.c.status).where(_contacts.c.id == bindparam("contact_id")))


def is_opted_out(conn: Connection, contact_id: int) -> bool:
    return bool(_STATUS_OF.scalar(conn, {"contact_id": contact_id}) == "opted_out")


def set_language(conn: Connection, subscriber_id: int, lang: Lang, now: datetime) -> None:
    """Store the subscriber's language; :class:`NotFound` for an unknown subscriber."""
    require_aware(now)
    changed = _SET_LANGUAGE.rowcount(
        conn, {"subscriber_id": subscriber_id, "language": lang, "now": now}
    )
    if changed == 0:
        raise NotFound(f"no subscriber with id {subscriber_id}")


def set_source_once(conn: Connection, subscriber_id: int, source: str, now: datetime) -> bool:
    """Record where the subscriber came from (a deep-link payload) unless already known."""
    require_aware(now)
    changed = _SET_SOURCE.rowcount(
        conn, {"subscriber_id": subscriber_id, "source": source[:_SOURCE_MAX], "now": now}
    )
    return changed > 0


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


def mark_outbound(
    conn: Connection,
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
    require_aware(now)
    values: dict[str, Any] = {"status": status, "error_code": error_code, "error": error}
    if provider_id is not None:
        values["provider_id"] = provider_id
    changed = _advance(conn, status, now, values, _messages.c.id == message_id)
    if not changed and not _exists(conn, _messages, message_id, direction="out"):
        raise NotFound(f"no outbound message with id {message_id}")
    return changed


def update_message_status(
    conn: Connection,
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
    require_aware(now)
    values = {"status": status, "error_code": error_code, "error": error}
    return _advance(
        conn,
        status,
        now,
        values,
        _messages.c.channel == channel,
        _messages.c.direction == "out",
        _messages.c.provider_id == provider_id,
    )


def contact_of_outbound(conn: Connection, channel: Channel, provider_id: str) -> int | None:
    """The contact an outbound message with this provider id went to, if we have it."""
    m = _messages
    contact_id: int | None = conn.execute(
        select(m.c.contact_id)
        .where(m.c.channel == channel, m.c.direction == "out", m.c.provider_id == provider_id)
        .limit(1)
    ).scalar_one_or_none()
    return contact_id


def _advance(
    conn: Connection, status: MessageStatus, now: datetime, values: dict[str, Any], *where: Any
) -> bool:
    """UPDATE the outbound message matching ``where`` if it may move to ``status``."""
    stmt = (
        update(_messages)
        .where(*where, _messages.c.status.in_(_MAY_FOLLOW[status]))
        .values(**values, updated_at=now)
    )
    return conn.execute(stmt).rowcount > 0


def _exists(conn: Connection, table: Table, row_id: int, **equal: str) -> bool:
    stmt = select(table.c.id).where(
        table.c.id == row_id, *(table.c[k] == v for k, v in equal.items())
    )
    return conn.execute(stmt).first() is not None
