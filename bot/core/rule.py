"""When an announcement goes out: a :class:`Rule`, and its JSON form for the schedules table.

Kinds:

- ``once``: on the date ``on`` at ``at``;
- ``daily``: every day at ``at``;
- ``weekly``: on each of ``weekdays`` (Monday 0 .. Sunday 6) at ``at``;
- ``monthly``: on day ``day`` (1-31) at ``at``; a month without that day fires on its last day,
  so ``day=31`` means "the last day of every month";
- ``cron``: the five-field expression ``cron`` (see :mod:`bot.core.cron`).

Times are wall-clock times in ``tz``. ``start`` and ``end`` (optional, inclusive local dates)
bound every kind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, time
from typing import Any, Literal, TypeVar, get_args

from bot.core._walltime import zone
from bot.core.cron import CronError, parse_cron

Kind = Literal["once", "daily", "weekly", "monthly", "cron"]
KINDS: tuple[Kind, ...] = get_args(Kind)
DEFAULT_TZ = "Asia/Karachi"
WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_T = TypeVar("_T")


class RuleError(ValueError):
    """A schedule that cannot be understood or is inconsistent; the message says why."""


_FIELDS: dict[Kind, frozenset[str]] = {
    "once": frozenset({"on", "at"}),
    "daily": frozenset({"at"}),
    "weekly": frozenset({"weekdays", "at"}),
    "monthly": frozenset({"day", "at"}),
    "cron": frozenset({"cron"}),
}


@dataclass(frozen=True, slots=True)
class Rule:
    """A schedule's timing; construction checks that the fields fit the kind."""

    kind: Kind
    at: time | None = None
    on: date | None = None
    weekdays: frozenset[int] = frozenset()
    day: int | None = None
    cron: str | None = None
    tz: str = DEFAULT_TZ
    start: date | None = None
    end: date | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise RuleError(f"unknown kind {self.kind!r}; one of {', '.join(KINDS)}")
        try:
            zone(self.tz)
        except ValueError as exc:
            raise RuleError(str(exc)) from None
        present = {
            name
            for name, value in (
                ("at", self.at),
                ("on", self.on),
                ("weekdays", self.weekdays or None),
                ("day", self.day),
                ("cron", self.cron),
            )
            if value is not None
        }
        needed = _FIELDS[self.kind]
        if present != needed:
            missing, extra = sorted(needed - present), sorted(present - needed)
            raise RuleError(
                f"a {self.kind} rule needs {', '.join(sorted(needed))}"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; {', '.join(extra)} does not apply" if extra else "")
            )
        self._check_values()

    def _check_values(self) -> None:
        if self.at is not None and (
            self.at.tzinfo is not None or self.at.second or self.at.microsecond
        ):
            raise RuleError(f"time {self.at} must be a whole minute without a time zone")
        if not set(self.weekdays) <= set(range(7)):
            raise RuleError(f"weekdays {sorted(self.weekdays)} must be 0 (Monday) to 6 (Sunday)")
        if self.day is not None and not 1 <= self.day <= 31:
            raise RuleError(f"day of month {self.day} must be 1 to 31")
        if self.cron is not None:
            try:
                parse_cron(self.cron)
            except CronError as exc:
                raise RuleError(str(exc)) from None
        if self.start and self.end and self.start > self.end:
            raise RuleError(f"start {self.start} is after end {self.end}")


def rule_to_dict(rule: Rule) -> dict[str, Any]:
    """Plain JSON-ready data: ISO dates, ``HH:MM`` times, weekday keys ``mon``..``sun``."""
    out: dict[str, Any] = {"kind": rule.kind, "tz": rule.tz}
    if rule.on is not None:
        out["on"] = rule.on.isoformat()
    if rule.at is not None:
        out["at"] = rule.at.strftime("%H:%M")
    if rule.weekdays:
        out["weekdays"] = [WEEKDAY_KEYS[d] for d in sorted(rule.weekdays)]
    if rule.day is not None:
        out["day"] = rule.day
    if rule.cron is not None:
        out["cron"] = rule.cron
    if rule.start is not None:
        out["start"] = rule.start.isoformat()
    if rule.end is not None:
        out["end"] = rule.end.isoformat()
    return out


def _get(data: Mapping[str, Any], key: str, kind: type) -> Any:
    value = data.get(key)
    if isinstance(value, bool) or (value is not None and not isinstance(value, kind)):
        raise RuleError(f"stored rule: {key!r} must be of type {kind.__name__}, got {value!r}")
    return value


def _parsed(value: str | None, key: str, parse: Callable[[str], _T]) -> _T | None:
    if value is None:
        return None
    try:
        return parse(value)
    except ValueError:
        raise RuleError(f"stored rule: {key!r} is not valid: {value!r}") from None


def rule_from_dict(data: Mapping[str, Any]) -> Rule:
    """The :class:`Rule` that :func:`rule_to_dict` produced; :class:`RuleError` on bad data."""
    unknown = set(data) - {"kind", "tz", "on", "at", "weekdays", "day", "cron", "start", "end"}
    if unknown:
        raise RuleError(f"stored rule: unknown keys {sorted(unknown)}")
    days = _get(data, "weekdays", list) or []
    if not all(isinstance(d, str) and d in WEEKDAY_KEYS for d in days):
        raise RuleError(f"stored rule: weekdays {days!r} must be keys like 'mon'")
    return Rule(
        kind=_get(data, "kind", str),
        at=_parsed(_get(data, "at", str), "at", time.fromisoformat),
        on=_parsed(_get(data, "on", str), "on", date.fromisoformat),
        weekdays=frozenset(WEEKDAY_KEYS.index(d) for d in days),
        day=_get(data, "day", int),
        cron=_get(data, "cron", str),
        tz=_get(data, "tz", str) or DEFAULT_TZ,
        start=_parsed(_get(data, "start", str), "start", date.fromisoformat),
        end=_parsed(_get(data, "end", str), "end", date.fromisoformat),
    )
