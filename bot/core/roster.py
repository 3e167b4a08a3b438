"""Subscriber lists as CSV: what coordinators import, checked row by row before anything is
stored, and the rows an export writes (which import again as they are).

Columns (a header row is required; names are case-insensitive, order is free):
``phone`` and ``telegram_chat_id`` (each row needs one or both), ``name`` (optional, the
person's name in any script, at most 128 characters: an empty cell leaves the name on file as
it is), ``language`` (``en``/``ur``/``ur-Latn``/``english``/``urdu``/``roman urdu``,
optional), ``city`` (optional, one of the known city ids), ``topics`` (optional, ids
separated by ``;`` or ``,``), and
``sms_status`` / ``telegram_status`` (optional: ``active``, ``opted_out``, ``blocked`` or
``invalid``, what an export writes). A status other than ``active`` is kept on import (an
opted-out person stays opted out, and is never messaged); ``active`` never undoes one.

Someone with two numbers, or two Telegram chats, takes one row per extra contact, each
repeating a contact of their first row (:func:`export_rows` writes them so): rows that share
a contact are one person and must agree on name, language, city and topics.

Every problem names its row number as a spreadsheet shows it (the header is row 1).
:func:`check_roster` returns the good rows and every problem (a preview);
:func:`parse_roster` returns the rows or raises :class:`RosterError` naming every bad row.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bot.core.catalog import Lang
from bot.core.decision import ContactStatus
from bot.core.names import NAME_MAX, clean_name
from bot.core.phones import InvalidPhoneNumber, mask, to_e164

COLUMNS = ("phone", "telegram_chat_id", "name", "language", "city", "topics")
EXPORT_COLUMNS = (*COLUMNS, "sms_status", "telegram_status")
STATUSES: tuple[ContactStatus, ...] = ("active", "opted_out", "blocked", "invalid")
BOM = "\ufeff"
_ALIASES = {"telegram": "telegram_chat_id", "chat_id": "telegram_chat_id"}
_CHAT_ID = re.compile(r"-?[0-9]{1,20}")
_LANGS: dict[str, Lang] = {
    **{"en": "en", "english": "en", "ur": "ur", "urdu": "ur", "اردو": "ur"},
    **{"ur-latn": "ur-Latn", "roman": "ur-Latn", "roman urdu": "ur-Latn"},
}


@dataclass(frozen=True, slots=True)
class RosterRow:
    """One good row: an SMS number (E.164) and/or a Telegram chat id, and the person's
    profile. A status or the name is None when the file leaves it empty."""

    row: int
    phone: str | None
    language: Lang | None
    city: str | None
    topics: frozenset[str]
    telegram: str | None = None
    sms_status: ContactStatus | None = None
    telegram_status: ContactStatus | None = None
    name: str | None = None

    @property
    def contacts(self) -> list[tuple[str, str]]:
        """``("sms", phone)`` and ``("telegram", chat id)``, those the row has."""
        found = [("sms", self.phone), ("telegram", self.telegram)]
        return [(channel, address) for channel, address in found if address]


@dataclass(frozen=True, slots=True)
class RosterCheck:
    """What a file would import: its good ``rows`` and every ``(row, message)`` problem.
    Nothing is imported while there is a problem."""

    rows: list[RosterRow] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


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
    """Every row of ``text``, validated; :class:`RosterError` naming every bad row otherwise."""
    checked = check_roster(text, region=region, cities=cities, topics=topics)
    if checked.problems:
        raise RosterError(checked.problems)
    return checked.rows


def check_roster(
    text: str,
    *,
    region: str = "PK",
    cities: Iterable[str] = (),
    topics: Iterable[str] = (),
) -> RosterCheck:
    """The good rows of ``text`` and the problems of the others (a leading BOM is ignored).

    A contact already on an earlier row makes the row that person's too: it must bring a
    contact of its own and agree with that row on name, language, city and topics; a row with
    nothing new is reported as a repeat, so one import never holds two versions of a person.
    """
    known_cities, known_topics = set(cities), set(topics)
    reader = csv.reader(text.removeprefix(BOM).splitlines())
    header = next(reader, None)
    if header is None:
        return RosterCheck([], [(1, "the file is empty; expected a header row with 'phone'")])
    names = [_ALIASES.get(n, n) for n in (h.strip().lower() for h in header)]
    unknown = [n for n in names if n not in EXPORT_COLUMNS]
    if not {"phone", "telegram_chat_id"} & set(names) or unknown:
        detail = f"unknown column(s) {', '.join(unknown)}; " if unknown else ""
        return RosterCheck(
            [],
            [
                (
                    1,
                    f"{detail}expected columns {', '.join(EXPORT_COLUMNS)} "
                    "(phone or telegram_chat_id required)",
                )
            ],
        )
    rows: list[RosterRow] = []
    problems: list[tuple[int, str]] = []
    seen: dict[tuple[str, str], RosterRow] = {}
    for number, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue  # blank lines at the end of a spreadsheet export
        if len(values) > len(names):
            problems.append((number, f"{len(values)} fields, the header has {len(names)}"))
            continue
        cell = dict(zip(names, (v.strip() for v in values), strict=False))
        row, errors = _row(number, cell, region, known_cities, known_topics)
        if row is not None:
            errors += _repeats(row, seen)
        if errors:
            problems.extend((number, e) for e in errors)
        elif row is not None:
            for contact in row.contacts:
                seen.setdefault(contact, row)
            rows.append(row)
    return RosterCheck(rows, problems)


def _repeats(row: RosterRow, seen: dict[tuple[str, str], RosterRow]) -> list[str]:
    """Why ``row`` cannot join the rows before it (none when it is a new person, or brings a
    new contact of one person already in the file)."""
    earlier = {contact: seen[contact] for contact in row.contacts if contact in seen}
    if not earlier:
        return []
    shown = " and ".join(mask(address) for _, address in earlier)
    firsts = sorted({r.row for r in earlier.values()})
    if len(firsts) > 1:
        return [f"{shown} are on rows {' and '.join(map(str, firsts))}: two people in one row"]
    first = next(iter(earlier.values()))
    if len(earlier) == len(row.contacts):
        return [f"{shown} repeats row {first.row}"]
    if _profile(row) != _profile(first):
        return [f"{shown} repeats row {first.row} with another name, language, city or topics"]
    return []


def _profile(row: RosterRow) -> tuple[object, ...]:
    return (row.name, row.language, row.city, row.topics)


def _status(cell: dict[str, str], column: str, errors: list[str]) -> ContactStatus | None:
    raw = cell.get(column, "").lower().replace(" ", "_").replace("-", "_")
    if not raw:
        return None
    for status in STATUSES:
        if raw == status:
            return status
    errors.append(f"{column} {raw!r} is not one of {', '.join(STATUSES)}")
    return None


def _row(
    number: int, cell: dict[str, str], region: str, cities: set[str], topics: set[str]
) -> tuple[RosterRow | None, list[str]]:
    errors: list[str] = []
    phone = telegram = None
    raw_phone, raw_chat = cell.get("phone", ""), cell.get("telegram_chat_id", "")
    if not raw_phone and not raw_chat:
        errors.append("no phone and no telegram_chat_id: nobody to import")
    if raw_phone:
        try:
            phone = to_e164(raw_phone, region)
        except InvalidPhoneNumber as exc:
            errors.append(str(exc))
    if raw_chat:
        if _CHAT_ID.fullmatch(raw_chat):
            telegram = raw_chat
        else:
            errors.append(f"telegram_chat_id {raw_chat[:40]!r} is not a number")
    sms_status = _status(cell, "sms_status", errors)
    telegram_status = _status(cell, "telegram_status", errors)
    if sms_status is not None and not raw_phone:
        errors.append("sms_status without a phone")
    if telegram_status is not None and not raw_chat:
        errors.append("telegram_status without a telegram_chat_id")
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
    name = clean_name(cell.get("name", ""))
    if name is not None and len(name) > NAME_MAX:
        errors.append(f"name is {len(name)} characters long; at most {NAME_MAX}")
    if errors or (phone is None and telegram is None):
        return None, errors
    row = RosterRow(
        number, phone, language, city, wanted, telegram, sms_status, telegram_status, name
    )
    return row, errors


@dataclass(frozen=True, slots=True)
class Person:
    """A subscriber as an export sees them: their contacts as ``(address, status)`` pairs,
    oldest first, SMS numbers in E.164 and Telegram chat ids."""

    language: Lang | None
    city: str | None
    topics: tuple[str, ...]
    sms: tuple[tuple[str, ContactStatus], ...]
    telegram: tuple[tuple[str, ContactStatus], ...]
    name: str | None = None


def export_rows(people: Sequence[Person]) -> list[tuple[str, ...]]:
    """The rows of an export (:data:`EXPORT_COLUMNS`), one per person, which import again as
    the same people; someone with several numbers or chats gets a row per extra contact, each
    repeating one of their first row's. People without any contact are left out."""
    rows: list[tuple[str, ...]] = []
    for p in people:
        if not p.sms and not p.telegram:
            continue
        none = ("", "")
        sms0 = p.sms[0] if p.sms else none
        tg0 = p.telegram[0] if p.telegram else none
        profile = (p.name or "", p.language or "", p.city or "", ";".join(sorted(p.topics)))
        pairs = [(sms0, tg0)]
        pairs += [(extra, tg0) for extra in p.sms[1:]]
        pairs += [(sms0, extra) for extra in p.telegram[1:]]
        for (phone, sms_status), (chat, tg_status) in pairs:
            rows.append((phone, chat, *profile, sms_status, tg_status))
    return rows
