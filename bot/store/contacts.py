"""Contacts: how to reach a person, ``(channel, address)`` unique, and their status.

Synchronous Core on a ``Connection``, run through :class:`bot.store.units.Units`. Every
resident message runs :func:`upsert_contact` (and often :func:`set_contact_status`) in its
unit, so these statements are :class:`~bot.store.prepared.Prepared`: the Core statement below
is their one definition, compiled once per dialect and run on the connection's DBAPI cursor,
in the same transaction.

None of them commits; ``now`` must be timezone-aware.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, String, bindparam, delete, func, or_, select, update
from sqlalchemy.sql.elements import BindParameter

from bot.core.catalog import Lang
from bot.core.decision import Channel, ContactStatus
from bot.core.names import fold_name
from bot.store.models import NotFound, require_aware
from bot.store.prepared import Prepared
from bot.store.tables import PerDialect, insert_ignoring, row_exists
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
