"""Schedules said back in words: :func:`describe` ("every Monday at 10:00 PKT") and
:func:`format_fire` ("Mon 8 Jun 2026 10:00 PKT").

English names are spelled out here rather than taken from ``strftime``, whose ``%a``/``%b``
follow the process locale. :func:`describe`'s output parses back to the same rule with
:func:`bot.core.rule_parse.parse_rule`, except the month-end note on days 29 and 30.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.core._walltime import resolve, zone
from bot.core.rule import Rule

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip

# The zone's abbreviations under its current rules: zoneinfo extends a zone past its last
# listed change with the POSIX rule at the end of the file, which is today's rule.
_FUTURE = (datetime(2200, 1, 1), datetime(2200, 7, 1))


def zone_labels(tz: ZoneInfo) -> list[str]:
    """The zone's abbreviations under its current rules: ``["PKT"]``, ``["GMT", "BST"]``."""
    return list(dict.fromkeys(tz.tzname(d) or "" for d in _FUTURE))


def zone_label(names: list[str], key: str) -> str:
    """``PKT``, ``GMT/BST``; the zone's name where it has only numeric abbreviations."""
    if all(n[:1].isalpha() for n in names):
        return "/".join(names)
    return key


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def day_text(d: date) -> str:
    """``5 Dec 2026``."""
    return f"{d.day} {MONTH_NAMES[d.month - 1][:3]} {d.year}"


def format_fire(fire: datetime) -> str:
    """A fire time for people, in its own zone: "Mon 8 Jun 2026 10:00 PKT"."""
    label = fire.tzname() or ""
    zone_text = label if label[:1].isalpha() else fire.strftime("UTC%z")
    return f"{DAY_NAMES[fire.weekday()][:3]} {day_text(fire.date())} {fire:%H:%M} {zone_text}"


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def describe(rule: Rule) -> str:
    """The rule in words, e.g. "every Monday and Thursday at 18:30 PKT".

    The zone is named by its abbreviation ("PKT", "GMT/BST" for a zone with summer time), or by
    its name when it has only numeric ones. Start and end dates follow as "from"/"until".
    """
    tz = zone(rule.tz)
    label = zone_label(zone_labels(tz), rule.tz)
    at = f"{rule.at:%H:%M}" if rule.at else ""
    if rule.kind == "cron":
        text = f"cron '{rule.cron}' ({rule.tz})"
    elif rule.kind == "once":
        assert rule.on is not None and rule.at is not None
        fire = resolve(datetime.combine(rule.on, rule.at), tz)
        label = zone_label([fire.tzname() or ""], rule.tz)
        day = DAY_NAMES[rule.on.weekday()][:3]
        text = f"once on {day} {day_text(rule.on)} at {at} {label}"
    elif rule.kind == "daily":
        text = f"every day at {at} {label}"
    elif rule.kind == "weekly":
        text = f"every {_join([DAY_NAMES[d] for d in sorted(rule.weekdays)])} at {at} {label}"
    else:
        assert rule.day is not None
        if rule.day == 31:
            text = f"on the last day of every month at {at} {label}"
        else:
            note = " (or its last day, if shorter)" if rule.day >= 29 else ""
            text = f"on the {_ordinal(rule.day)} of every month{note} at {at} {label}"
    if rule.start:
        text += f" from {day_text(rule.start)}"
    if rule.end:
        text += f" until {day_text(rule.end)}"
    return text
