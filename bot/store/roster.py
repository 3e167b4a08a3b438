"""Importing and exporting subscribers (CSV rows validated by :mod:`bot.core.roster`).

Synchronous Core on a ``Connection``: run through :class:`bot.store.units.Units`, so an import
is one transaction: all rows or none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from bot.core.decision import Channel, ContactStatus
from bot.core.roster import Person, RosterRow
from bot.store import contacts, subscribers
from bot.store.contacts import ContactRef
from bot.store.models import require_aware
from bot.store.tables import contacts as _contacts
from bot.store.tables import subscribers as _subscribers

IMPORT_REASON = "import"


@dataclass(frozen=True, slots=True)
class ImportReport:
    created: int
    updated: int
    opted_out: int  # rows of someone opted out: kept so, nothing will be sent to them


def import_rows(conn: Connection, rows: list[RosterRow], now: datetime) -> ImportReport:
    """Create or update one subscriber per row (rows sharing a contact are one person).

    A contact the file gives a status other than ``active`` takes it (a new one is created
    so); ``active`` in the file changes no status, so an opt-out on file is never undone.
    Two people in the database whom one row names (its number one's, its chat another's)
    become one, as when a Telegram user shares their number. A row's name, language, city
    or topics replace the person's; an empty cell leaves what is on file.
    """
    require_aware(now)
    created = updated = opted_out = 0
    for row in rows:
        found = {channel: _contact(conn, channel, address) for channel, address in row.contacts}
        known = [c for c in found.values() if c is not None]
        if not known:
            channel, address = row.contacts[0]
            first = contacts.upsert_contact(conn, _channel(channel), address, now)
            found[channel], subscriber_id = first, first.subscriber_id
            created += 1
        else:
            subscriber_id = known[0].subscriber_id
            if row.phone and row.telegram and len({c.subscriber_id for c in known}) > 1:
                tg = next(c for c in known if c.channel == "telegram")
                subscriber_id = subscribers.link_phone(conn, tg, row.phone, now).subscriber_id
            updated += 1
        wanted = {"sms": row.sms_status, "telegram": row.telegram_status}
        final: list[ContactStatus] = []
        for channel, address in row.contacts:
            status, contact = wanted[channel], found[channel]
            if contact is None:
                _add_contact(conn, subscriber_id, _channel(channel), address, status, now)
                final.append(status or "active")
            elif status in (None, "active", contact.status) or contact.status == "opted_out":
                final.append(contact.status)  # only ever held back; an opt-out stays
            else:
                contacts.set_contact_status(
                    conn, contact.contact_id, status, now, reason=IMPORT_REASON
                )
                final.append(status)
        _set_profile(conn, subscriber_id, row, now)
        opted_out += "opted_out" in final
    return ImportReport(created, updated, opted_out)


def _channel(name: str) -> Channel:
    return "sms" if name == "sms" else "telegram"


def _contact(conn: Connection, channel: str, address: str) -> ContactRef | None:
    return contacts.get_contact(conn, _channel(channel), address)


def _add_contact(
    conn: Connection,
    subscriber_id: int,
    channel: Channel,
    address: str,
    status: ContactStatus | None,
    now: datetime,
) -> None:
    conn.execute(
        _contacts.insert().values(
            subscriber_id=subscriber_id,
            channel=channel,
            address=address,
            status=status or "active",
            status_changed_at=now,
            status_reason=IMPORT_REASON,
            created_at=now,
            updated_at=now,
        )
    )


def _set_profile(conn: Connection, subscriber_id: int, row: RosterRow, now: datetime) -> None:
    values: dict[str, object] = {}
    if row.name is not None:  # an empty cell keeps the name on file
        values.update(contacts.named(row.name))
    if row.language is not None:
        values["language"] = row.language
    if row.city is not None:
        values["city"] = row.city
    if row.topics:
        values["topics"] = sorted(row.topics)
    if values:
        conn.execute(
            update(_subscribers)
            .where(_subscribers.c.id == subscriber_id)
            .values(**values, updated_at=now)
        )


def export_people(conn: Connection) -> list[Person]:
    """Every subscriber with at least one contact, oldest first, with their contacts (SMS
    and Telegram, oldest first) and each contact's status."""
    s, c = _subscribers, _contacts
    stmt = (
        select(
            s.c.id,
            s.c.name,
            s.c.language,
            s.c.city,
            s.c.topics,
            c.c.channel,
            c.c.address,
            c.c.status,
        )
        .join(c, c.c.subscriber_id == s.c.id)
        .order_by(s.c.id, c.c.id)
    )
    found: dict[int, tuple[Any, dict[str, list[tuple[str, ContactStatus]]]]] = {}
    for row in conn.execute(stmt):
        _, by_channel = found.setdefault(row.id, (row, {"sms": [], "telegram": []}))
        by_channel[row.channel].append((row.address, row.status))
    return [
        Person(
            row.language,
            row.city,
            tuple(sorted(row.topics or ())),
            tuple(by_channel["sms"]),
            tuple(by_channel["telegram"]),
            row.name,
        )
        for row, by_channel in found.values()
    ]
