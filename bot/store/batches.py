"""A dispatcher's claims, a batch at a time: the read right before each send
(:func:`before_sending`; :func:`before_send` for one) and the outcomes of the sends
(:func:`finish_all`).

Many sends are in flight at once, and :class:`bot.store.units.Together` gathers their reads
and their outcomes: on PostgreSQL one statement serves a whole batch (the ids and outcomes as
arrays, ``ANY`` and ``unnest``), elsewhere each claim has its own. The guards are those of
:mod:`bot.store.deliveries`, whose claims these are: a row moves only while it is still
``sending`` under the same claim (its attempt).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Connection,
    DateTime,
    Integer,
    String,
    Text,
    any_,
    bindparam,
    case,
    select,
    update,
)

from bot.core.decision import ContactStatus
from bot.store import deliveries, epochs
from bot.store.deliveries import Claimed
from bot.store.models import require_aware
from bot.store.prepared import Prepared
from bot.store.tables import broadcasts as _broadcasts
from bot.store.tables import contacts as _contacts
from bot.store.tables import deliveries as _deliveries
from bot.store.tables import unnested

# What may stop a send at the last moment: see before_send.
BeforeSend = ContactStatus | Literal[False, "cancelled", "fenced"] | None


def before_send(conn: Connection, claimed: Claimed) -> BeforeSend:
    """Right before sending ``claimed``: ``"fenced"`` when it was claimed under an epoch
    that is no longer the current one (another worker took over: this one must stop), False
    when the row is no longer this claim's (it was finished, or claimed again after its lease
    ran out: the other claim sends it), ``"cancelled"`` when a coordinator cancelled its
    broadcast since the claim, else the contact's status now (None for a contact that no
    longer exists)."""
    return before_sending(conn, [claimed])[0]


def before_sending(conn: Connection, claims: Sequence[Claimed]) -> list[BeforeSend]:
    """:func:`before_send` for each of ``claims``, in their order: on PostgreSQL in one
    statement for them all (the ids as an array), elsewhere one each."""
    if conn.dialect.name == "postgresql" and len(claims) > 1:
        ids = sorted({claimed.delivery_id for claimed in claims})
        rows = _BEFORE_SENDING.rows(conn, {"ids": ids})
    else:
        rows = [
            row
            for claimed in claims
            for row in _BEFORE_SEND.rows(conn, {"delivery_id": claimed.delivery_id})
        ]
    found = {row[0]: row[1:] for row in rows}
    return [_verdict(claimed, found.get(claimed.delivery_id)) for claimed in claims]


# A delivery's state right before its send: see _verdict.
_STATES = (
    select(
        _deliveries.c.id,
        _deliveries.c.status,
        _deliveries.c.attempts,
        _contacts.c.status,
        _broadcasts.c.status,
        epochs.current_column(),
    )
    .outerjoin(_contacts, _contacts.c.id == _deliveries.c.contact_id)
    .join(_broadcasts, _broadcasts.c.id == _deliveries.c.broadcast_id)
)
_BEFORE_SEND = Prepared(_STATES.where(_deliveries.c.id == bindparam("delivery_id")))
_BEFORE_SENDING = Prepared(  # PostgreSQL's alone (an array)
    _STATES.where(_deliveries.c.id == any_(bindparam("ids", type_=ARRAY(BigInteger))))
)


def _verdict(claimed: Claimed, row: Sequence[Any] | None) -> BeforeSend:
    """What the delivery's row now says of sending ``claimed``: see :func:`before_send`.
    ``row``: its status and attempts, its contact's and broadcast's status, the epoch."""
    if claimed.epoch is not None and (row is None or row[4] != claimed.epoch):
        return "fenced"
    if row is None or row[0] != "sending" or row[1] != claimed.attempts:
        return False
    if row[3] == "cancelled":
        return "cancelled"
    status: ContactStatus | None = row[2]
    return status


@dataclass(frozen=True, slots=True)
class Outcome:
    """How the send of a claim (its ``attempt``) ended, for :func:`finish_all`."""

    delivery_id: int
    status: Literal["sent", "failed"]
    now: datetime
    attempt: int
    provider_id: str | None = None
    error: str | None = None


def finish_all(conn: Connection, outcomes: Sequence[Outcome]) -> list[bool]:
    """:func:`~bot.store.deliveries.finish` for each of ``outcomes``, each only while its row
    is still that claim; for each, whether its row moved. On PostgreSQL one statement for them
    all (the outcomes as arrays, ``unnest``), elsewhere one each."""
    if conn.dialect.name != "postgresql" or len(outcomes) == 1:
        return [
            deliveries.finish(
                conn,
                o.delivery_id,
                o.status,
                o.now,
                provider_id=o.provider_id,
                error=o.error,
                attempt=o.attempt,
            )
            for o in outcomes
        ]
    for o in outcomes:
        require_aware(o.now)
    given = {
        "id": [o.delivery_id for o in outcomes],
        "attempt": [o.attempt for o in outcomes],
        "status": [o.status for o in outcomes],
        "provider_id": [o.provider_id for o in outcomes],
        "error": [o.error for o in outcomes],
        "at": [o.now for o in outcomes],
    }
    moved = {row[0] for row in _FINISH_ALL.rows(conn, given)}
    return [o.delivery_id in moved for o in outcomes]


def _finish_all() -> Prepared:
    d = _deliveries
    given = unnested(
        id=BigInteger(),
        attempt=Integer(),
        status=String(),
        provider_id=String(),
        error=Text(),
        at=DateTime(timezone=True),
    )
    return Prepared(
        update(d)
        .where(d.c.id == given.c.id, d.c.status == "sending", d.c.attempts == given.c.attempt)
        .values(
            status=given.c.status,
            provider_id=given.c.provider_id,
            error=given.c.error,
            sent_at=case((given.c.status == "sent", given.c.at)),
            updated_at=given.c.at,
            lease_until=None,
        )
        .returning(d.c.id)
    )


# PostgreSQL's alone (arrays): compiled the first time a PostgreSQL connection runs it.
_FINISH_ALL = _finish_all()
