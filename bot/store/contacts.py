"""Contacts: how to reach a person, ``(channel, address)`` unique, and their status.

Synchronous Core on a ``Connection``, run through :class:`bot.store.units.Units`. Every
resident message runs :func:`upsert_contact` (and often :func:`set_contact_status`) in its
unit, so these statements are :class:`~bot.store.prepared.Prepared`: the Core statement below
is their one definition, compiled once per dialect and run on the connection's DBAPI cursor,
in the same transaction.

None of them commits; ``now`` must be timezone-aware.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    String,
    bindparam,
    delete,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.sql.elements import BindParameter

from bot.core.catalog import Lang
from bot.core.decision import Channel, ContactStatus
from bot.core.names import fold_name
from bot.store.models import NotFound, require_aware
from bot.store.prepared import Prepared
from bot.store.tables import PerDialect, insert_ignoring, row_exists, unnested
from bot.store.tables import contacts as _contacts
from bot.store.tables import subscribers as _subscribers

_REASON_MAX = 64  # the length of contacts.status_reason
# Addresses looked up in one statement by on_file (well under any bound-parameter limit).
_LOOKUP_CHUNK = 500


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


_CONTACT = (
    select(
        _contacts.c.id,
        _contacts.c.subscriber_id,
        _contacts.c.status,
        _subscribers.c.language,
        _subscribers.c.name,
    )
    .join(_subscribers, _subscribers.c.id == _contacts.c.subscriber_id)
    .where(_contacts.c.channel == bindparam("channel"), _contacts.c.address == bindparam("address"))
)
_GET_CONTACT = Prepared(_CONTACT)
# The same, with the contact's row locked until the unit commits (PostgreSQL; SQLite has one
# writer at a time and no FOR UPDATE). FOR NO KEY UPDATE: it keeps one contact's units in
# turn all the same, without waiting for the key-share locks that writing deliveries takes on
# their contacts (a foreign key's check), so a broadcast being queued or filled never holds up
# a resident's message.
_LOCK_CONTACT = Prepared(_CONTACT.with_for_update(of=_contacts, key_share=True))

# Statements are built once: constructing and cache-keying them per message cost more than
# executing them.
_NOW: BindParameter[datetime] = bindparam("now")
_INSERT_SUBSCRIBER = Prepared(
    _subscribers.insert()
    .values(
        language=bindparam("language"),
        source=bindparam("source"),
        topics=bindparam("topics"),
        name=bindparam("name"),
        name_folded=bindparam("name_folded"),
        created_at=_NOW,
        updated_at=_NOW,
    )
    .returning(_subscribers.c.id)
)


def _insert_contact(dialect: str) -> Prepared:
    return Prepared(
        insert_ignoring(dialect, _contacts)
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
    )


# INSERT ... ON CONFLICT DO NOTHING is dialect-specific: one per dialect, built when needed.
_INSERT_CONTACT = PerDialect(_insert_contact)
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
_SET_NAME = Prepared(
    update(_subscribers)
    .where(_subscribers.c.id == bindparam("subscriber_id"))
    .values(name=bindparam("name"), name_folded=bindparam("name_folded"), updated_at=_NOW)
)
_STATUS_OF = Prepared(select(_contacts.c.status).where(_contacts.c.id == bindparam("contact_id")))


def named(name: str | None) -> dict[str, str | None]:
    """The columns that keep ``name``: it and its folded form for search (or neither)."""
    return {"name": name, "name_folded": fold_name(name) if name is not None else None}


def get_contact(
    conn: Connection, channel: Channel, address: str, *, lock: bool = False
) -> ContactRef | None:
    """The contact for ``(channel, address)``, or None if there is none; with ``lock`` its
    row is held until the unit commits, so another unit locking it waits for that."""
    found = _named_contact(conn, channel, address, lock=lock)
    return found[0] if found is not None else None


def _named_contact(
    conn: Connection, channel: Channel, address: str, *, lock: bool = False
) -> tuple[ContactRef, str | None] | None:
    """The contact for ``(channel, address)`` and its subscriber's name, or None."""
    read = _LOCK_CONTACT if lock else _GET_CONTACT
    rows = read.rows(conn, {"channel": channel, "address": address})
    if not rows:
        return None
    contact_id, subscriber_id, status, language, name = rows[0]
    contact = ContactRef(contact_id, subscriber_id, channel, address, status, language, False)
    return contact, name


def upsert_contact(
    conn: Connection,
    channel: Channel,
    address: str,
    now: datetime,
    *,
    language: Lang | None = None,
    source: str | None = None,
    name: str | None = None,
    lock: bool = False,
) -> ContactRef:
    """The contact for ``(channel, address)``, created with a new subscriber if needed.

    ``language`` and ``source`` (e.g. a Telegram deep-link payload) are only used when the
    subscriber is created. ``name`` (cleaned: :func:`bot.core.names.clean_name`, e.g. from
    the person's Telegram profile) is stored when the subscriber is created or when it
    differs from theirs; None leaves the stored one, so a name a coordinator imported is
    never emptied. While it stays the same it costs nothing: the stored name comes with the
    contact's look-up. ``address`` is taken as given: pass E.164 for SMS.
    Safe against a concurrent first message from the same address: one subscriber results.
    With ``lock`` the units that pass it for one contact run one after the other (see
    :func:`get_contact`; a contact this unit creates is its own until it commits).
    """
    require_aware(now)
    found = _named_contact(conn, channel, address, lock=lock)
    if found is not None:
        contact, stored = found
        if name is not None and name != stored:
            _SET_NAME.rowcount(
                conn, {"subscriber_id": contact.subscriber_id, "now": now, **named(name)}
            )
        return contact
    subscriber_id: int = _INSERT_SUBSCRIBER.scalar(
        conn, {"language": language, "source": source, "topics": [], "now": now, **named(name)}
    )
    insert_contact = _INSERT_CONTACT.of(conn)
    contact_id: int | None = insert_contact.scalar(
        conn, {"subscriber_id": subscriber_id, "channel": channel, "address": address, "now": now}
    )
    if contact_id is not None:
        return ContactRef(contact_id, subscriber_id, channel, address, "active", language, True)
    # Another transaction created this contact after we looked: drop our subscriber, use theirs.
    conn.execute(delete(_subscribers).where(_subscribers.c.id == subscriber_id))
    winner = get_contact(conn, channel, address, lock=lock)
    if winner is None:  # pragma: no cover - the conflicting row cannot vanish before commit
        raise NotFound(f"{channel} contact disappeared while being created")
    return winner


@dataclass(slots=True)
class Wanted:
    """One contact :func:`upsert_contacts` looks up or creates, as :func:`upsert_contact`'s
    arguments: ``language`` only for a new subscriber, ``name`` kept when it changes."""

    channel: Channel
    address: str
    now: datetime
    language: Lang | None = None
    name: str | None = None


def upsert_contacts(
    conn: Connection, wanted: Sequence[Wanted], *, skip_locked: bool = False
) -> list[ContactRef | None]:
    """:func:`upsert_contact` for each of ``wanted`` (distinct ``(channel, address)``), in
    order, each row locked until the unit commits (SMS contacts only, except as below).

    With ``skip_locked`` on PostgreSQL: one statement looks up and locks every contact
    (Telegram's too), three more tell the held ones from new ones and create those, and a
    contact that another transaction holds, or is creating, is None instead of waited for
    (the caller takes it alone: a unit for many messages never waits for one number).
    Elsewhere, one :func:`upsert_contact` each.
    """
    if not skip_locked or conn.dialect.name != "postgresql":
        return [
            upsert_contact(
                conn,
                w.channel,
                w.address,
                w.now,
                language=w.language,
                name=w.name,
                lock=w.channel == "sms",
            )
            for w in wanted
        ]
    for w in wanted:
        require_aware(w.now)
    lock, look, insert_subscribers, insert_contacts = _SETS.of(conn)
    found: dict[tuple[str, str], tuple[ContactRef, str | None]] = {}
    rows = lock.rows(
        conn, {"channel": [w.channel for w in wanted], "address": [w.address for w in wanted]}
    )
    for contact_id, subscriber_id, status, language, name, channel, address in rows:
        ref = ContactRef(contact_id, subscriber_id, channel, address, status, language, False)
        found[(channel, address)] = (ref, name)
    missing = [w for w in wanted if (w.channel, w.address) not in found]
    if missing:
        # Held by another transaction, or new: a look without locking tells them apart (an
        # INSERT of a contact that another transaction changed would wait for it).
        held = {
            (channel, address)
            for channel, address in look.rows(
                conn,
                {
                    "channel": [w.channel for w in missing],
                    "address": [w.address for w in missing],
                },
            )
        }
        missing = [w for w in missing if (w.channel, w.address) not in held]
    # New: inserted in (channel, address) order, the order every such unit inserts in, so
    # that two of them never wait for each other.
    new = sorted(missing, key=lambda w: (w.channel, w.address))
    if new:
        # Numbered in the order inserted (ORDER BY): sorted, the i-th is new[i]'s.
        subscriber_ids = sorted(
            row[0]
            for row in insert_subscribers.rows(
                conn,
                {
                    "language": [w.language for w in new],
                    "name": [w.name for w in new],
                    "name_folded": [named(w.name)["name_folded"] for w in new],
                    "at": [w.now for w in new],
                },
            )
        )
        created = insert_contacts.rows(
            conn,
            {
                "subscriber_id": subscriber_ids,
                "channel": [w.channel for w in new],
                "address": [w.address for w in new],
                "at": [w.now for w in new],
            },
        )
        made = {
            (channel, address): (contact_id, subscriber_id)
            for contact_id, subscriber_id, channel, address in created
        }
        for w in new:
            if (w.channel, w.address) in made:
                contact_id, subscriber_id = made[(w.channel, w.address)]
                ref = ContactRef(
                    contact_id, subscriber_id, w.channel, w.address, "active", w.language, True
                )
                found[(w.channel, w.address)] = (ref, w.name)
        unused = set(subscriber_ids) - {subscriber_id for _, subscriber_id in made.values()}
        if unused:
            conn.execute(delete(_subscribers).where(_subscribers.c.id.in_(sorted(unused))))
    result: list[ContactRef | None] = []
    for w in wanted:
        hit = found.get((w.channel, w.address))
        if hit is None:
            result.append(None)
            continue
        contact, stored = hit
        if w.name is not None and w.name != stored:
            _SET_NAME.rowcount(
                conn, {"subscriber_id": contact.subscriber_id, "now": w.now, **named(w.name)}
            )
        result.append(contact)
    return result


def _sets() -> tuple[Prepared, Prepared, Prepared, Prepared]:
    """PostgreSQL's statements for :func:`upsert_contacts`: arrays bound, ``unnest`` on the
    server."""
    given = unnested(channel=String(), address=String())
    lock = (
        select(*_CONTACT.selected_columns, _contacts.c.channel, _contacts.c.address)
        .join(_subscribers, _subscribers.c.id == _contacts.c.subscriber_id)
        .join(
            given,
            (_contacts.c.channel == given.c.channel) & (_contacts.c.address == given.c.address),
        )
        .with_for_update(of=_contacts, key_share=True, skip_locked=True)
    )
    look = select(_contacts.c.channel, _contacts.c.address).join(
        given, (_contacts.c.channel == given.c.channel) & (_contacts.c.address == given.c.address)
    )
    people = unnested(
        "n", language=String(), name=String(), name_folded=String(), at=DateTime(timezone=True)
    )
    subscribers = (
        _subscribers.insert()
        .from_select(
            ["language", "topics", "name", "name_folded", "created_at", "updated_at"],
            select(
                people.c.language,
                literal([], _subscribers.c.topics.type),
                people.c.name,
                people.c.name_folded,
                people.c.at,
                people.c.at,
            ).order_by(people.c.n),
        )
        .returning(_subscribers.c.id)
    )
    reach = unnested(
        "n",
        subscriber_id=BigInteger(),
        channel=String(),
        address=String(),
        at=DateTime(timezone=True),
    )
    contacts = (
        insert_ignoring("postgresql", _contacts)
        .from_select(
            [
                "subscriber_id",
                "channel",
                "address",
                "status",
                "status_changed_at",
                "created_at",
                "updated_at",
            ],
            select(
                reach.c.subscriber_id,
                reach.c.channel,
                reach.c.address,
                literal("active"),
                reach.c.at,
                reach.c.at,
                reach.c.at,
            ).order_by(reach.c.n),
        )
        .on_conflict_do_nothing(index_elements=["channel", "address"])
        .returning(
            _contacts.c.id, _contacts.c.subscriber_id, _contacts.c.channel, _contacts.c.address
        )
    )
    return Prepared(lock), Prepared(look), Prepared(subscribers), Prepared(contacts)


# PostgreSQL's alone (arrays): built the first time a PostgreSQL connection asks.
_SETS = PerDialect(lambda _: _sets())


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
    if changed == 0 and not row_exists(conn, _contacts, contact_id):
        raise NotFound(f"no contact with id {contact_id}")


def is_opted_out(conn: Connection, contact_id: int) -> bool:
    return bool(_STATUS_OF.scalar(conn, {"contact_id": contact_id}) == "opted_out")


def by_channel_and_status(conn: Connection) -> dict[tuple[Channel, ContactStatus], int]:
    """How many contacts each channel has in each status (combinations with none left out)."""
    c = _contacts
    # In the order of the (status, channel, subscriber_id) index: counted from it alone.
    stmt = select(c.c.channel, c.c.status, func.count()).group_by(c.c.status, c.c.channel)
    return {(channel, status): int(n) for channel, status, n in conn.execute(stmt)}


def on_file(
    conn: Connection, wanted: Collection[tuple[str, str]]
) -> dict[tuple[str, str], tuple[int, ContactStatus]]:
    """Which of the ``(channel, address)`` pairs are contacts already: each one's subscriber
    and status (an import's preview says who is new and who stays opted out)."""
    c = _contacts
    found: dict[tuple[str, str], tuple[int, ContactStatus]] = {}
    for channel in sorted({channel for channel, _ in wanted}):
        addresses = sorted({address for ch, address in wanted if ch == channel})
        for start in range(0, len(addresses), _LOOKUP_CHUNK):
            rows = conn.execute(
                select(c.c.address, c.c.subscriber_id, c.c.status).where(
                    c.c.channel == channel,
                    c.c.address.in_(addresses[start : start + _LOOKUP_CHUNK]),
                )
            )
            for address, subscriber_id, status in rows:
                found[(channel, address)] = (subscriber_id, status)
    return found
