"""Replies in the outbox: the bot's answers to resident messages, as synchronous Core.

A reply is an outbound row of ``messages`` (:mod:`bot.store.messages`) that points at the
inbound message it answers (``reply_to``). It is stored ``queued`` in the inbound message's
own unit, already claimed by the process that stores it (``attempts`` 1, ``next_attempt_at``
the end of its lease), which sends it at once. While ``queued``, ``next_attempt_at`` is when
anyone may claim it again: the end of the lease of the send in flight, or of a retry's backoff.
So a reply whose process died, or whose send failed for a while, is claimed again by
:func:`claim_due` (the worker's sweeper, :mod:`bot.outreach.replies`) or by the same update
sent again (:func:`claim_answer`), and only once at a time.

Every move out of ``queued`` (:func:`finish`) and every retry (:func:`retry`) applies only to
the claim that made it (``attempts`` is the claim's), so a send that outlived its lease cannot
undo what the next claim recorded. None of them commits; ``now`` must be timezone-aware.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    Integer,
    String,
    Text,
    bindparam,
    literal,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import ColumnElement

from bot.core.decision import Button, Channel, Reply
from bot.core.guards import Guard
from bot.store import messages
from bot.store.models import MessageStatus, require_aware
from bot.store.prepared import Prepared
from bot.store.tables import contacts as _contacts
from bot.store.tables import messages as _messages
from bot.store.tables import unnested

# Replies that go out even though the contact is now opted out: the opt-out confirmation
# itself, and HELP, which carriers require to be answered (by the intent of the inbound).
ALWAYS_SENT = frozenset({"opt_out", "help"})


@dataclass(frozen=True, slots=True)
class Due:
    """A reply claimed for sending: ``attempt`` is this claim's; ``confirms`` when it answers a
    STOP or HELP (sent even to a contact who opted out)."""

    message_id: int
    contact_id: int
    channel: Channel
    address: str
    reply: Reply
    attempt: int
    confirms: bool


def encode_buttons(reply: Reply) -> str | None:
    if not reply.buttons:
        return None
    return json.dumps([[[b.label, b.data] for b in row] for row in reply.buttons])


def decode_buttons(value: str | None) -> tuple[tuple[Button, ...], ...]:
    if not value:
        return ()
    return tuple(tuple(Button(label, data) for label, data in row) for row in json.loads(value))


def store(
    conn: Connection,
    contact_id: int,
    channel: Channel,
    reply: Reply,
    now: datetime,
    lease: timedelta,
    *,
    reply_to: int | None,
    segments: int | None = None,
    thread_id: int | None = None,
    notice: Guard | None = None,
) -> int:
    """Store the reply to inbound message ``reply_to`` (None for a coordinator's reply in a
    thread), claimed by the caller until ``now + lease`` (attempt 1); return its id.
    ``notice`` marks a guard's notice, as :func:`bot.store.messages.record_outbound` does."""
    require_aware(now)
    return messages.record_outbound(
        conn,
        contact_id,
        channel,
        reply.text,
        now,
        segments=segments,
        thread_id=thread_id,
        notice=notice,
        reply_to=reply_to,
        buttons=encode_buttons(reply),
        attempts=1,
        next_attempt_at=now + lease,
    )


@dataclass(slots=True)
class Answer:
    """One reply for :func:`store_many`: :func:`store`'s arguments."""

    contact_id: int
    channel: Channel
    reply: Reply
    now: datetime
    reply_to: int
    segments: int | None = None
    thread_id: int | None = None
    notice: Guard | None = None


def store_many(conn: Connection, answers: Sequence[Answer], lease: timedelta) -> list[int]:
    """:func:`store` for each of ``answers`` (each replying to another message): their ids.
    On PostgreSQL one statement for them all (arrays, ``unnest``); elsewhere one each."""
    if conn.dialect.name != "postgresql" or len(answers) == 1:
        return [
            store(
                conn,
                a.contact_id,
                a.channel,
                a.reply,
                a.now,
                lease,
                reply_to=a.reply_to,
                segments=a.segments,
                thread_id=a.thread_id,
                notice=a.notice,
            )
            for a in answers
        ]
    for a in answers:
        require_aware(a.now)
    rows = _STORE_MANY.rows(
        conn,
        {
            "contact_id": [a.contact_id for a in answers],
            "channel": [a.channel for a in answers],
            "text": [a.reply.text for a in answers],
            "segments": [a.segments for a in answers],
            "thread_id": [a.thread_id for a in answers],
            "intent": [a.notice for a in answers],
            "reply_to": [a.reply_to for a in answers],
            "buttons": [encode_buttons(a.reply) for a in answers],
            "at": [a.now for a in answers],
            "lease": [a.now + lease for a in answers],
        },
    )
    ids = {reply_to: message_id for message_id, reply_to in rows}
    return [ids[a.reply_to] for a in answers]


def _store_many() -> Prepared:
    """PostgreSQL's statement for :func:`store_many`: the rows :func:`store` writes."""
    times = DateTime(timezone=True)
    given = unnested(
        "n",
        contact_id=BigInteger(),
        channel=String(),
        text=Text(),
        segments=Integer(),
        thread_id=BigInteger(),
        intent=String(),
        reply_to=BigInteger(),
        buttons=Text(),
        at=times,
        lease=times,
    )
    m = _messages
    return Prepared(
        m.insert()
        .from_select(
            [
                "contact_id",
                "direction",
                "channel",
                "text",
                "segments",
                "status",
                "thread_id",
                "intent",
                "reply_to",
                "buttons",
                "attempts",
                "next_attempt_at",
                "created_at",
                "updated_at",
            ],
            select(
                given.c.contact_id,
                literal("out"),
                given.c.channel,
                given.c.text,
                given.c.segments,
                literal("queued"),
                given.c.thread_id,
                given.c.intent,
                given.c.reply_to,
                given.c.buttons,
                literal(1),
                given.c.lease,
                given.c.at,
                given.c.at,
            ).order_by(given.c.n),
        )
        .returning(m.c.id, m.c.reply_to)
    )


# PostgreSQL's alone (arrays): compiled the first time a PostgreSQL connection runs it.
_STORE_MANY = _store_many()


def _claim_where(now: datetime) -> list[ColumnElement[bool]]:
    m = _messages
    return [
        m.c.direction == "out",
        m.c.status == "queued",
        m.c.next_attempt_at.is_not(None),
        m.c.next_attempt_at <= now,
    ]


def _take(conn: Connection, ids: list[int], now: datetime, lease: timedelta) -> list[Due]:
    """Claim the replies ``ids`` (already checked due) and read what sending them needs."""
    if not ids:
        return []
    m, c = _messages, _contacts
    inbound = aliased(m)
    claimed = list(
        conn.execute(
            update(m)
            .where(m.c.id.in_(ids), *_claim_where(now))
            .values(attempts=m.c.attempts + 1, next_attempt_at=now + lease, updated_at=now)
            .returning(m.c.id)
        ).scalars()
    )
    if not claimed:
        return []
    rows = conn.execute(
        select(
            m.c.id,
            m.c.contact_id,
            m.c.channel,
            c.c.address,
            m.c.text,
            m.c.buttons,
            m.c.attempts,
            inbound.c.intent,
            m.c.intent,
        )
        .join(c, c.c.id == m.c.contact_id)
        .outerjoin(inbound, inbound.c.id == m.c.reply_to)
        .where(m.c.id.in_(claimed))
        .order_by(m.c.id)
    )
    return [
        Due(
            message_id=row[0],
            contact_id=row[1],
            channel=row[2],
            address=row[3],
            reply=Reply(row[4], decode_buttons(row[5])),
            attempt=row[6],
            # A guard's notice (its own intent set) never confirms.
            confirms=row[7] in ALWAYS_SENT and row[8] is None,
        )
        for row in rows
    ]


def claim_due(
    conn: Connection, channel: Channel, now: datetime, limit: int, lease: timedelta
) -> list[Due]:
    """Claim up to ``limit`` of ``channel``'s replies that are due (their lease or backoff is
    over), earliest first, until ``now + lease``. On PostgreSQL rows another claimer holds are
    skipped (``FOR UPDATE SKIP LOCKED``)."""
    require_aware(now)
    m = _messages
    due = (
        select(m.c.id)
        .where(m.c.channel == channel, *_claim_where(now))
        .order_by(m.c.next_attempt_at, m.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    return _take(conn, list(conn.execute(due).scalars()), now, lease)


def claim_answer(conn: Connection, inbound_id: int, now: datetime, lease: timedelta) -> Due | None:
    """Claim the reply to inbound message ``inbound_id`` if it is still unsent and no send of
    it is in flight (a provider sent the message again): None otherwise."""
    require_aware(now)
    m = _messages
    ids = list(
        conn.execute(select(m.c.id).where(m.c.reply_to == inbound_id, *_claim_where(now))).scalars()
    )
    claimed = _take(conn, ids, now, lease)
    return claimed[0] if claimed else None


def inbound_id(conn: Connection, channel: Channel, provider_id: str | None) -> int | None:
    """The id of the inbound message of ``channel`` with ``provider_id``."""
    if provider_id is None:
        return None
    m = _messages
    found: int | None = conn.execute(
        select(m.c.id).where(
            m.c.channel == channel, m.c.direction == "in", m.c.provider_id == provider_id
        )
    ).scalar_one_or_none()
    return found


def _this_claim(message_id: int, attempt: int) -> list[ColumnElement[bool]]:
    m = _messages
    return [m.c.id == message_id, m.c.status == "queued", m.c.attempts == attempt]


def finish(
    conn: Connection,
    message_id: int,
    status: MessageStatus,
    now: datetime,
    *,
    attempt: int,
    provider_id: str | None = None,
    error: str | None = None,
) -> bool:
    """Record the end of claim ``attempt`` of the reply: ``sent`` (or ``simulated``) with the
    provider's id, or ``failed`` with why. False (nothing changed) when the reply is no longer
    that claim's: claimed again after its lease, or already finished."""
    require_aware(now)
    values: dict[str, object] = {
        "status": status,
        "error": error,
        "next_attempt_at": None,
        "updated_at": now,
    }
    if provider_id is not None:
        values["provider_id"] = provider_id
    stmt = update(_messages).where(*_this_claim(message_id, attempt)).values(**values)
    return conn.execute(stmt).rowcount > 0


def finish_sent(conn: Connection, claims: Sequence[tuple[int, int]], now: datetime) -> set[int]:
    """:func:`finish` as ``sent`` for many ``(message_id, attempt)`` claims in one statement;
    the ids of the replies it recorded (a claim no longer current is left alone)."""
    require_aware(now)
    if conn.dialect.name == "postgresql":  # every webhook answered in TwiML: built once
        given = {"id": [c[0] for c in claims], "attempt": [c[1] for c in claims], "now": now}
        return {row[0] for row in _FINISH_SENT.rows(conn, given)}
    m = _messages
    stmt = (
        update(m)
        .where(tuple_(m.c.id, m.c.attempts).in_(claims), m.c.status == "queued")
        .values(status="sent", error=None, next_attempt_at=None, updated_at=now)
        .returning(m.c.id)
    )
    return set(conn.execute(stmt).scalars())


def _finish_sent() -> Prepared:
    """PostgreSQL's statement for :func:`finish_sent`: the claims as arrays."""
    m = _messages
    given = unnested(id=BigInteger(), attempt=Integer())
    return Prepared(
        update(m)
        .where(m.c.id == given.c.id, m.c.attempts == given.c.attempt, m.c.status == "queued")
        .values(
            status="sent",
            error=None,
            next_attempt_at=None,
            updated_at=bindparam("now", type_=m.c.updated_at.type),
        )
        .returning(m.c.id)
    )


# PostgreSQL's alone (arrays): compiled the first time a PostgreSQL connection runs it.
_FINISH_SENT = _finish_sent()


def retry(
    conn: Connection, message_id: int, due: datetime, reason: str, now: datetime, *, attempt: int
) -> bool:
    """Claim ``attempt`` failed for a while: the reply may be claimed again from ``due``."""
    require_aware(due)
    require_aware(now)
    stmt = (
        update(_messages)
        .where(*_this_claim(message_id, attempt))
        .values(next_attempt_at=due, error=reason, updated_at=now)
    )
    return conn.execute(stmt).rowcount > 0
