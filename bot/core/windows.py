"""Quiet hours for SMS: the daily window in which SMS may be sent.

A :class:`SendWindow` is the *open* part of the day, ``[start, end)`` in local wall-clock
time. When ``start`` is later than ``end`` the window crosses midnight (``22:00``-``06:00``
is open from 22:00 until 06:00 the next morning); when they are equal it never closes.
Quiet hours are the complement: :meth:`SendWindow.from_quiet_hours` turns "quiet 21:00-09:00"
into the window 09:00-21:00.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from bot.core._walltime import require_aware, resolve, to_utc, wall, zone

DEFAULT_TZ = "Asia/Karachi"


@dataclass(frozen=True, slots=True)
class SendWindow:
    """SMS may go out from ``start`` (inclusive) to ``end`` (exclusive), local time in ``tz``."""

    start: time = time(9, 0)
    end: time = time(21, 0)
    tz: str = DEFAULT_TZ

    def __post_init__(self) -> None:
        zone(self.tz)  # ValueError for an unknown zone
        for name, value in (("start", self.start), ("end", self.end)):
            if value.tzinfo is not None:
                raise ValueError(f"{name} {value} must be a wall-clock time without a zone")

    @classmethod
    def from_quiet_hours(
        cls, quiet_start: time, quiet_end: time, tz: str = DEFAULT_TZ
    ) -> SendWindow:
        """The window outside quiet hours: quiet 21:00-09:00 gives the window 09:00-21:00."""
        return cls(start=quiet_end, end=quiet_start, tz=tz)

    @property
    def always_open(self) -> bool:
        return self.start == self.end


def _open_at(window: SendWindow, local: time) -> bool:
    if window.start == window.end:
        return True
    if window.start < window.end:
        return window.start <= local < window.end
    return local >= window.start or local < window.end  # crosses midnight


def in_send_window(window: SendWindow, now: datetime) -> bool:
    """True when SMS may be sent at ``now`` (aware; any zone)."""
    require_aware(now, "now")
    return _open_at(window, wall(now, zone(window.tz)).time())


def next_window_open(window: SendWindow, now: datetime) -> datetime:
    """``now`` (in the window's zone) when the window is open, else the moment it next opens.

    DST-safe: an opening time the clocks skip opens when they jump (unless the whole window is
    skipped: then the next day); one they pass twice opens at whichever occurrence comes first
    after ``now``.
    """
    require_aware(now, "now")
    tz = zone(window.tz)
    if in_send_window(window, now):
        return to_utc(now).astimezone(tz)
    local = wall(now, tz)
    for days in range(3):
        day = local.date() + timedelta(days=days)
        for fold in (0, 1):
            opening = resolve(datetime.combine(day, window.start).replace(fold=fold), tz)
            # A window lying wholly inside a DST gap does not open that night.
            if to_utc(opening) > to_utc(now) and _open_at(window, wall(opening, tz).time()):
                return opening
    raise AssertionError("a daily window opens within three days")  # pragma: no cover


# -- Office hours: when a person at the park answers ------------------------------------------

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class OfficeHours:
    """The park's office is open from ``start`` to ``end`` (local time in ``tz``) on ``days``
    (0 = Monday … 6 = Sunday). ``start`` must be before ``end``."""

    start: time = time(9, 0)
    end: time = time(17, 0)
    days: frozenset[int] = frozenset(range(6))
    tz: str = DEFAULT_TZ

    def __post_init__(self) -> None:
        zone(self.tz)  # ValueError for an unknown zone
        if not self.start < self.end:
            raise ValueError(f"office hours must start before they end ({self.start}-{self.end})")
        if not self.days or not self.days <= set(range(7)):
            raise ValueError("office days must name at least one day of the week")


def in_office_hours(hours: OfficeHours, now: datetime) -> bool:
    """True when the office is open at ``now`` (aware; any zone)."""
    require_aware(now, "now")
    local = wall(now, zone(hours.tz))
    return local.weekday() in hours.days and hours.start <= local.time() < hours.end


def parse_office_hours(text: str) -> tuple[time, time]:
    """``"09:00-17:00"`` -> (09:00, 17:00); ValueError saying what is wrong otherwise."""
    wrong = ValueError(f"{text!r} is not office hours such as 09:00-17:00")
    parts = text.replace(" ", "").split("-")
    if len(parts) != 2:
        raise wrong
    try:
        start, end = (_clock(p) for p in parts)
    except ValueError:
        raise wrong from None
    if not start < end:
        raise ValueError(f"office hours {text!r} must start before they end")
    return start, end


def _clock(text: str) -> time:
    """``"9"``, ``"9:30"`` or ``"09:30"`` -> a time; ValueError otherwise."""
    hour, _, minute = text.partition(":")
    if not hour.isdigit() or not (minute.isdigit() or not minute) or len(minute) not in (0, 2):
        raise ValueError(text)
    return time(int(hour), int(minute or 0))


def parse_office_days(text: str) -> frozenset[int]:
    """``"mon-sat"``, ``"mon,wed,fri"`` or ``"sun-thu"`` -> weekday numbers (0 = Monday)."""
    days: set[int] = set()
    for item in text.lower().replace(" ", "").split(","):
        ends = item.split("-")
        if len(ends) > 2 or any(e[:3] not in _DAYS or not e for e in ends):
            raise ValueError(f"{text!r} is not office days such as mon-sat or mon,wed,fri")
        first, last = _DAYS.index(ends[0][:3]), _DAYS.index(ends[-1][:3])
        span = (last - first) % 7
        days.update((first + i) % 7 for i in range(span + 1))
    return frozenset(days)
