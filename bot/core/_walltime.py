"""Local wall-clock times and the instants they name, safe across DST changes.

Comparing or subtracting two aware datetimes that share a ``ZoneInfo`` ignores ``fold`` and
the offset (Python compares their wall clocks), so every comparison here goes through UTC.

A wall time inside a DST gap (01:30 on the night London goes 01:00 -> 02:00) names no
instant; :func:`resolve` maps it to the end of the gap, the moment the clocks jump. A wall
time inside a fold (01:30 on the night the clocks go back) names two instants; ``fold``
picks one, 0 being the first.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(tz: str) -> ZoneInfo:
    """The time zone called ``tz``; ``ValueError`` naming it when there is no such zone."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"unknown time zone {tz!r}; for example 'Asia/Karachi'") from None


def require_aware(dt: datetime, name: str) -> None:
    """``ValueError`` when ``dt`` has no time zone: a naive time is ambiguous here."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (with a time zone), got {dt!r}")


def to_utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)


def wall(dt: datetime, tz: ZoneInfo) -> datetime:
    """The naive local wall-clock time of the instant ``dt`` in ``tz``."""
    # Through UTC: ``astimezone`` to a datetime's own tzinfo returns it unchanged, gap or not.
    return to_utc(dt).astimezone(tz).replace(tzinfo=None)


def resolve(local: datetime, tz: ZoneInfo) -> datetime:
    """The instant the naive wall time ``local`` names in ``tz``, as an aware datetime in ``tz``.

    In a fold ``local.fold`` picks the occurrence; in a gap the result is the end of the gap.
    """
    aware = local.replace(tzinfo=tz)
    if wall(aware, tz) == local:
        return aware
    # In a gap: fold=1 reads the wall time with the offset after the change (an instant before
    # it), fold=0 with the offset before (an instant after it). The change lies in between.
    before = to_utc(local.replace(tzinfo=tz, fold=1))
    after = to_utc(local.replace(tzinfo=tz, fold=0))
    if after < before:  # a gap created by the clocks going back cannot happen, but be safe
        before, after = after, before
    late_offset = after.astimezone(tz).utcoffset()
    second = timedelta(seconds=1)
    while after - before > second:
        mid = before + (after - before) // 2
        mid = mid.replace(microsecond=0)
        if mid <= before:
            break
        if mid.astimezone(tz).utcoffset() == late_offset:
            after = mid
        else:
            before = mid
    return after.astimezone(tz)
