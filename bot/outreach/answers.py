"""Coordinators' answers: changed from the CLI, matched by every process within seconds.

:class:`LiveCatalog` is what the inbox answers from: the content plus the answers in the
database. Each message's unit of work asks it for the catalog and matcher
(:meth:`LiveCatalog.current`, given the message's time); at most every ``every`` (5 s by
default) that costs one query, ``answers.version`` (the count and last id of
``answer_changes``), and only when the version moved are the answers read again and the
matcher rebuilt. So a change made in one process is answered by every other within ``every``
of their next message, without a restart and without a query per message. Answers that clash
with the content (content edited since) lose what clashes (:func:`bot.content.added.usable`).

:func:`add`, :func:`edit` and :func:`remove` check an answer (:func:`bot.content.added.problems`)
and store it with who did it, in one unit; :class:`Invalid` carries every problem found.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from bot.content import added as checks
from bot.core.added import AddedAnswer, with_added
from bot.core.catalog import Catalog
from bot.core.keywords import Matcher
from bot.core.segments import count_segments
from bot.store import answers as stored
from bot.store.answers import AnswerExists, Change, StoredAnswer
from bot.store.models import NotFound
from bot.store.units import Units

__all__ = [
    "AnswerExists",
    "Change",
    "Invalid",
    "LiveCatalog",
    "NotFound",
    "StoredAnswer",
    "add",
    "answer_lines",
    "change_line",
    "edit",
    "list_all",
    "local_time",
    "problems_of",
    "remove",
    "show",
]

log = logging.getLogger(__name__)

REFRESH_EVERY = timedelta(seconds=5)


class Invalid(ValueError):
    """The answer breaks the content's rules; ``problems`` says how, one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True, slots=True)
class _State:
    catalog: Catalog
    matcher: Matcher
    version: tuple[int, int] | None  # None: the database was never read
    checked_at: datetime | None


class LiveCatalog:
    """The content and the coordinators' answers, re-read when the answers change."""

    def __init__(
        self,
        content: Catalog,
        matcher: Matcher | None = None,
        *,
        every: timedelta = REFRESH_EVERY,
    ) -> None:
        self.content = content
        self._every = every
        # One object swapped whole, so a reader never sees a catalog with another's matcher.
        self._state = _State(content, matcher or Matcher.from_catalog(content), None, None)
        self.dropped: list[str] = []

    @property
    def catalog(self) -> Catalog:
        return self._state.catalog

    def current(self, conn: Connection, now: datetime) -> tuple[Catalog, Matcher]:
        """The catalog and matcher to answer a message received at ``now`` from.

        Checks the answers' version when ``every`` has passed since the last check (or the
        clock went back), and re-reads them when it moved.
        """
        state = self._state
        last = state.checked_at
        if last is not None and timedelta(0) <= now - last < self._every:
            return state.catalog, state.matcher
        version = stored.version(conn)
        if version == state.version:
            self._state = _State(state.catalog, state.matcher, version, now)
            return state.catalog, state.matcher
        return self._load(conn, version, now)

    def refresh(self, conn: Connection, now: datetime) -> Catalog:
        """Read the answers now, whatever the time since the last check."""
        return self._load(conn, stored.version(conn), now)[0]

    def _load(
        self, conn: Connection, version: tuple[int, int], now: datetime
    ) -> tuple[Catalog, Matcher]:
        rows = [s.answer for s in stored.list_answers(conn)]
        kept, dropped = checks.usable(self.content, rows)
        for line in dropped:
            if line not in self.dropped:
                log.warning("coordinator answer %s", line)
        self.dropped = dropped
        catalog = with_added(self.content, kept, f"{version[0]}.{version[1]}")
        matcher = Matcher.from_catalog(catalog)
        self._state = _State(catalog, matcher, version, now)
        log.info("coordinator answers: %d in use (changes: %d)", len(kept), version[0])
        return catalog, matcher


async def add(
    units: Units,
    content: Catalog,
    answer: AddedAnswer,
    by: str,
    now: datetime,
    *,
    max_segments: int,
) -> None:
    """Check and store a new answer. Raises :class:`Invalid` or :class:`AnswerExists`."""

    def unit(conn: Connection) -> None:
        if stored.get_answer(conn, answer.key) is not None:
            raise AnswerExists(f"there is already an added answer '{answer.key}'")
        _check(conn, content, answer, max_segments)
        stored.add_answer(conn, answer, by, now)

    await units.run(unit)


async def edit(
    units: Units,
    content: Catalog,
    key: str,
    change: Callable[[AddedAnswer], AddedAnswer],
    by: str,
    now: datetime,
    *,
    max_segments: int,
) -> AddedAnswer | None:
    """Apply ``change`` to the stored answer ``key``, check and store the result.

    Returns the new answer, or None when it is the same as before (nothing is recorded).
    Raises :class:`NotFound` or :class:`Invalid`.
    """

    def unit(conn: Connection) -> AddedAnswer | None:
        old = stored.get_answer(conn, key)
        if old is None:
            raise NotFound(f"there is no added answer '{key}'")
        new = change(old.answer)
        _check(conn, content, new, max_segments)
        return new if stored.edit_answer(conn, new, by, now) else None

    return await units.run(unit)


async def remove(units: Units, key: str, by: str, now: datetime) -> None:
    """Remove the answer ``key`` (its history stays). Raises :class:`NotFound`."""
    await units.run(lambda conn: stored.remove_answer(conn, key, by, now))


async def list_all(units: Units) -> list[StoredAnswer]:
    return await units.run(stored.list_answers)


def problems_of(
    found: list[StoredAnswer], catalog: Catalog, *, max_segments: int
) -> dict[str, list[str]]:
    """What is wrong with each of the stored answers ``found`` (empty when nothing), by key:
    checked against the content ``catalog`` and the other answers."""
    added = [s.answer for s in found]
    return {
        s.answer.key: checks.problems(s.answer, catalog, added, max_segments=max_segments)
        for s in found
    }


async def show(units: Units, key: str, limit: int = 10) -> tuple[StoredAnswer | None, list[Change]]:
    """The answer ``key`` (None when removed or never added) and its latest changes."""

    def unit(conn: Connection) -> tuple[StoredAnswer | None, list[Change]]:
        return stored.get_answer(conn, key), stored.history(conn, key, limit)

    return await units.run(unit)


def _check(conn: Connection, content: Catalog, answer: AddedAnswer, max_segments: int) -> None:
    others = [s.answer for s in stored.list_answers(conn)]
    problems = checks.problems(answer, content, others, max_segments=max_segments)
    if problems:
        raise Invalid(problems)


# --- What coordinators read -------------------------------------------------------------

_NAMES = {
    "keywords": "keywords",
    "sms_en": "SMS (English)",
    "sms_ur": "SMS (Urdu)",
    "sms_ur_latn": "SMS (Roman Urdu)",
    "telegram_en": "Telegram (English)",
    "telegram_ur": "Telegram (Urdu)",
}


def local_time(when: datetime, timezone: str) -> str:
    """``2026-12-03 10:00`` in ``timezone`` (the coordinators')."""
    return when.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def answer_lines(s: StoredAnswer, timezone: str) -> list[str]:
    """An answer in full, for a coordinator: every text (SMS ones with their segments), who
    added it and who changed it last, and when (in ``timezone``)."""
    a = s.answer
    lines = [f"Answer '{a.key}'", f"keywords: {', '.join(a.keywords)}"]
    for name in ("sms_en", "sms_ur", "sms_ur_latn", "telegram_en", "telegram_ur"):
        text = getattr(a, name)
        if text is None:
            continue
        extra = ""
        if name.startswith("sms"):
            info = count_segments(text)
            extra = f" [{info.segments} segment(s), {info.encoding}]"
        lines.append(f"{_NAMES[name]}{extra}: {text}")
    lines.append(f"added by {s.created_by}, {local_time(s.created_at, timezone)}")
    lines.append(f"last changed by {s.updated_by}, {local_time(s.updated_at, timezone)}")
    return lines


def change_line(change: Change, timezone: str) -> str:
    """One change in a line: when, who, what, and for an edit each field before -> after."""
    when = f"{local_time(change.changed_at, timezone)} {change.changed_by}"
    if change.action != "edit" or change.before is None or change.after is None:
        return f"{when}: {change.action}"
    before, after = change.before, change.after
    parts = [
        f"{_NAMES.get(name, name)} {_short(before.get(name))} -> {_short(after.get(name))}"
        for name in after
        if before.get(name) != after.get(name)
    ]
    return f"{when}: edit: {'; '.join(parts)}"


def _short(value: object, limit: int = 40) -> str:
    if value is None:
        return "(none)"
    text = ", ".join(value) if isinstance(value, list) else str(value)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
