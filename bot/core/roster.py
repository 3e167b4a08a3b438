"""Subscriber lists as CSV: what coordinators import, checked row by row before anything is stored.

Columns (a header row is required; names are case-insensitive, order is free):
``phone`` (required), ``language`` (``en``/``ur``/``english``/``urdu``, optional), ``city``
(optional, one of the known city ids), ``topics`` (optional, ids separated by ``;`` or ``,``).
Every problem names its row number as a spreadsheet shows it (the header is row 1).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass

from bot.core.catalog import Lang
from bot.core.phones import InvalidPhoneNumber, mask, to_e164

COLUMNS = ("phone", "language", "city", "topics")
_LANGS: dict[str, Lang] = {
    **{"en": "en", "english": "en", "ur": "ur", "urdu": "ur", "اردو": "ur"},
    **{"ur-latn": "ur-Latn", "roman": "ur-Latn", "roman urdu": "ur-Latn"},
}


@dataclass(frozen=True, slots=True)
class RosterRow:
    row: int
    phone: str  # E.164
    language: Lang | None
    city: str | None
    topics: frozenset[str]


class RosterError(ValueError):
    """The file cannot be imported; ``problems`` holds ``(row, message)`` pairs."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        self.problems = problems
        lines = [f"row {row}: {message}" for row, message in problems]
        super().__init__("\n".join(lines))


def parse_roster(
    text: str,
    *,
    region: str = "PK",
    cities: Iterable[str] = (),
    topics: Iterable[str] = (),
) -> list[RosterRow]:
    """Every row of ``text``, validated; :class:`RosterError` naming every bad row otherwise.

    A number that appears twice is reported on its second row, so one import never holds two
    versions of one person.
    """
    known_cities, known_topics = set(cities), set(topics)
    reader = csv.reader(text.lstrip("\ufeff").splitlines())
    header = next(reader, None)
    if header is None:
        raise RosterError([(1, "the file is empty; expected a header row with 'phone'")])
    names = [h.strip().lower() for h in header]
    unknown = [n for n in names if n not in COLUMNS]
    if "phone" not in names or unknown:
        detail = f"unknown column(s) {', '.join(unknown)}; " if unknown else ""
        raise RosterError([(1, f"{detail}expected columns {', '.join(COLUMNS)} (phone required)")])
    rows: list[RosterRow] = []
    problems: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for number, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue  # blank lines at the end of a spreadsheet export
        if len(values) > len(names):
            problems.append((number, f"{len(values)} fields, the header has {len(names)}"))
            continue
        cell = dict(zip(names, (v.strip() for v in values), strict=False))
        row, errors = _row(number, cell, region, known_cities, known_topics)
        if row is not None and row.phone in seen:
            errors.append(f"{mask(row.phone)} repeats row {seen[row.phone]}")
        if errors:
            problems.extend((number, e) for e in errors)
        elif row is not None:
            seen[row.phone] = number
            rows.append(row)
    if problems:
        raise RosterError(problems)
    return rows


def _row(
    number: int, cell: dict[str, str], region: str, cities: set[str], topics: set[str]
) -> tuple[RosterRow | None, list[str]]:
    errors: list[str] = []
    phone = None
    try:
        phone = to_e164(cell.get("phone", ""), region)
    except InvalidPhoneNumber as exc:
        errors.append(str(exc))
    raw_lang = cell.get("language", "").lower()
    language = _LANGS.get(raw_lang) if raw_lang else None
    if raw_lang and language is None:
        errors.append(f"language {raw_lang!r} is not en, ur or ur-Latn")
    city = cell.get("city", "").lower() or None
    if city is not None and cities and city not in cities:
        errors.append(f"city {city!r} is not one of {', '.join(sorted(cities))}")
    wanted = frozenset(
        t.strip().lower() for t in cell.get("topics", "").replace(",", ";").split(";") if t.strip()
    )
    if topics and not wanted <= topics:
        bad = ", ".join(sorted(wanted - topics))
        errors.append(f"topic(s) {bad} not one of {', '.join(sorted(topics))}")
    if errors or phone is None:
        return None, errors
    return RosterRow(number, phone, language, city, wanted), errors
