"""Messages: every inbound and outbound message, and what providers reported of them.

Synchronous Core on a ``Connection``, run through :class:`bot.store.units.Units`. Every
resident message stores its inbound and reply here in its unit, so those statements are
:class:`~bot.store.prepared.Prepared` (see :mod:`bot.store.contacts`).

Inbound is de-duplicated on the provider's id with ``INSERT … ON CONFLICT DO NOTHING``, so a
provider retrying its webhook stores nothing twice. Outbound statuses only move forward.
None of them commits; ``now`` must be timezone-aware.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    String,
    Text,
    and_,
    bindparam,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.sql.elements import BindParameter

from bot.core.decision import Channel
from bot.core.guards import GUARDS, Guard
from bot.core.unanswered import UNANSWERED, Asked
from bot.store.models import MessageStatus, NotFound, require_aware
from bot.store.prepared import Prepared
from bot.store.tables import PerDialect, insert_ignoring, row_exists, unnested
from bot.store.tables import messages as _messages

_NOW: BindParameter[datetime] = bindparam("now")
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
        thread_id=bindparam("thread_id"),
        intent=bindparam("intent"),
        reply_to=bindparam("reply_to"),
        buttons=bindparam("buttons"),
        attempts=bindparam("attempts"),
        next_attempt_at=bindparam("next_attempt_at", type_=_messages.c.next_attempt_at.type),
        created_at=_NOW,
        updated_at=_NOW,
    )
    .returning(_messages.c.id)
)


def _insert_inbound(dialect: str) -> Prepared:
    return Prepared(
        insert_ignoring(dialect, _messages)
        .values(
            contact_id=bindparam("contact_id"),
            direction="in",
            channel=bindparam("channel"),
            text=bindparam("text"),
            provider_id=bindparam("provider_id"),
            status="received",
            intent=bindparam("intent"),
            language=bindparam("language"),
            created_at=_NOW,
            updated_at=_NOW,
        )
        .on_conflict_do_nothing(index_elements=["channel", "direction", "provider_id"])
        .returning(_messages.c.id)
    )


# INSERT ... ON CONFLICT DO NOTHING is dialect-specific: one per dialect, built when needed.
_INSERT_INBOUND = PerDialect(_insert_inbound)


def record_inbound(
    conn: Connection,
    contact_id: int,
    channel: Channel,
    text: str,
    provider_id: str | None,
    now: datetime,
    *,
    intent: str | None = None,
    language: str | None = None,
) -> int | None:
    """Store an inbound message as ``received``; return its id.

    ``intent`` and ``language`` are what the bot made of it and the language it answered in
    (None for an event, or a sender it cannot answer); intent ``unknown`` is what
    :func:`unanswered` counts. Returns None when a message with this ``provider_id`` was
    already recorded for this channel (a provider retrying its webhook): nothing is stored
    then.
    """
    require_aware(now)
    insert_inbound = _INSERT_INBOUND.of(conn)
    message_id: int | None = insert_inbound.scalar(
        conn,
        {
            "contact_id": contact_id,
            "channel": channel,
            "text": text,
            "provider_id": provider_id,
            "intent": intent,
            "language": language,
            "now": now,
        },
    )
    return message_id


@dataclass(slots=True)
class Received:
    """One inbound message for :func:`record_many`: :func:`record_inbound`'s arguments."""

    contact_id: int
    channel: Channel
    text: str
    provider_id: str | None
    now: datetime
    intent: str | None = None
    language: str | None = None


def record_many(conn: Connection, received: Sequence[Received]) -> list[int | None]:
    """:func:`record_inbound` for each of ``received`` (each of another contact, and no
    provider id twice): each one's id, or None for a duplicate.

    On PostgreSQL one statement for them all (arrays, ``unnest``), inserting in provider-id
    order, the order every such statement takes, so that two of them never wait for each
    other; elsewhere one each.
    """
    if conn.dialect.name != "postgresql" or len(received) == 1:
        return [
            record_inbound(
                conn,
                r.contact_id,
                r.channel,
                r.text,
                r.provider_id,
                r.now,
                intent=r.intent,
                language=r.language,
            )
            for r in received
        ]
    for r in received:
        require_aware(r.now)
    rows = sorted(received, key=lambda r: (r.channel, r.provider_id or ""))
    stored = _INSERT_MANY.of(conn).rows(
        conn,
        {
            "contact_id": [r.contact_id for r in rows],
            "channel": [r.channel for r in rows],
            "text": [r.text for r in rows],
            "provider_id": [r.provider_id for r in rows],
            "intent": [r.intent for r in rows],
            "language": [r.language for r in rows],
            "at": [r.now for r in rows],
        },
    )
    ids = {contact_id: message_id for message_id, contact_id in stored}
    return [ids.get(r.contact_id) for r in received]


def _insert_many() -> Prepared:
    """PostgreSQL's statement for :func:`record_many`."""
    given = unnested(
        "n",
        contact_id=BigInteger(),
        channel=String(),
        text=Text(),
        provider_id=String(),
        intent=String(),
        language=String(),
        at=DateTime(timezone=True),
    )
    return Prepared(
        insert_ignoring("postgresql", _messages)
        .from_select(
            [
                "contact_id",
                "direction",
                "channel",
                "text",
                "provider_id",
                "status",
                "intent",
                "language",
                "created_at",
                "updated_at",
            ],
            select(
                given.c.contact_id,
                literal("in"),
                given.c.channel,
                given.c.text,
                given.c.provider_id,
                literal("received"),
                given.c.intent,
                given.c.language,
                given.c.at,
                given.c.at,
            ).order_by(given.c.n),
        )
        .on_conflict_do_nothing(index_elements=["channel", "direction", "provider_id"])
        .returning(_messages.c.id, _messages.c.contact_id)
    )


# PostgreSQL's alone (arrays): built the first time a PostgreSQL connection asks.
_INSERT_MANY = PerDialect(lambda _: _insert_many())


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
    thread_id: int | None = None,
    notice: Guard | None = None,
    reply_to: int | None = None,
    buttons: str | None = None,
    attempts: int | None = None,
    next_attempt_at: datetime | None = None,
) -> int:
    """Store an outbound message (of hand-over ``thread_id``, if any); return its id.

    ``notice`` marks the notice of a guard (stored as the message's ``intent``): the cost
    guard does not count it as a reply. ``provider_id`` must be unique per channel among
    outbound messages (see :class:`~bot.store.models.Message`); a repeat raises
    ``IntegrityError``. The outbox's columns (``reply_to`` … ``next_attempt_at``) are set by
    :func:`bot.store.replies.store`.
    """
    require_aware(now)
    params = {
        "contact_id": contact_id,
        "channel": channel,
        "text": text,
        "provider_id": provider_id,
        "segments": segments,
        "status": status,
        "thread_id": thread_id,
        "intent": notice,
        "reply_to": reply_to,
        "buttons": buttons,
        "attempts": attempts,
        "next_attempt_at": next_attempt_at,
        "now": now,
    }
    return int(_INSERT_OUTBOUND.scalar(conn, params))


def _count_where(*conditions: Any) -> Any:
    return func.coalesce(func.sum(case((and_(*conditions), 1), else_=0)), 0)


# An outbound message that is a reply: not a guard's notice (those carry the guard as intent).
# (Spelled out, not NOT IN: a prepared statement cannot expand a list.)
_A_REPLY = or_(_messages.c.intent.is_(None), and_(*(_messages.c.intent != g for g in GUARDS)))
_RECENT = Prepared(
    select(
        _count_where(
            _messages.c.direction == "out",
            _A_REPLY,
            _messages.c.created_at >= bindparam("replies_since"),
        ),
        _count_where(
            _messages.c.direction == "in",
            _messages.c.created_at >= bindparam("same_since"),
            _messages.c.text == bindparam("text"),
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

    The cost guard and the loop guard in one query; a guard's notice is not a reply.
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


@dataclass(slots=True)
class Counted:
    """One contact's counts to take for :func:`recent_counts_many`: :func:`recent_counts`'s
    arguments."""

    contact_id: int
    text: str
    replies_since: datetime
    same_since: datetime


def recent_counts_many(conn: Connection, asked: Sequence[Counted]) -> list[tuple[int, int]]:
    """:func:`recent_counts` for each of ``asked`` (each of another contact). On PostgreSQL
    one statement for them all; elsewhere one each."""
    if conn.dialect.name != "postgresql" or len(asked) == 1:
        return [
            recent_counts(
                conn,
                a.contact_id,
                replies_since=a.replies_since,
                text=a.text,
                same_since=a.same_since,
            )
            for a in asked
        ]
    for a in asked:
        require_aware(a.replies_since)
        require_aware(a.same_since)
    rows = _RECENT_MANY.rows(
        conn,
        {
            "contact_id": [a.contact_id for a in asked],
            "text": [a.text for a in asked],
            "replies_since": [a.replies_since for a in asked],
            "same_since": [a.same_since for a in asked],
        },
    )
    counts = {contact_id: (int(replies), int(same)) for contact_id, replies, same in rows}
    return [counts[a.contact_id] for a in asked]


def _recent_many() -> Prepared:
    """PostgreSQL's statement for :func:`recent_counts_many`: :data:`_RECENT` per contact."""
    m = _messages
    times = DateTime(timezone=True)
    given = unnested(contact_id=BigInteger(), text=Text(), replies_since=times, same_since=times)
    since = func.least(given.c.replies_since, given.c.same_since)
    return Prepared(
        select(
            given.c.contact_id,
            _count_where(m.c.direction == "out", _A_REPLY, m.c.created_at >= given.c.replies_since),
            _count_where(
                m.c.direction == "in",
                m.c.created_at >= given.c.same_since,
                m.c.text == given.c.text,
            ),
        )
        .select_from(
            given.outerjoin(m, and_(m.c.contact_id == given.c.contact_id, m.c.created_at >= since))
        )
        .group_by(given.c.contact_id)
    )


# PostgreSQL's alone (arrays): compiled the first time a PostgreSQL connection runs it.
_RECENT_MANY = _recent_many()


@dataclass(frozen=True, slots=True)
class HoldState:
    """What a held contact's recent messages say, for the guards' notice.

    ``reply_times``: replies (not notices) since ``replies_since``; ``same_times``: inbound
    messages with the held text since ``same_since``; ``last_reply``: the newest of the
    replies; ``last_notice``: the newest notice of each guard since either.
    """

    reply_times: tuple[datetime, ...]
    same_times: tuple[datetime, ...]
    last_reply: datetime | None
    last_notice: dict[str, datetime]


def hold_state(
    conn: Connection,
    contact_id: int,
    *,
    replies_since: datetime,
    text: str,
    same_since: datetime,
) -> HoldState:
    """The contact's messages behind a held reply (see :class:`HoldState`). Read only when a
    guard holds, so one plain query over the contact's last hour or loop window."""
    require_aware(replies_since)
    require_aware(same_since)
    m = _messages
    rows = conn.execute(
        select(m.c.direction, m.c.intent, m.c.created_at, m.c.text == text)
        .where(m.c.contact_id == contact_id, m.c.created_at >= min(replies_since, same_since))
        .order_by(m.c.id)
    ).all()
    replies: list[datetime] = []
    same: list[datetime] = []
    last_notice: dict[str, datetime] = {}
    for direction, intent, at, is_text in rows:
        if direction == "in":
            if is_text and at >= same_since:
                same.append(at)
        elif intent in GUARDS:
            last_notice[intent] = max(at, last_notice.get(intent, at))
        elif at >= replies_since:
            replies.append(at)
    return HoldState(tuple(replies), tuple(same), max(replies, default=None), last_notice)


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
    if not changed and not row_exists(conn, _messages, message_id, direction="out"):
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


def count_messages(conn: Connection) -> int:
    """How many messages are stored, in and out."""
    return int(conn.execute(select(func.count()).select_from(_messages)).scalar_one())


def unanswered(conn: Connection, since: datetime, *, limit: int | None = None) -> list[Asked]:
    """The inbound messages since ``since`` the bot could not answer, counted per exact text,
    channel and reply language, most asked first: those it did not understand (intent
    ``unknown``) and those about a topic the content lacks and no coordinator has answered yet,
    handed over to a person (intent ``no_answer``: ``fees kitni hai``).

    Grouping them by what they say (normalised, near-identical texts together) is
    :func:`bot.core.unanswered.group`'s work: the normaliser is Python, not SQL. With
    ``limit``, only the ``limit`` most asked.
    """
    require_aware(since)
    m = _messages
    n = func.count().label("n")
    stmt = (
        select(m.c.text, m.c.channel, m.c.language, n, func.max(m.c.created_at))
        .where(m.c.intent.in_(UNANSWERED), m.c.created_at >= since, m.c.direction == "in")
        .group_by(m.c.text, m.c.channel, m.c.language)
        .order_by(n.desc(), m.c.text)
        .limit(limit)
    )
    # max() of a UTCDateTime column keeps the column's type: ``last`` comes back aware.
    return [
        Asked(text, channel, language, int(count), last)
        for text, channel, language, count, last in conn.execute(stmt)
    ]


def count_unanswered(conn: Connection, since: datetime) -> int:
    """How many inbound messages since ``since`` the bot could not answer (see
    :func:`unanswered`), counted on the ``(intent, created_at)`` index."""
    require_aware(since)
    m = _messages
    stmt = select(func.count()).where(
        m.c.intent.in_(UNANSWERED), m.c.created_at >= since, m.c.direction == "in"
    )
    return int(conn.execute(stmt).scalar_one())


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
