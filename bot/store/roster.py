"""Importing and exporting subscribers (CSV rows validated by :mod:`bot.core.roster`).

Synchronous Core on a ``Connection``: run through :class:`bot.store.units.Units`, so an import
is one transaction: all rows or none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, update
from sqlalchemy.orm import aliased

from bot.core.roster import RosterRow
from bot.store import contacts
from bot.store.tables import contacts as _contacts
from bot.store.tables import subscribers as _subscribers


@dataclass(frozen=True, slots=True)
class ImportReport:
    created: int
    updated: int
    opted_out: int  # already opted out: kept so, nothing will be sent to them


def import_rows(conn: Connection, rows: list[RosterRow], now: datetime) -> ImportReport:
    """Create or update one subscriber per row; an opt-out already on file is never undone."""
    created = updated = opted_out = 0
    for row in rows:
        contact = contacts.upsert_contact(conn, "sms", row.phone, now, language=row.language)
        values: dict[str, object] = {}
        if row.language is not None:
            values["language"] = row.language
        if row.city is not None:
            values["city"] = row.city
        if row.topics:
            values["topics"] = sorted(row.topics)
        if values:
            conn.execute(
                update(_subscribers)
                .where(_subscribers.c.id == contact.subscriber_id)
                .values(**values, updated_at=now)
            )
        created += contact.created
        updated += not contact.created
        opted_out += contact.status == "opted_out"
    return ImportReport(created, updated, opted_out)


def export_rows(conn: Connection) -> list[tuple[str, str, str, str, str, str]]:
    """One row per subscriber with an SMS number: phone, language, city, topics, statuses."""
    sms = aliased(_contacts, name="sms")
    tg = aliased(_contacts, name="tg")
    stmt = (
        select(
            sms.c.address,
            _subscribers.c.language,
            _subscribers.c.city,
            _subscribers.c.topics,
            sms.c.status,
            tg.c.status,
        )
        .join(sms, (sms.c.subscriber_id == _subscribers.c.id) & (sms.c.channel == "sms"))
        .outerjoin(tg, (tg.c.subscriber_id == _subscribers.c.id) & (tg.c.channel == "telegram"))
        .order_by(_subscribers.c.id)
    )
    return [
        (
            phone,
            language or "",
            city or "",
            ";".join(topics or ()),
            sms_status,
            tg_status or "",
        )
        for phone, language, city, topics, sms_status, tg_status in conn.execute(stmt)
    ]
