"""Schedule maths: parsing, fire times, descriptions, missed runs; tables and properties."""

from __future__ import annotations

import calendar
import json
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.schedule import (
    MissedPlan,
    Rule,
    RuleError,
    describe,
    format_fire,
    missed_runs,
    next_fire,
    next_fires,
    parse_rule,
    rule_from_dict,
    rule_to_dict,
)

PKT = ZoneInfo("Asia/Karachi")
LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=PKT)  # a Monday


def pkt(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=PKT)


def once(on: date, h: int, mi: int = 0, **kw: Any) -> Rule:
    return Rule("once", at=time(h, mi), on=on, **kw)


def daily(h: int, mi: int = 0, **kw: Any) -> Rule:
    return Rule("daily", at=time(h, mi), **kw)


def weekly(days: set[int], h: int, mi: int = 0, **kw: Any) -> Rule:
    return Rule("weekly", at=time(h, mi), weekdays=frozenset(days), **kw)


def monthly(day: int, h: int, mi: int = 0, **kw: Any) -> Rule:
    return Rule("monthly", at=time(h, mi), day=day, **kw)


def cron(expr: str, **kw: Any) -> Rule:
    return Rule("cron", cron=expr, **kw)


MON, TUE, WED, THU, FRI, SAT, SUN = range(7)

# --- parse_rule ------------------------------------------------------------------------------

PARSE = [
    ("once iso", "once 2026-12-05 09:00", once(date(2026, 12, 5), 9)),
    ("on day month", "on 5 December 09:00", once(date(2026, 12, 5), 9)),
    ("month day th year", "December 5th 2026 at 9:00", once(date(2026, 12, 5), 9)),
    ("passed this year: next", "on 1 March 9am", once(date(2027, 3, 1), 9)),
    ("later today", "on 1 June 17:00", once(date(2026, 6, 1), 17)),
    ("earlier today: next year", "on 1 June 11:00", once(date(2027, 6, 1), 11)),
    ("today", "today 17:00", once(date(2026, 6, 1), 17)),
    ("tomorrow noon", "tomorrow at noon", once(date(2026, 6, 2), 12)),
    ("29 feb: next leap year", "on 29 Feb 9am", once(date(2028, 2, 29), 9)),
    ("describe's once", "once on Sat 5 Dec 2026 at 09:00 PKT", once(date(2026, 12, 5), 9)),
    ("daily", "daily 10:00", daily(10)),
    ("every day at", "every day at 10:00", daily(10)),
    ("everyday am", "Everyday 10 AM", daily(10)),
    ("midnight", "daily at midnight", daily(0)),
    ("12am", "daily 12am", daily(0)),
    ("12pm", "daily 12pm", daily(12)),
    ("dotted pm", "daily 6.30 p.m.", daily(18, 30)),
    ("every monday", "every Monday 10:00", weekly({MON}, 10)),
    ("weekly list", "weekly mon,thu 18:30", weekly({MON, THU}, 18, 30)),
    ("every mon and thu 6pm", "every Mon and Thu at 6pm", weekly({MON, THU}, 18)),
    ("plural days", "Mondays and Thursdays at 6:30 pm", weekly({MON, THU}, 18, 30)),
    ("three days", "every Monday, Wednesday and Friday at 10:00", weekly({MON, WED, FRI}, 10)),
    ("weekdays", "every weekday 9am", weekly({MON, TUE, WED, THU, FRI}, 9)),
    ("weekday range", "every mon-fri 9am", weekly({MON, TUE, WED, THU, FRI}, 9)),
    ("range wraps", "every fri to mon 9am", weekly({FRI, SAT, SUN, MON}, 9)),
    ("weekends", "weekends at noon", weekly({SAT, SUN}, 12)),
    ("monthly n", "monthly 1 09:00", monthly(1, 9)),
    ("1st of every month", "on the 1st of every month at 9am", monthly(1, 9)),
    ("every month on the", "every month on the 15th at 10:00", monthly(15, 10)),
    ("last day", "monthly on the last day at 9am", monthly(31, 9)),
    ("cron", "cron 0 10 * * mon", cron("0 10 * * mon")),
    ("cron lowercased", "CRON 0 10 * * MON", cron("0 10 * * mon")),
    ("cron list keeps commas", "cron 0 10,18 * * mon", cron("0 10,18 * * mon")),
    ("describe's cron", "cron '*/15 9-17 * * *' (Asia/Karachi)", cron("*/15 9-17 * * *")),
    ("cron macro", "cron @weekly", cron("@weekly")),
    ("from until iso", "every day 10:00 from 2026-07-01 until 2026-07-31",
     daily(10, start=date(2026, 7, 1), end=date(2026, 7, 31))),
    ("until without year", "daily 10:00 until 30 June", daily(10, end=date(2026, 6, 30))),
    ("until passed: next year", "daily 10:00 till 1 March", daily(10, end=date(2027, 3, 1))),
    ("cron with bounds", "cron 0 9 * * * starting 2026-07-01",
     cron("0 9 * * *", start=date(2026, 7, 1))),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in PARSE], ids=[c[0] for c in PARSE])
def test_parse_rule(text: str, expected: Rule) -> None:
    assert parse_rule(text, NOW) == expected


PARSE_ERRORS = [
    ("empty", "  ", "Nothing to schedule"),
    ("no time", "every monday", "No time of day in 'every monday'"),
    ("once or weekly", "monday 10:00", "once or every week"),
    ("typo suggests", "every mondy 10:00", "did you mean 'monday'?"),
    ("past", "once 2020-01-01 09:00", "1 Jan 2020 at 09:00 has already passed"),
    ("not a date", "on 31 February 9am", "31 February is not a date"),
    ("not a leap year", "on 29 feb 2027 9am", "29 February 2027 is not a date"),
    ("bad iso", "once 2026-13-01 09:00", "2026-13-01 is not a date"),
    ("hour 25", "25:00 daily", "'25:00' is not a time of day"),
    ("13pm", "13pm daily", "13pm is not a time of day"),
    ("bare am", "am daily", "'am' needs an hour"),
    ("two times", "daily 10:00 18:00", "more than one time"),
    ("monthly without day", "monthly 10:00", "Which day of the month"),
    ("monthly day 32", "monthly 32 10:00", "Which day of the month"),
    ("wrong weekday", "on Monday 5 Dec 2026 9am", "5 Dec 2026 is a Saturday, not Monday"),
    ("hourly hint", "every hour at 10:00", "'cron 0 * * * *'"),
    ("fortnightly hint", "every 2 weeks 10:00", "Did not understand 'weeks'"),
    ("stray number", "every day 3 10:00", "Did not understand the number 3"),
    ("once without date", "once 10:00", "says once but gives no date"),
    ("date and repeat", "every day 5 December 10:00", "mixes a date with a repeat"),
    ("nothing but a time", "at 9am", "Could not tell when"),
    ("open range", "every mon- 9am", "needs an end"),
    ("range without start", "every - fri 9am", "must sit between two weekdays"),
    ("until a time", "daily 10:00 until noon", "After 'until' give a date"),
    ("two starts", "daily 10:00 from 2026-07-01 from 2026-08-01", "gives two start dates"),
    ("cron without expression", "cron", "needs an expression"),
    ("cron fields", "cron 0 10 * *", "5 fields"),
    ("cron field named", "cron 61 10 * * *", "minute field '61'"),
    ("cron never fires", "cron 0 0 30 2 *", "never fires"),
    ("cron other zone", "cron '0 10 * * *' (Europe/London)", "zone is Asia/Karachi"),
]


@pytest.mark.parametrize(
    ("text", "message"), [c[1:] for c in PARSE_ERRORS], ids=[c[0] for c in PARSE_ERRORS]
)
def test_parse_rule_errors_say_what_and_show_an_example(text: str, message: str) -> None:
    with pytest.raises(RuleError) as info:
        parse_rule(text, NOW)
    assert message in str(info.value)
    assert "example" in str(info.value).lower()


def test_parse_rule_errors_from_the_rule_itself() -> None:
    with pytest.raises(RuleError, match="start 2026-08-01 is after end 2026-07-01"):
        parse_rule("every day 10:00 until 2026-07-01 from 2026-08-01", NOW)


def test_parse_rule_zone() -> None:
    rule = parse_rule("every day 10:00 GMT/BST", NOW, tz="Europe/London")
    assert rule == daily(10, tz="Europe/London")
    with pytest.raises(RuleError, match="unknown time zone 'Mars/Base'"):
        parse_rule("every day 10:00", NOW, tz="Mars/Base")


def test_parse_rule_needs_an_aware_now() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_rule("daily 10:00", datetime(2026, 6, 1, 12))


# --- next_fires ------------------------------------------------------------------------------


def iso(*fires: datetime) -> list[str]:
    return [f.isoformat() for f in fires]


def london(y: int, mo: int, d: int, h: int, mi: int = 0, fold: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=LONDON, fold=fold)


NEXT = [
    ("daily later today", daily(18), pkt(2026, 6, 1, 12),
     ["2026-06-01T18:00:00+05:00", "2026-06-02T18:00:00+05:00", "2026-06-03T18:00:00+05:00"]),
    ("daily exactly at fire: strictly after", daily(12), pkt(2026, 6, 1, 12),
     ["2026-06-02T12:00:00+05:00", "2026-06-03T12:00:00+05:00", "2026-06-04T12:00:00+05:00"]),
    ("after given in UTC", daily(10), datetime(2026, 6, 1, 4, 59, tzinfo=UTC),
     ["2026-06-01T10:00:00+05:00", "2026-06-02T10:00:00+05:00", "2026-06-03T10:00:00+05:00"]),
    ("weekly across week boundary", weekly({MON, THU}, 18, 30), pkt(2026, 6, 5, 9),
     ["2026-06-08T18:30:00+05:00", "2026-06-11T18:30:00+05:00", "2026-06-15T18:30:00+05:00"]),
    ("weekly sunday from saturday", weekly({SUN}, 8), pkt(2026, 6, 6, 23, 59),
     ["2026-06-07T08:00:00+05:00", "2026-06-14T08:00:00+05:00", "2026-06-21T08:00:00+05:00"]),
    ("monthly 31 falls to month end", monthly(31, 9), pkt(2026, 1, 31, 10),
     ["2026-02-28T09:00:00+05:00", "2026-03-31T09:00:00+05:00", "2026-04-30T09:00:00+05:00"]),
    ("monthly 30 in a leap february", monthly(30, 9), pkt(2028, 1, 30, 10),
     ["2028-02-29T09:00:00+05:00", "2028-03-30T09:00:00+05:00", "2028-04-30T09:00:00+05:00"]),
    ("monthly 1 across year end", monthly(1, 9), pkt(2026, 11, 15),
     ["2026-12-01T09:00:00+05:00", "2027-01-01T09:00:00+05:00", "2027-02-01T09:00:00+05:00"]),
    ("once in future", once(date(2026, 12, 5), 9), NOW,
     ["2026-12-05T09:00:00+05:00"]),
    ("once in past", once(date(2026, 5, 5), 9), NOW, []),
    ("once exactly now", once(date(2026, 6, 1), 12), NOW, []),
    ("once outside its start", once(date(2026, 12, 5), 9, start=date(2027, 1, 1)), NOW, []),
    ("start in future", daily(10, start=date(2026, 7, 1)), NOW,
     ["2026-07-01T10:00:00+05:00", "2026-07-02T10:00:00+05:00", "2026-07-03T10:00:00+05:00"]),
    ("end cuts short", daily(10, end=date(2026, 6, 3)), NOW,
     ["2026-06-02T10:00:00+05:00", "2026-06-03T10:00:00+05:00"]),
    ("end passed", daily(10, end=date(2026, 5, 31)), NOW, []),
    ("cron steps and ranges", cron("*/20 9-10 * * *"), pkt(2026, 6, 1, 10, 30),
     ["2026-06-01T10:40:00+05:00", "2026-06-02T09:00:00+05:00", "2026-06-02T09:20:00+05:00"]),
    ("cron names", cron("30 18 * jan-mar mon-fri"), NOW,
     ["2027-01-01T18:30:00+05:00", "2027-01-04T18:30:00+05:00", "2027-01-05T18:30:00+05:00"]),
    ("cron dom or dow", cron("0 9 1 * mon"), pkt(2026, 6, 25),
     ["2026-06-29T09:00:00+05:00", "2026-07-01T09:00:00+05:00", "2026-07-06T09:00:00+05:00"]),
    ("cron leap day", cron("0 9 29 2 *"), pkt(2026, 3, 1),
     ["2028-02-29T09:00:00+05:00", "2032-02-29T09:00:00+05:00", "2036-02-29T09:00:00+05:00"]),
    ("cron sunday as 7", cron("0 8 * * 7"), NOW,
     ["2026-06-07T08:00:00+05:00", "2026-06-14T08:00:00+05:00", "2026-06-21T08:00:00+05:00"]),
    ("cron @monthly", cron("@monthly"), NOW,
     ["2026-07-01T00:00:00+05:00", "2026-08-01T00:00:00+05:00", "2026-09-01T00:00:00+05:00"]),
    ("cron with end", cron("0 9 * * *", end=date(2026, 6, 2)), NOW,
     ["2026-06-02T09:00:00+05:00"]),
    # Europe/London: clocks go 01:00 GMT -> 02:00 BST on 29 March 2026, and 02:00 BST -> 01:00
    # GMT on 25 October 2026.
    ("dst gap fires when clocks jump", daily(1, 30, tz="Europe/London"),
     london(2026, 3, 28, 12),
     ["2026-03-29T02:00:00+01:00", "2026-03-30T01:30:00+01:00", "2026-03-31T01:30:00+01:00"]),
    ("dst fold fires once, first time", daily(1, 30, tz="Europe/London"),
     london(2026, 10, 24, 12),
     ["2026-10-25T01:30:00+01:00", "2026-10-26T01:30:00+00:00", "2026-10-27T01:30:00+00:00"]),
    ("dst after in second pass of fold", daily(1, 30, tz="Europe/London"),
     london(2026, 10, 25, 1, 10, fold=1),
     ["2026-10-26T01:30:00+00:00", "2026-10-27T01:30:00+00:00", "2026-10-28T01:30:00+00:00"]),
    ("dst weekly keeps wall time", weekly({MON}, 10, tz="Europe/London"),
     london(2026, 3, 20, 12),
     ["2026-03-23T10:00:00+00:00", "2026-03-30T10:00:00+01:00", "2026-04-06T10:00:00+01:00"]),
    ("dst cron gap merges", cron("*/30 * * * *", tz="Europe/London"),
     london(2026, 3, 29, 0, 45),
     ["2026-03-29T02:00:00+01:00", "2026-03-29T02:30:00+01:00", "2026-03-29T03:00:00+01:00"]),
    ("dst cron fold", cron("*/30 * * * *", tz="Europe/London"),
     london(2026, 10, 25, 0, 45),
     ["2026-10-25T01:00:00+01:00", "2026-10-25T01:30:00+01:00", "2026-10-25T02:00:00+00:00"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "after", "expected"), [c[1:] for c in NEXT], ids=[c[0] for c in NEXT]
)
def test_next_fires(rule: Rule, after: datetime, expected: list[str]) -> None:
    assert iso(*next_fires(rule, after, 3)) == expected
    first = next_fire(rule, after)
    assert (first.isoformat() if first else None) == (expected[0] if expected else None)


def test_next_fires_count() -> None:
    rule = daily(10)
    assert len(next_fires(rule, NOW, 10)) == 10
    assert next_fires(rule, NOW, 0) == []


def test_next_fire_needs_an_aware_after() -> None:
    with pytest.raises(ValueError, match="after must be an aware datetime"):
        next_fire(daily(10), datetime(2026, 6, 1))


# --- describe --------------------------------------------------------------------------------

DESCRIBE = [
    ("weekly one day", weekly({MON}, 10), "every Monday at 10:00 PKT"),
    ("daily", daily(10), "every day at 10:00 PKT"),
    ("weekly two days", weekly({THU, MON}, 18, 30), "every Monday and Thursday at 18:30 PKT"),
    ("weekly three days", weekly({MON, WED, FRI}, 9),
     "every Monday, Wednesday and Friday at 09:00 PKT"),
    ("monthly 1st", monthly(1, 9), "on the 1st of every month at 09:00 PKT"),
    ("monthly 2nd", monthly(2, 9), "on the 2nd of every month at 09:00 PKT"),
    ("monthly 3rd", monthly(3, 9), "on the 3rd of every month at 09:00 PKT"),
    ("monthly 11th", monthly(11, 9), "on the 11th of every month at 09:00 PKT"),
    ("monthly 22nd", monthly(22, 9), "on the 22nd of every month at 09:00 PKT"),
    ("monthly 30th", monthly(30, 9),
     "on the 30th of every month (or its last day, if shorter) at 09:00 PKT"),
    ("monthly 31 is last day", monthly(31, 9), "on the last day of every month at 09:00 PKT"),
    ("once", once(date(2026, 12, 5), 9), "once on Sat 5 Dec 2026 at 09:00 PKT"),
    ("cron", cron("0 10 * * mon"), "cron '0 10 * * mon' (Asia/Karachi)"),
    ("bounds", daily(10, start=date(2026, 7, 1), end=date(2026, 7, 31)),
     "every day at 10:00 PKT from 1 Jul 2026 until 31 Jul 2026"),
    ("zone with summer time", daily(10, tz="Europe/London"), "every day at 10:00 GMT/BST"),
    ("once in summer", once(date(2026, 7, 1), 10, tz="Europe/London"),
     "once on Wed 1 Jul 2026 at 10:00 BST"),
    ("numeric abbreviation: zone name", daily(10, tz="Asia/Dubai"),
     "every day at 10:00 Asia/Dubai"),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "text"), [c[1:] for c in DESCRIBE], ids=[c[0] for c in DESCRIBE])
def test_describe(rule: Rule, text: str) -> None:
    assert describe(rule) == text


def test_format_fire() -> None:
    assert format_fire(pkt(2026, 6, 8, 10)) == "Mon 8 Jun 2026 10:00 PKT"
    assert format_fire(datetime(2026, 6, 8, 10, tzinfo=ZoneInfo("Asia/Dubai"))).endswith("UTC+0400")


# --- missed_runs -----------------------------------------------------------------------------

DAILY_10 = daily(10)
GRACE = timedelta(hours=6)
CREATED = pkt(2026, 1, 1)

MISSED = [
    ("none missed", DAILY_10, pkt(2026, 6, 1, 10), pkt(2026, 6, 1, 12), MissedPlan(None, [])),
    ("one within grace: send", DAILY_10, pkt(2026, 5, 31, 10), pkt(2026, 6, 1, 12),
     MissedPlan(pkt(2026, 6, 1, 10), [])),
    ("one beyond grace: missed", DAILY_10, pkt(2026, 5, 31, 10), pkt(2026, 6, 1, 17),
     MissedPlan(None, [pkt(2026, 6, 1, 10)])),
    ("age equal to grace: missed", DAILY_10, pkt(2026, 5, 31, 10), pkt(2026, 6, 1, 16),
     MissedPlan(None, [pkt(2026, 6, 1, 10)])),
    ("several: newest sent, rest missed", DAILY_10, pkt(2026, 5, 29, 10), pkt(2026, 6, 1, 11),
     MissedPlan(pkt(2026, 6, 1, 10), [pkt(2026, 5, 30, 10), pkt(2026, 5, 31, 10)])),
    ("several all old", DAILY_10, pkt(2026, 5, 29, 10), pkt(2026, 6, 1, 17),
     MissedPlan(None, [pkt(2026, 5, 30, 10), pkt(2026, 5, 31, 10), pkt(2026, 6, 1, 10)])),
    ("fire exactly at now is sent", DAILY_10, pkt(2026, 5, 31, 10), pkt(2026, 6, 1, 10),
     MissedPlan(pkt(2026, 6, 1, 10), [])),
    ("once within grace", once(date(2026, 6, 1), 9), None, pkt(2026, 6, 1, 12),
     MissedPlan(pkt(2026, 6, 1, 9), [])),
    ("once already fired", once(date(2026, 6, 1), 9), pkt(2026, 6, 1, 9),
     pkt(2026, 6, 1, 12), MissedPlan(None, [])),
    ("end passed long ago", daily(10, end=date(2026, 5, 30)), pkt(2026, 5, 30, 10),
     pkt(2026, 6, 1, 12), MissedPlan(None, [])),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "last_fired", "now", "expected"), [c[1:] for c in MISSED], ids=[c[0] for c in MISSED]
)
def test_missed_runs(
    rule: Rule, last_fired: datetime | None, now: datetime, expected: MissedPlan
) -> None:
    assert missed_runs(rule, last_fired, now, GRACE, since=CREATED) == expected


def test_missed_runs_never_fired_counts_from_since() -> None:
    plan = missed_runs(DAILY_10, None, pkt(2026, 6, 1, 11), GRACE, since=pkt(2026, 5, 31, 12))
    assert plan == MissedPlan(pkt(2026, 6, 1, 10), [])


def test_missed_runs_edit_after_last_fire_does_not_backfill() -> None:
    plan = missed_runs(
        DAILY_10, pkt(2026, 5, 20, 10), pkt(2026, 6, 1, 17), GRACE, since=pkt(2026, 5, 31, 12)
    )
    assert plan == MissedPlan(None, [pkt(2026, 6, 1, 10)])


def test_missed_runs_minutely_cron_long_outage_is_capped() -> None:
    plan = missed_runs(
        cron("* * * * *"), pkt(2026, 1, 1), pkt(2026, 6, 1, 12), GRACE, since=CREATED
    )
    assert plan.send_now == pkt(2026, 6, 1, 12)
    assert len(plan.missed) == 100
    assert plan.missed[0] == pkt(2026, 6, 1, 10, 20)
    assert plan.missed[-1] == pkt(2026, 6, 1, 11, 59)
    assert plan.truncated


def test_missed_runs_weekly_year_outage_lists_all() -> None:
    plan = missed_runs(weekly({MON}, 10), pkt(2025, 6, 2, 10), NOW, GRACE, since=pkt(2025, 1, 1))
    assert plan.send_now == pkt(2026, 6, 1, 10)
    assert len(plan.missed) == 51
    assert plan.missed[0] == pkt(2025, 6, 9, 10)
    assert not plan.truncated


@pytest.mark.parametrize(
    ("limit", "missed", "truncated"),
    [(2, [pkt(2026, 5, 30, 10), pkt(2026, 5, 31, 10)], True), (3, [pkt(2026, 5, 29, 10),
     pkt(2026, 5, 30, 10), pkt(2026, 5, 31, 10)], False), (0, [], True)],
    ids=["cut to newest", "exactly the limit", "limit zero"],
)  # fmt: skip
def test_missed_runs_limit(limit: int, missed: list[datetime], truncated: bool) -> None:
    plan = missed_runs(
        DAILY_10, pkt(2026, 5, 28, 10), pkt(2026, 6, 1, 11), GRACE, since=CREATED, limit=limit
    )
    assert plan == MissedPlan(pkt(2026, 6, 1, 10), missed, truncated)


def test_missed_runs_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="grace must not be negative"):
        missed_runs(DAILY_10, None, NOW, -GRACE, since=CREATED)
    with pytest.raises(ValueError, match="now must be an aware"):
        missed_runs(DAILY_10, None, datetime(2026, 6, 1), GRACE, since=CREATED)


# --- Rule and its stored form ----------------------------------------------------------------

BAD_RULES = [
    ("unknown kind", {"kind": "hourly", "at": time(10)}, "unknown kind 'hourly'"),
    ("weekly without days", {"kind": "weekly", "at": time(10)}, "missing weekdays"),
    ("daily with a day", {"kind": "daily", "at": time(10), "day": 3}, "day does not apply"),
    ("once without date", {"kind": "once", "at": time(10)}, "missing on"),
    ("cron with a time", {"kind": "cron", "cron": "* * * * *", "at": time(9)}, "at does not apply"),
    ("seconds", {"kind": "daily", "at": time(10, 0, 30)}, "whole minute"),
    ("weekday 7", {"kind": "weekly", "at": time(9), "weekdays": frozenset({7})}, "0 (Monday) to 6"),
    ("day 0", {"kind": "monthly", "at": time(10), "day": 0}, "1 to 31"),
    ("day 32", {"kind": "monthly", "at": time(10), "day": 32}, "1 to 31"),
    ("bad cron", {"kind": "cron", "cron": "* * *"}, "5 fields"),
    ("bad zone", {"kind": "daily", "at": time(10), "tz": "Asia/Nowhere"}, "unknown time zone"),
    ("start after end", {"kind": "daily", "at": time(10), "start": date(2026, 2, 1),
                         "end": date(2026, 1, 1)}, "is after end"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "message"), [c[1:] for c in BAD_RULES], ids=[c[0] for c in BAD_RULES]
)
def test_rule_checks_its_fields(fields: dict[str, object], message: str) -> None:
    with pytest.raises(RuleError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Rule(**fields)  # type: ignore[arg-type]


def test_rule_to_dict_is_readable() -> None:
    rule = weekly({THU, MON}, 18, 30, end=date(2026, 7, 1))
    assert rule_to_dict(rule) == {
        "kind": "weekly",
        "tz": "Asia/Karachi",
        "at": "18:30",
        "weekdays": ["mon", "thu"],
        "end": "2026-07-01",
    }


BAD_DICTS = [
    ("unknown key", {"kind": "daily", "at": "10:00", "every": 2}, "unknown keys ['every']"),
    ("weekday key", {"kind": "weekly", "at": "10:00", "weekdays": ["monday"]}, "keys like 'mon'"),
    ("bad time", {"kind": "daily", "at": "25:00"}, "'at' is not valid"),
    ("bad date", {"kind": "once", "at": "10:00", "on": "5 Dec"}, "'on' is not valid"),
    ("day as text", {"kind": "monthly", "at": "10:00", "day": "1"}, "'day' must be of type int"),
    ("day as bool", {"kind": "monthly", "at": "10:00", "day": True}, "'day' must be of type int"),
    ("no kind", {"at": "10:00"}, "unknown kind None"),
]


@pytest.mark.parametrize(
    ("data", "message"), [c[1:] for c in BAD_DICTS], ids=[c[0] for c in BAD_DICTS]
)
def test_rule_from_dict_rejects_bad_data(data: dict[str, object], message: str) -> None:
    with pytest.raises(RuleError) as info:
        rule_from_dict(data)
    assert message in str(info.value)


def test_rule_from_dict_defaults_the_zone() -> None:
    assert rule_from_dict({"kind": "daily", "at": "10:00"}) == daily(10)


# --- properties ------------------------------------------------------------------------------

times = st.builds(time, st.integers(0, 23), st.integers(0, 59))
days_2026_30 = st.dates(date(2026, 1, 1), date(2030, 12, 31))
weekday_sets = st.frozensets(st.integers(0, 6), min_size=1)
KARACHI = st.just("Asia/Karachi")
zones = st.sampled_from(["Asia/Karachi", "Europe/London", "America/New_York", "Asia/Dubai"])


@st.composite
def cron_fields(draw: st.DrawFn) -> tuple[str, list[frozenset[int]]]:
    """A cron expression and, independently of the parser, the values each field allows."""
    bounds = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)]
    months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    names = [None, None, None, months, ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]]
    texts, sets = [], []
    for (lo, hi), field_names in zip(bounds, names, strict=True):
        kind = draw(st.sampled_from(["star", "step", "range", "list"]))
        if kind == "star":
            text, values = "*", set(range(lo, hi + 1))
        elif kind == "step":
            step = draw(st.integers(1, hi - lo + 1))
            text, values = f"*/{step}", set(range(lo, hi + 1, step))
        elif kind == "range":
            a, b = sorted(draw(st.lists(st.integers(lo, hi), min_size=2, max_size=2)))
            step = draw(st.integers(1, 5))
            named = field_names is not None and step == 1 and draw(st.booleans())
            first, last = (field_names[a - lo], field_names[b - lo]) if named else (a, b)
            text, values = (
                f"{first}-{last}" + (f"/{step}" if step > 1 else ""),
                set(range(a, b + 1, step)),
            )
        else:
            chosen = draw(st.lists(st.integers(lo, hi), min_size=1, max_size=4))
            text, values = ",".join(map(str, chosen)), set(chosen)
        texts.append(text)
        sets.append(frozenset(values))
    return " ".join(texts), sets


@st.composite
def rules(draw: st.DrawFn, tz: st.SearchStrategy[str] = KARACHI) -> Rule:
    kind = draw(st.sampled_from(["once", "daily", "weekly", "monthly", "cron"]))
    zone_name = draw(tz)
    start, end = sorted(draw(st.lists(st.one_of(st.none(), days_2026_30), min_size=2, max_size=2)),
                        key=lambda d: d or date.min)  # fmt: skip
    if start is None and end is not None and draw(st.booleans()):
        start, end = end, None
    common: dict[str, Any] = {"tz": zone_name, "start": start, "end": end}
    if kind == "once":
        return Rule("once", on=draw(days_2026_30), at=draw(times), **common)
    if kind == "daily":
        return Rule("daily", at=draw(times), **common)
    if kind == "weekly":
        return Rule("weekly", at=draw(times), weekdays=draw(weekday_sets), **common)
    if kind == "monthly":
        return Rule("monthly", at=draw(times), day=draw(st.integers(1, 31)), **common)
    expr = draw(st.sampled_from(["0 10 * * mon", "*/15 9-17 * * mon-fri", "30 8 1,15 * *",
                                 "0 0 29 2 *", "45 23 * dec sun", "@daily"]))  # fmt: skip
    return cron(expr, **common)


afters = st.datetimes(datetime(2025, 6, 1), datetime(2031, 6, 1), timezones=st.just(PKT))


def _matches(rule: Rule, fire: datetime) -> bool:
    """The rule re-stated without the code under test (for zones without DST)."""
    local = fire.astimezone(ZoneInfo(rule.tz))
    d, t = local.date(), local.time().replace(tzinfo=None)
    if (rule.start and d < rule.start) or (rule.end and d > rule.end):
        return False
    if rule.kind == "once":
        return (d, t) == (rule.on, rule.at)
    if rule.kind == "daily":
        return t == rule.at
    if rule.kind == "weekly":
        return d.weekday() in rule.weekdays and t == rule.at
    if rule.kind == "monthly":
        assert rule.day is not None
        return d.day == min(rule.day, calendar.monthrange(d.year, d.month)[1]) and t == rule.at
    return True  # cron: see test_cron_fires_match_fields


def _reference_next(rule: Rule, after: datetime) -> datetime | None:
    """Brute force over days: the first matching wall time after ``after`` (no DST zones)."""
    local = after.astimezone(ZoneInfo(rule.tz))
    assert rule.at is not None
    first = max(local.date(), rule.start or local.date())
    if rule.kind == "once":
        assert rule.on is not None
        first = rule.on
    for offset in range(0, 40):
        d = first + timedelta(days=offset)
        candidate = datetime.combine(d, rule.at, tzinfo=ZoneInfo(rule.tz))
        if candidate > local and _matches(rule, candidate):
            return candidate
    return None


@settings(max_examples=300, deadline=None)
@given(rule=rules(), after=afters)
def test_next_fires_are_increasing_later_and_match(rule: Rule, after: datetime) -> None:
    fires = next_fires(rule, after, 5)
    utc = [f.astimezone(UTC) for f in fires]
    assert all(a < b for a, b in pairwise(utc))
    assert all(f > after.astimezone(UTC) for f in utc)
    assert all(f.tzinfo == ZoneInfo(rule.tz) for f in fires)
    assert all(_matches(rule, f) for f in fires)
    if rule.kind != "cron":
        expected = _reference_next(rule, after)
        if expected is not None or fires:
            assert (fires[0] if fires else None) == expected
        for previous, fire in pairwise(fires):
            assert _reference_next(rule, previous) == fire


def _cron_day(sets: list[frozenset[int]], text: str, d: date) -> bool:
    _, _, doms, months, dows = sets
    dom_star, dow_star = text.split()[2].startswith("*"), text.split()[4].startswith("*")
    dom, dow = d.day in doms, (d.weekday() + 1) % 7 in dows
    if d.month not in months:
        return False
    return dom and dow if dom_star or dow_star else dom or dow


@settings(max_examples=300, deadline=None)
@given(fields=cron_fields(), after=afters)
def test_cron_fires_match_fields(fields: tuple[str, list[frozenset[int]]], after: datetime) -> None:
    text, sets = fields
    minutes, hours, doms, months, _ = sets
    never = text.split()[4].startswith("*") and all(
        min(doms) > calendar.monthrange(2028, m)[1] for m in months
    )
    if never:
        with pytest.raises(RuleError, match="never fires"):
            cron(text)
        return
    fires = next_fires(cron(text), after, 3)
    assert fires
    for fire in fires:
        assert fire.minute in minutes and fire.hour in hours and fire.second == 0
        assert _cron_day(sets, text, fire.date())
    # The first fire is the earliest matching minute after `after`.
    local = after.astimezone(PKT).replace(tzinfo=None)
    d = local.date()
    while not _cron_day(sets, text, d):
        d += timedelta(days=1)
    first_day_times = sorted(time(h, m) for h in hours for m in minutes)
    if d == local.date():
        later = [t for t in first_day_times if datetime.combine(d, t) > local]
        if not later:
            d += timedelta(days=1)
            while not _cron_day(sets, text, d):
                d += timedelta(days=1)
            later = first_day_times
    else:
        later = first_day_times
    assert fires[0] == datetime.combine(d, later[0], tzinfo=PKT)


def _transition(fire: datetime) -> bool:
    return (fire - timedelta(seconds=1)).astimezone(fire.tzinfo).utcoffset() != fire.utcoffset()


@settings(max_examples=300, deadline=None)
@given(
    rule=rules(st.just("Europe/London")),
    after=st.datetimes(datetime(2026, 3, 20), datetime(2026, 11, 1), timezones=st.just(LONDON)),
)
def test_next_fires_across_dst(rule: Rule, after: datetime) -> None:
    fires = next_fires(rule, after, 4)
    utc = [f.astimezone(UTC) for f in fires]
    assert all(a < b for a, b in pairwise(utc))
    assert all(f > after.astimezone(UTC) for f in utc)
    # Each is a matching wall time, or the moment the clocks jumped over one.
    assert all(_matches(rule, f) or _transition(f) for f in fires)


@given(rule=rules(zones))
def test_rule_dict_round_trip(rule: Rule) -> None:
    stored = json.loads(json.dumps(rule_to_dict(rule)))
    assert rule_from_dict(stored) == rule


@settings(max_examples=300)
@given(rule=rules())
def test_describe_parses_back(rule: Rule) -> None:
    if rule.kind == "monthly" and rule.day in (29, 30):
        return  # its month-end note is for people, not the parser
    if rule.kind == "once" and rule.on is not None and rule.on <= NOW.date():
        return  # parse_rule rejects a once that has passed
    assert parse_rule(describe(rule), NOW) == rule


def test_latest_fire_is_the_run_a_late_job_stands_for() -> None:
    from bot.core.schedule import latest_fire

    rule = Rule(kind="daily", at=time(10, 0))  # 05:00 UTC in Karachi
    on_time = datetime(2026, 11, 25, 5, 0, tzinfo=UTC)
    assert latest_fire(rule, on_time, timedelta(hours=6)) == on_time
    late = on_time + timedelta(minutes=3)
    assert latest_fire(rule, late, timedelta(hours=6)) == on_time
    # Too late for the window: no run.
    assert latest_fire(rule, on_time + timedelta(hours=7), timedelta(hours=6)) is None
    # Just before the time: nothing yet.
    assert latest_fire(rule, on_time - timedelta(seconds=1), timedelta(hours=6)) is None
