"""Subscriber lists in and out, for the ``outreach subscribers`` commands and the console.

:func:`preview_import` checks a CSV against the content's cities and topics and says what
would be stored and what is wrong, row by row, storing nothing; :func:`import_roster` stores
checked rows in one transaction (all or none); :func:`export_csv` writes everyone (SMS and
Telegram-only people alike) as a CSV that imports again as the same people.
See :mod:`bot.core.roster` for the columns.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.core.catalog import Catalog
from bot.core.roster import EXPORT_COLUMNS, Person, RosterCheck, RosterRow, check_roster
from bot.core.roster import export_rows as _export_rows
from bot.outreach.spreadsheets import csv_text
from bot.store import roster
from bot.store.roster import ImportReport
from bot.store.units import Units

log = logging.getLogger(__name__)


def preview_import(text: str, catalog: Catalog, region: str = "PK") -> RosterCheck:
    """The rows ``text`` would store and every problem, each with its row number; a file
    with any problem imports nothing."""
    return check_roster(
        text,
        region=region,
        cities=[c.id for c in catalog.cities],
        topics=[t.id for t in catalog.interests],
    )


async def import_roster(units: Units, rows: list[RosterRow], now: datetime) -> ImportReport:
    """Store ``rows`` (from a :func:`preview_import` without problems), all or none."""
    report = await units.run(lambda conn: roster.import_rows(conn, rows, now))
    log.info(
        "imported %d rows: %d new, %d updated, %d opted out",
        len(rows),
        report.created,
        report.updated,
        report.opted_out,
    )
    return report


async def people(units: Units) -> list[Person]:
    """Every subscriber with a contact, oldest first."""
    return await units.run(roster.export_people)


def people_csv(found: list[Person]) -> str:
    """``found`` as the export's CSV text (BOM first)."""
    return csv_text(EXPORT_COLUMNS, _export_rows(found))


async def export_csv(units: Units) -> str:
    """Every subscriber as CSV text (BOM first), one row per person (and per extra number or
    chat), which :func:`preview_import` accepts as it is."""
    return people_csv(await people(units))
