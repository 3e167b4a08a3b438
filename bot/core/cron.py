"""Five-field cron expressions: ``minute hour day-of-month month day-of-week``.

Each field is ``*`` or a comma-separated list of ``n``, ``a-b``, ``*/step``, ``a-b/step`` or
``a/step`` (``a`` to the field's maximum). Months take ``jan``..``dec`` and weekdays
``sun``..``sat`` as well as numbers (``0`` and ``7`` are both Sunday, so ``sat-sun`` works);
names are case-insensitive. ``@hourly``, ``@daily``/``@midnight``, ``@weekly``, ``@monthly``
and ``@yearly``/``@annually`` stand for their usual expansions.

Days follow Vixie cron: when both day fields are restricted a day matches either of them
(``0 9 1 * mon`` = the 1st of the month *and* every Monday); when either field starts with
``*`` both must match. ``L``, ``W``, ``#`` and ``?`` (Quartz extensions) are not supported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache

FIELD_NAMES = ("minute", "hour", "day-of-month", "month", "day-of-week")
EXAMPLE = "'cron 0 10 * * mon' (10:00 every Monday)"

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_NAMES: tuple[dict[str, int], ...] = (
    {},
    {},
    {},
    {name: i for i, name in enumerate(_MONTHS, 1)},
    {name: i for i, name in enumerate(_DAYS)},
)
_MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
# The most days a month can have (February counted as a leap month), for "never fires" checks.
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class CronError(ValueError):
    """A cron expression that cannot be parsed; the message names the field and the problem."""


@dataclass(frozen=True, slots=True)
class Cron:
    """A parsed cron expression. ``weekdays`` uses Python's numbering (Monday 0 .. Sunday 6).

    ``times`` lists every (hour, minute) of a matching day, earliest first.
    """

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool
    any_weekday: bool
    times: tuple[time, ...]

    def day_matches(self, d: date) -> bool:
        """True when the cron fires at some time on ``d``."""
        if d.month not in self.months:
            return False
        dom, dow = d.day in self.days, d.weekday() in self.weekdays
        if self.any_day or self.any_weekday:
            return dom and dow
        return dom or dow

    def matches(self, local: datetime) -> bool:
        """True when the wall-clock minute of ``local`` is one the cron fires at."""
        return local.minute in self.minutes and local.hour in self.hours and self.day_matches(local)


def _value(raw: str, index: int) -> int:
    lo, hi = _BOUNDS[index]
    if raw.isdigit():
        n = int(raw)
    elif raw in _NAMES[index]:
        n = _NAMES[index][raw]
    else:
        names = f" or a name such as {next(iter(_NAMES[index]))}" if _NAMES[index] else ""
        raise CronError(f"{raw!r} is not a number{names}")
    if not lo <= n <= hi:
        raise CronError(f"{n} is out of range {lo}-{hi}")
    return n


def _item(item: str, index: int) -> set[int]:
    lo, hi = _BOUNDS[index]
    base, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if not step_text.isdigit() or int(step_text) < 1:
            raise CronError(f"step {step_text!r} must be a whole number of at least 1")
        step = int(step_text)
    if base == "*":
        first, last = lo, hi
    elif "-" in base:
        left, _, right = base.partition("-")
        first, last = _value(left, index), _value(right, index)
        if index == 4 and last == 0 and first > 0:
            last = 7  # "sat-sun": Sunday at the end of a range is day 7
        if first > last:
            raise CronError(f"range {base!r} goes backwards; write it low to high")
    else:
        first = _value(base, index)
        last = hi if slash else first
    return set(range(first, last + 1, step))


def _field(raw: str, index: int) -> frozenset[int]:
    values: set[int] = set()
    for item in raw.split(","):
        if not item:
            raise CronError("empty item between commas")
        values |= _item(item, index)
    return frozenset(values)


def _never(days: frozenset[int], months: frozenset[int]) -> bool:
    return all(min(days) > _MONTH_DAYS[m - 1] for m in months)


@lru_cache(maxsize=512)
def parse_cron(text: str) -> Cron:
    """Parse ``text`` (five fields or an ``@`` macro); :class:`CronError` says what is wrong."""
    normal = " ".join(text.lower().split())
    expanded = _MACROS.get(normal, normal)
    if expanded.startswith("@"):
        raise CronError(f"unknown cron macro {normal!r}; use one of {', '.join(_MACROS)}")
    fields = expanded.split()
    if len(fields) != len(FIELD_NAMES):
        raise CronError(
            f"a cron expression has 5 fields ({' '.join(FIELD_NAMES)}), got {len(fields)} in "
            f"{normal!r}; for example {EXAMPLE}"
        )
    parsed: list[frozenset[int]] = []
    for index, raw in enumerate(fields):
        try:
            parsed.append(_field(raw, index))
        except CronError as exc:
            raise CronError(
                f"cron {FIELD_NAMES[index]} field {raw!r}: {exc}; for example {EXAMPLE}"
            ) from None
    minutes, hours, days, months, cron_weekdays = parsed
    any_day, any_weekday = fields[2].startswith("*"), fields[4].startswith("*")
    if any_weekday and _never(days, months):
        raise CronError(f"{normal!r} never fires: no month has that day; for example {EXAMPLE}")
    return Cron(
        text=normal,
        minutes=minutes,
        hours=hours,
        days=days,
        months=months,
        weekdays=frozenset((d - 1) % 7 for d in cron_weekdays),
        any_day=any_day,
        any_weekday=any_weekday,
        times=tuple(time(h, m) for h in sorted(hours) for m in sorted(minutes)),
    )
