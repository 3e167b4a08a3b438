"""Schedule maths: when a :class:`Rule` fires, and what to do about runs missed while down.

Everything takes the current time as an argument and returns plain values; the scheduler
adapter turns them into APScheduler jobs.

Times are wall-clock times in the rule's zone, so "every Monday 10:00" in Europe/London stays
at 10:00 across the DST change. A time the clocks skip (01:30 when London jumps from 01:00 to
02:00) fires once, when the clocks jump (02:00); a time the clocks pass twice (01:30 when they
go back) fires once, the first time. Several times folded onto one instant fire once.

The rule itself and its stored form (:class:`Rule`, :func:`rule_to_dict`, :func:`rule_from_dict`)
live in :mod:`bot.core.rule`, reading it (:func:`parse_rule`) in :mod:`bot.core.rule_parse`
and saying it (:func:`describe`, :func:`format_fire`) in :mod:`bot.core.rule_text`; all are
re-exported here.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import islice

from bot.core._walltime import require_aware, resolve, to_utc, wall, zone
from bot.core.cron import parse_cron
from bot.core.rule import DEFAULT_TZ, Kind, Rule, RuleError, rule_from_dict, rule_to_dict
from bot.core.rule_parse import parse_rule
from bot.core.rule_text import describe, format_fire

__all__ = [
    "DEFAULT_TZ",
    "Kind",
    "MissedPlan",
    "Rule",
    "RuleError",
    "describe",
    "format_fire",
    "latest_fire",
    "missed_runs",
    "next_fire",
    "next_fires",
    "parse_rule",
    "rule_from_dict",
    "rule_to_dict",
]

_DAY = timedelta(days=1)
# A cron with no fire in this many days is taken to fire no more (Feb 29 on a Monday-only
# cron can take 28 years; a bare "0 0 29 2 *" at most 8).
_CRON_HORIZON = timedelta(days=366 * 12)
MISSED_LIMIT = 100


def _days(first: date, rule: Rule) -> Iterator[date]:
    d = max(first, rule.start) if rule.start else first
    while rule.end is None or d <= rule.end:
        yield d
        if d == date.max:
            return
        d += _DAY


def _last_day(d: date) -> int:
    following = (d.replace(day=28) + timedelta(days=4)).replace(day=1)
    return (following - _DAY).day


def _day_fires(rule: Rule, d: date) -> bool:
    if rule.kind == "daily":
        return True
    if rule.kind == "weekly":
        return d.weekday() in rule.weekdays
    assert rule.day is not None
    return d.day == min(rule.day, _last_day(d))


def _walls(rule: Rule, first: datetime) -> Iterator[datetime]:
    """Naive local fire times of ``rule`` in order, from the day of ``first`` on.

    Times before ``first`` on its first day may come too; the caller drops them.
    """
    if rule.kind == "once":
        assert rule.on is not None and rule.at is not None
        if (rule.start or rule.on) <= rule.on <= (rule.end or rule.on):
            yield datetime.combine(rule.on, rule.at)
        return
    if rule.kind == "cron":
        assert rule.cron is not None
        cron = parse_cron(rule.cron)
        last_hit = first.date()
        for d in _days(first.date(), rule):
            if cron.day_matches(d):
                last_hit = d
                skip = bisect_left(cron.times, first.time()) if d == first.date() else 0
                for t in cron.times[skip:]:
                    yield datetime.combine(d, t)
            elif d - last_hit > _CRON_HORIZON:
                return
        return
    assert rule.at is not None
    for d in _days(first.date(), rule):
        if _day_fires(rule, d):
            yield datetime.combine(d, rule.at)


def _fires(rule: Rule, after: datetime) -> Iterator[datetime]:
    require_aware(after, "after")
    tz = zone(rule.tz)
    after_utc = to_utc(after)
    first = wall(after, tz)
    last: datetime | None = None
    for local in _walls(rule, first):
        if local < first.replace(second=0, microsecond=0):
            continue
        fire = resolve(local, tz)
        fire_utc = to_utc(fire)
        # In a fold, wall times after `first` can be instants before `after`; in a gap, several
        # wall times resolve to one instant. Either way, only strictly later instants count.
        if fire_utc <= after_utc or (last is not None and fire_utc <= last):
            continue
        last = fire_utc
        yield fire


def next_fires(rule: Rule, after: datetime, count: int = 3) -> list[datetime]:
    """The next ``count`` fire times strictly after ``after``, aware in the rule's zone.

    Fewer (possibly none) when the rule ends first: a ``once`` in the past, an ``end`` date
    passed. ``after`` must be aware (``ValueError`` otherwise); any zone will do.
    """
    return list(islice(_fires(rule, after), max(count, 0)))


def next_fire(rule: Rule, after: datetime) -> datetime | None:
    """The first fire time strictly after ``after``, or ``None`` when the rule fires no more."""
    return next(_fires(rule, after), None)


def latest_fire(rule: Rule, now: datetime, within: timedelta) -> datetime | None:
    """The newest fire time in (``now - within``, ``now``], or None: which run a job that the
    scheduler started (possibly late, never later than ``within``) stands for."""
    require_aware(now, "now")
    due = _due(rule, to_utc(now) - within, now)
    return due[-1] if due else None


@dataclass(frozen=True, slots=True)
class MissedPlan:
    """What to do at start-up about fire times that passed while the bot was down.

    ``send_now`` is the newest of them when it is younger than the grace period; ``missed``
    holds the others, oldest first, for the coordinators' report. When more than the limit were
    missed only the newest are listed and ``truncated`` is True.
    """

    send_now: datetime | None
    missed: list[datetime] = field(default_factory=list)
    truncated: bool = False


def _due(rule: Rule, since: datetime, now: datetime) -> list[datetime]:
    now_utc = to_utc(now)
    out: list[datetime] = []
    for fire in _fires(rule, since):
        if to_utc(fire) > now_utc:
            break
        out.append(fire)
    return out


def missed_runs(
    rule: Rule,
    last_fired: datetime | None,
    now: datetime,
    grace: timedelta,
    *,
    since: datetime,
    limit: int = MISSED_LIMIT,
) -> MissedPlan:
    """The fire times in (``last_fired`` or ``since``, ``now``], split into send and missed.

    ``since`` is when the schedule was created or last changed: no earlier fire time counts, so
    editing a schedule never back-fills the new rule's past. The newest due time is sent once if
    ``now - fire < grace``; every other one is recorded as missed. At most ``limit`` missed
    times are returned (the newest), so a long outage under a minutely cron stays cheap: the
    search starts a day back and widens only while it finds too few.
    """
    for name, value in (("now", now), ("since", since), ("last_fired", last_fired)):
        if value is not None:
            require_aware(value, name)
    if grace < timedelta(0):
        raise ValueError(f"grace must not be negative, got {grace}")
    start = to_utc(since if last_fired is None else max(to_utc(last_fired), to_utc(since)))
    now_utc, window = to_utc(now), _DAY
    while True:
        lower = start if now_utc - start <= window else now_utc - window
        due = _due(rule, lower, now)
        if lower == start or len(due) > limit:
            break
        window *= 2
    first_due = due[0] if due else None
    send_now = None
    if due and now_utc - to_utc(due[-1]) < grace:
        send_now = due.pop()
    kept = due[-limit:] if limit > 0 else []
    truncated = len(due) > len(kept)
    if not truncated and lower != start and first_due is not None:
        earliest = next_fire(rule, start)
        truncated = earliest is not None and to_utc(earliest) < to_utc(first_due)
    return MissedPlan(send_now=send_now, missed=kept, truncated=truncated)
