"""Schedules as coordinators type them: :func:`parse_rule` turns "every Mon and Thu at 6pm"
into a :class:`~bot.core.rule.Rule`, or says what it did not understand, with an example.
It also reads back what :func:`bot.core.rule_text.describe` writes.

Grammar (case-insensitive; commas, "and", "at", "on", "the", "of" are filler)::

    rule    := cron | body [ "from" day ] [ "until" | "till" | "ending" day ]
    cron    := "cron" FIVE-FIELDS | "cron" "@daily"...          (see bot.core.cron)
    body    := once | daily | weekly | monthly, with exactly one TIME anywhere in it
    once    := ["once"] ["on"] [WEEKDAY] day         e.g. "on 5 December 09:00"
    daily   := "daily" | "every day" | "everyday"
    weekly  := ("every" | "weekly") days | PLURAL-WEEKDAYS
    days    := WEEKDAY {["," | "and"] WEEKDAY} | WEEKDAY ("-" | "to") WEEKDAY
             | "weekdays" | "weekends"
    monthly := ("monthly" | "every month") N | "on the" N "of every month" | "last day"
    day     := YYYY-MM-DD | D MONTH [YYYY] | MONTH D [YYYY] | "today" | "tomorrow"
    TIME    := HH:MM | H[:MM] ("am" | "pm") | "noon" | "midnight"
    N       := 1..31 with an optional st/nd/rd/th

A ``day`` without a year is the next such date: for ``once``, the next time that date and time
come after ``now``; for ``from``/``until``, today or later.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from bot.core._walltime import require_aware, resolve, to_utc, wall, zone
from bot.core.rule import DEFAULT_TZ, Rule, RuleError
from bot.core.rule_text import DAY_NAMES, MONTH_NAMES, day_text, zone_label, zone_labels

_WEEKDAY_WORDS = {n.lower(): i for i, n in enumerate(DAY_NAMES)} | {
    n.lower()[:3]: i for i, n in enumerate(DAY_NAMES)
} | {"tues": 1, "weds": 2, "thur": 3, "thurs": 3}  # fmt: skip
_MONTH_WORDS = {n.lower(): i for i, n in enumerate(MONTH_NAMES, 1)} | {
    n.lower()[:3]: i for i, n in enumerate(MONTH_NAMES, 1)
} | {"sept": 9}  # fmt: skip
_FILLER = frozenset({"at", "on", "the", "of", "and", "in", "each"})
_FLAGS = frozenset({"once", "every", "daily", "everyday", "day", "week", "weekly", "month",
                    "monthly", "last", "today", "tomorrow", "weekday", "weekdays", "weekend",
                    "weekends"})  # fmt: skip
_HOURLY = "'cron 0 * * * *' (every hour)"
_YEARLY = "'cron 0 9 5 12 *' (5 December 09:00 every year)"
_HINTS = {
    "hour": _HOURLY,
    "hours": _HOURLY,
    "hourly": _HOURLY,
    "year": _YEARLY,
    "yearly": _YEARLY,
    "weeks": "'every Monday 10:00' (every week) or 'cron 0 10 1-7,15-21 * *' (other patterns)",
}
_VOCAB = sorted({*_WEEKDAY_WORDS, *_MONTH_WORDS, *_FILLER, *_FLAGS, "noon", "midnight", "cron"})
_TOKEN = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[:.]\d{2}|\d+(?:st|nd|rd|th)?|[a-z]+|\S")
_CLAUSE = re.compile(r"\b(from|starting|until|till|ending)\b", re.I)
_EXAMPLES = "'every Monday 10:00', 'on 5 December 09:00', 'on the 1st of every month at 9am'"


def _fail(problem: str, example: str = _EXAMPLES) -> RuleError:
    stop = "" if problem.endswith("?") else "."
    return RuleError(f"{problem}{stop} For example: {example}")


@dataclass
class _Parts:
    times: list[time] = field(default_factory=list)
    dates: list[date] = field(default_factory=list)
    nums: list[int] = field(default_factory=list)
    weekdays: list[int] = field(default_factory=list)
    months: list[int] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    plural: bool = False


def _clock(raw: str, ampm: str | None) -> time:
    hour_text, _, minute_text = raw.replace(".", ":").partition(":")
    hour, minute = int(hour_text), int(minute_text or 0)
    if ampm is not None:
        if not 1 <= hour <= 12:
            raise _fail(f"{raw}{ampm} is not a time of day", "'9am', '6:30pm' or '18:30'")
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise _fail(f"{raw!r} is not a time of day (00:00 to 23:59)", "'09:00', '9am' or '18:30'")
    return time(hour, minute)


def _iso(raw: str) -> date:
    try:
        return date(*(int(p) for p in raw.split("-")))
    except ValueError:
        raise _fail(f"{raw} is not a date", "'2026-12-05'") from None


def _unknown(word: str) -> RuleError:
    if word in _HINTS:
        return _fail(f"Did not understand {word!r}", _HINTS[word])
    close = difflib.get_close_matches(word, _VOCAB, n=1, cutoff=0.75)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return _fail(f"Did not understand {word!r}{hint}")


def _tokens(text: str, ignore: frozenset[str]) -> _Parts:
    for label in ignore:  # the zone's abbreviation, as describe() writes it ("PKT", "GMT/BST")
        text = re.sub(rf"(?<!\S){re.escape(label)}(?!\S)", " ", text)
    parts, toks = _Parts(), _TOKEN.findall(re.sub(r"\b([ap])\.\s?m\b\.?", r"\1m", text))
    pending_range = False
    for i, tok in enumerate(toks):
        nxt = toks[i + 1] if i + 1 < len(toks) else ""
        ampm = nxt if nxt in ("am", "pm") else None
        if tok in ("am", "pm"):
            if i == 0 or not re.fullmatch(r"\d{1,2}(?:[:.]\d{2})?", toks[i - 1]):
                raise _fail(f"{tok!r} needs an hour before it", "'9am' or '6:30pm'")
        elif re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", tok):
            parts.dates.append(_iso(tok))
        elif re.fullmatch(r"\d{1,2}[:.]\d{2}", tok) or (tok.isdigit() and ampm):
            parts.times.append(_clock(tok, ampm))
        elif tok in ("noon", "midnight"):
            parts.times.append(time(12) if tok == "noon" else time(0))
        elif tok[0].isdigit():
            parts.nums.append(int(tok.rstrip("stndrh")))
        elif tok in ("-", "to", "through"):
            if not parts.weekdays:
                raise _fail(f"{tok!r} must sit between two weekdays", "'every mon-fri 9am'")
            pending_range = True
        elif tok.rstrip("s") in _WEEKDAY_WORDS or tok in _WEEKDAY_WORDS:
            day = _WEEKDAY_WORDS.get(tok, _WEEKDAY_WORDS.get(tok.rstrip("s"), 0))
            parts.plural |= tok not in _WEEKDAY_WORDS
            if pending_range:
                first = parts.weekdays[-1]
                parts.weekdays += [(first + k) % 7 for k in range(1, (day - first) % 7 + 1)]
                pending_range = False
            else:
                parts.weekdays.append(day)
        elif tok in _MONTH_WORDS:
            parts.months.append(_MONTH_WORDS[tok])
        elif tok in _FLAGS:
            parts.flags.add(tok)
        elif tok not in _FILLER and tok != ",":
            raise _unknown(tok)
    if pending_range:
        raise _fail("a weekday range needs an end", "'every mon-fri 9am'")
    return parts


_Ref = tuple[int | None, int, int]  # (year or None, month, day)


def _date_ref(parts: _Parts, today: date, text: str) -> _Ref | None:
    """The date ``parts`` name, if any; the year is None when the text gives none."""
    if "today" in parts.flags or "tomorrow" in parts.flags:
        d = today + timedelta(days=1 if "tomorrow" in parts.flags else 0)
        return (d.year, d.month, d.day)
    if parts.dates:
        if len(parts.dates) > 1 or parts.months or parts.nums:
            raise _fail(f"More than one date in {text!r}")
        d = parts.dates[0]
        return (d.year, d.month, d.day)
    if not parts.months:
        return None
    years = [n for n in parts.nums if n >= 1000]
    days = [n for n in parts.nums if n < 1000]
    if len(parts.months) != 1 or len(days) != 1 or len(years) > 1:
        raise _fail(f"Could not tell the date in {text!r}", "'5 December' or '5 December 2026'")
    ref = (years[0] if years else None, parts.months[0], days[0])
    _make(ref, ref[0] or 2000)  # 2000 is a leap year, so 29 February passes here
    return ref


def _make(ref: _Ref, year: int) -> date | None:
    _, month, day = ref
    try:
        return date(year, month, day)
    except ValueError:
        if ref[0] is None and (month, day) == (2, 29):
            return None  # not a leap year; try the next
        when = f"{day} {MONTH_NAMES[month - 1]}" + (f" {ref[0]}" if ref[0] else "")
        raise _fail(f"{when} is not a date", "'5 December 09:00'") from None


def _first_date(ref: _Ref, first_year: int, ok: Callable[[date], bool]) -> date:
    """``ref``'s date itself, or without a year the first one from ``first_year`` on that is ok."""
    years = [ref[0]] if ref[0] is not None else list(range(first_year, first_year + 9))
    for year in years:
        d = _make(ref, year)
        if d is not None and ok(d):
            return d
    d = _make(ref, years[0])
    assert d is not None
    return d


def _clause_day(raw: str, today: date, ignore: frozenset[str], word: str) -> date:
    parts = _tokens(raw, ignore)
    ref = _date_ref(parts, today, raw)
    if ref is None or parts.times or parts.weekdays or parts.flags - {"today", "tomorrow"}:
        raise _fail(f"After {word!r} give a date, not {raw.strip()!r}", "'until 30 June 2026'")
    return _first_date(ref, today.year, lambda d: d >= today)


def _once(parts: _Parts, at: time, now: datetime, tz: str, text: str) -> Rule:
    local_now = wall(now, zone(tz))
    ref = _date_ref(parts, local_now.date(), text)
    if ref is None:
        raise _fail(f"{text!r} says once but gives no date", "'once 2026-12-05 09:00'")
    if (parts.nums and not parts.months) or parts.flags - {"once", "today", "tomorrow"}:
        raise _fail(f"{text!r} mixes a date with a repeat", "'on 5 December 09:00'")

    def future(d: date) -> bool:
        return to_utc(resolve(datetime.combine(d, at), zone(tz))) > to_utc(now)

    day = _first_date(ref, local_now.year, future)
    if len(set(parts.weekdays)) > 1 or (parts.weekdays and parts.weekdays[0] != day.weekday()):
        named = " and ".join(DAY_NAMES[d] for d in dict.fromkeys(parts.weekdays))
        raise _fail(f"{day_text(day)} is a {DAY_NAMES[day.weekday()]}, not {named}")
    if not future(day):
        raise _fail(f"{day_text(day)} at {at:%H:%M} has already passed; give a future date")
    return Rule("once", at=at, on=day, tz=tz)


def _repeat(parts: _Parts, at: time, tz: str, text: str) -> Rule:
    flags = parts.flags
    days = set(parts.weekdays)
    days |= set(range(5)) if flags & {"weekday", "weekdays"} else set()
    days |= {5, 6} if flags & {"weekend", "weekends"} else set()
    monthly = "monthly" in flags or "month" in flags
    every = bool(flags & {"every", "weekly", "week", "weekdays", "weekends"}) or parts.plural
    if monthly:
        day_nums = [31] if "last" in flags else parts.nums
        if len(day_nums) != 1 or days or not 1 <= day_nums[0] <= 31:
            raise _fail(f"Which day of the month (1 to 31) in {text!r}?", "'monthly 1 09:00'")
        return Rule("monthly", at=at, day=day_nums[0], tz=tz)
    if parts.nums:
        raise _fail(f"Did not understand the number {parts.nums[0]} in {text!r}")
    if days:
        if not every:
            raise _fail(
                f"Is {text!r} once or every week? Write 'every ...' for every week,"
                " or give a date for once",
                "'every Monday 10:00' or 'on 5 December 09:00'",
            )
        return Rule("weekly", at=at, weekdays=frozenset(days), tz=tz)
    if flags & {"daily", "everyday"} or {"every", "day"} <= flags:
        return Rule("daily", at=at, tz=tz)
    raise _fail(f"Could not tell when {text!r} should go out")


_CRON = re.compile(r"cron\s*(?P<q>['\"]?)(?P<expr>[^'\"(]*)(?P=q)\s*(?:\((?P<tz>[^)]*)\))?", re.I)


def _cron(text: str, tz: str) -> Rule:
    """``cron EXPR``, also quoted and followed by the zone as :func:`describe` writes it."""
    match = _CRON.fullmatch(text)
    expr = " ".join(match["expr"].lower().split()) if match else ""
    if not match or not expr:
        raise _fail("'cron' needs an expression after it", "'cron 0 10 * * mon'")
    if match["tz"] is not None and match["tz"].strip().lower() != tz.lower():
        raise _fail(f"This schedule's zone is {tz}, not {match['tz'].strip()}", f"'{text[:40]}'")
    return Rule("cron", cron=expr, tz=tz)


def _body(body: str, now: datetime, tz: str, ignore: frozenset[str], text: str) -> Rule:
    parts = _tokens(body, ignore)
    if not parts.times:
        raise _fail(f"No time of day in {text!r}; add one", "'every Monday 10:00' or '... at 6pm'")
    if len(parts.times) > 1:
        raise _fail(
            f"{text!r} has more than one time; make one schedule per time",
            "'cron 0 10,18 * * mon' for 10:00 and 18:00 every Monday",
        )
    at = parts.times[0]
    if parts.dates or parts.months or parts.flags & {"once", "today", "tomorrow"}:
        return _once(parts, at, now, tz, text)
    return _repeat(parts, at, tz, text)


def parse_rule(text: str, now: datetime, tz: str = DEFAULT_TZ) -> Rule:
    """The :class:`Rule` for what a coordinator typed (see the grammar above).

    ``now`` (aware) picks the year for dates written without one and rejects a ``once`` that
    has passed. :class:`RuleError` says what was not understood and shows an example.
    """
    require_aware(now, "now")
    try:
        zone_info = zone(tz)
    except ValueError as exc:
        raise RuleError(str(exc)) from None
    if not text.strip():
        raise _fail("Nothing to schedule: say when it should go out")
    labels = zone_labels(zone_info)
    ignore = frozenset({zone_label(labels, tz).lower(), *(label.lower() for label in labels)})
    body, *clauses = _CLAUSE.split(text.strip())
    today = wall(now, zone_info).date()
    bounds: dict[str, date] = {}
    for word, raw in zip(clauses[::2], clauses[1::2], strict=True):
        key = "start" if word.lower() in ("from", "starting") else "end"
        if key in bounds:
            raise _fail(f"{text!r} gives two {key} dates")
        bounds[key] = _clause_day(_lower(raw), today, ignore, word.lower())
    if re.match(r"\s*cron\b", body, re.I):
        rule = _cron(body.strip(), tz)
    else:
        rule = _body(_lower(body), now, tz, ignore, text)
    if not bounds:
        return rule
    return replace(rule, start=bounds.get("start"), end=bounds.get("end"))


def _lower(raw: str) -> str:
    return " ".join(raw.lower().replace(",", " , ").split())
