"""Cron expression parsing and day matching, as tables of labelled cases."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.core.cron import CronError, parse_cron

ALL_MIN, ALL_HOUR = frozenset(range(60)), frozenset(range(24))
ALL_DOM, ALL_MONTH, ALL_DOW = frozenset(range(1, 32)), frozenset(range(1, 13)), frozenset(range(7))

PARSE = [
    ("all stars", "* * * * *", (ALL_MIN, ALL_HOUR, ALL_DOM, ALL_MONTH, ALL_DOW)),
    ("single values", "0 10 * * mon", ({0}, {10}, ALL_DOM, ALL_MONTH, {0})),
    ("step from star", "*/15 * * * *", ({0, 15, 30, 45}, ALL_HOUR, ALL_DOM, ALL_MONTH, ALL_DOW)),
    ("range with step", "0 9-17/4 * * *", ({0}, {9, 13, 17}, ALL_DOM, ALL_MONTH, ALL_DOW)),
    ("start with step", "5/20 * * * *", ({5, 25, 45}, ALL_HOUR, ALL_DOM, ALL_MONTH, ALL_DOW)),
    ("list", "0,30 8,20 1,15 * *", ({0, 30}, {8, 20}, {1, 15}, ALL_MONTH, ALL_DOW)),
    ("month names", "0 0 1 jan,JUL *", ({0}, {0}, {1}, {1, 7}, ALL_DOW)),
    ("month name range", "0 0 1 oct-dec *", ({0}, {0}, {1}, {10, 11, 12}, ALL_DOW)),
    ("weekday range", "0 9 * * mon-fri", ({0}, {9}, ALL_DOM, ALL_MONTH, {0, 1, 2, 3, 4})),
    ("sunday is 0", "0 9 * * 0", ({0}, {9}, ALL_DOM, ALL_MONTH, {6})),
    ("sunday is 7", "0 9 * * 7", ({0}, {9}, ALL_DOM, ALL_MONTH, {6})),
    ("sat-sun", "0 9 * * sat-sun", ({0}, {9}, ALL_DOM, ALL_MONTH, {5, 6})),
    ("weekday step", "0 9 * * */2", ({0}, {9}, ALL_DOM, ALL_MONTH, {6, 1, 3, 5})),
    ("@daily", "@daily", ({0}, {0}, ALL_DOM, ALL_MONTH, ALL_DOW)),
    ("@weekly is sunday", "@weekly", ({0}, {0}, ALL_DOM, ALL_MONTH, {6})),
    ("@hourly", "@hourly", ({0}, ALL_HOUR, ALL_DOM, ALL_MONTH, ALL_DOW)),
    ("extra spaces", "  0   10 *  * MON ", ({0}, {10}, ALL_DOM, ALL_MONTH, {0})),
]


@pytest.mark.parametrize(("text", "fields"), [c[1:] for c in PARSE], ids=[c[0] for c in PARSE])
def test_parse_cron_fields(text: str, fields: tuple[frozenset[int], ...]) -> None:
    cron = parse_cron(text)
    assert (cron.minutes, cron.hours, cron.days, cron.months, cron.weekdays) == tuple(
        frozenset(f) for f in fields
    )


ERRORS = [
    ("four fields", "0 10 * *", "5 fields"),
    ("six fields", "0 0 10 * * mon", "5 fields"),
    ("minute out of range", "60 * * * *", "minute field '60': 60 is out of range 0-59"),
    ("hour out of range", "0 24 * * *", "hour field '24'"),
    ("day 0", "0 0 0 * *", "day-of-month field '0'"),
    ("month 13", "0 0 1 13 *", "month field '13'"),
    ("weekday 8", "0 0 * * 8", "day-of-week field '8'"),
    ("unknown name", "0 0 * * funday", "'funday' is not a number or a name"),
    ("month name in weekday", "0 0 * * jan", "'jan' is not a number"),
    ("backwards range", "0 0 * * fri-mon", "goes backwards"),
    ("zero step", "*/0 * * * *", "step '0'"),
    ("empty list item", "0,,5 * * * *", "empty item"),
    ("quartz L", "0 0 L * *", "'l' is not a number"),
    ("quartz ?", "0 0 ? * mon", "'?' is not a number"),
    ("never fires", "0 0 30 2 *", "never fires"),
    ("unknown macro", "@fortnightly", "unknown cron macro"),
    ("empty", "", "5 fields"),
]


@pytest.mark.parametrize(("text", "message"), [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_parse_cron_errors(text: str, message: str) -> None:
    with pytest.raises(CronError) as info:
        parse_cron(text)
    assert message in str(info.value)


DAYS = [
    # Vixie cron: both day fields restricted -> either matches.
    ("dom or dow: the 1st", "0 9 1 * mon", date(2026, 7, 1), True),
    ("dom or dow: a Monday", "0 9 1 * mon", date(2026, 7, 6), True),
    ("dom or dow: neither", "0 9 1 * mon", date(2026, 7, 7), False),
    # One of them a star (even with a step) -> both must match.
    ("dom only", "0 9 1 * *", date(2026, 7, 6), False),
    ("dow only", "0 9 * * mon", date(2026, 7, 1), False),
    ("starred step dom ands", "0 9 */2 * mon", date(2026, 7, 6), False),
    ("starred step dom ands, both", "0 9 */2 * mon", date(2026, 7, 13), True),
    ("month filters", "0 9 * jan *", date(2026, 7, 1), False),
    ("leap day", "0 9 29 2 *", date(2028, 2, 29), True),
]


@pytest.mark.parametrize(
    ("text", "day", "expected"), [c[1:] for c in DAYS], ids=[c[0] for c in DAYS]
)
def test_day_matches(text: str, day: date, expected: bool) -> None:
    assert parse_cron(text).day_matches(day) is expected


def test_matches_checks_minute_and_hour() -> None:
    cron = parse_cron("*/30 9 * * *")
    assert cron.matches(datetime(2026, 7, 1, 9, 30))
    assert not cron.matches(datetime(2026, 7, 1, 9, 31))
    assert not cron.matches(datetime(2026, 7, 1, 10, 0))


def test_times_are_sorted_products() -> None:
    assert [t.strftime("%H:%M") for t in parse_cron("45,15 18,9 * * *").times] == [
        "09:15",
        "09:45",
        "18:15",
        "18:45",
    ]
