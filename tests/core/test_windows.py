"""SMS send windows (quiet hours): tables of labelled cases and properties."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.windows import SendWindow, in_send_window, next_window_open

PKT = ZoneInfo("Asia/Karachi")
LONDON = ZoneInfo("Europe/London")
DAY = SendWindow()  # 09:00-21:00 Asia/Karachi
NIGHT = SendWindow(start=time(22), end=time(6))  # crosses midnight


def pkt(h: int, mi: int = 0, s: int = 0, d: int = 1) -> datetime:
    return datetime(2026, 6, d, h, mi, s, tzinfo=PKT)


IN_WINDOW = [
    ("before opening", DAY, pkt(8, 59, 59), False),
    ("opening is inclusive", DAY, pkt(9), True),
    ("midday", DAY, pkt(13), True),
    ("last second", DAY, pkt(20, 59, 59), True),
    ("closing is exclusive", DAY, pkt(21), False),
    ("midnight", DAY, pkt(0), False),
    ("now given in UTC", DAY, datetime(2026, 6, 1, 4, 0, tzinfo=UTC), True),
    ("UTC evening is PKT night", DAY, datetime(2026, 6, 1, 16, 0, tzinfo=UTC), False),
    ("night window late evening", NIGHT, pkt(23), True),
    ("night window opening", NIGHT, pkt(22), True),
    ("night window after midnight", NIGHT, pkt(5, 59), True),
    ("night window closes", NIGHT, pkt(6), False),
    ("night window midday", NIGHT, pkt(12), False),
    ("equal ends: always open", SendWindow(time(9), time(9)), pkt(3), True),
]


@pytest.mark.parametrize(
    ("window", "now", "expected"), [c[1:] for c in IN_WINDOW], ids=[c[0] for c in IN_WINDOW]
)
def test_in_send_window(window: SendWindow, now: datetime, expected: bool) -> None:
    assert in_send_window(window, now) is expected


def london(d: int, h: int, mi: int = 0, month: int = 3, fold: int = 0) -> datetime:
    return datetime(2026, month, d, h, mi, tzinfo=LONDON, fold=fold)


EARLY_LONDON = SendWindow(time(1, 30), time(5), "Europe/London")

NEXT_OPEN = [
    ("open: now", DAY, pkt(10), "2026-06-01T10:00:00+05:00"),
    ("open, given in UTC: now in PKT", DAY, datetime(2026, 6, 1, 5, tzinfo=UTC),
     "2026-06-01T10:00:00+05:00"),
    ("before opening: today", DAY, pkt(7, 30), "2026-06-01T09:00:00+05:00"),
    ("after closing: tomorrow", DAY, pkt(21), "2026-06-02T09:00:00+05:00"),
    ("just before midnight: tomorrow", DAY, pkt(23, 59), "2026-06-02T09:00:00+05:00"),
    ("night window closed midday: tonight", NIGHT, pkt(12), "2026-06-01T22:00:00+05:00"),
    ("night window open after midnight", NIGHT, pkt(1), "2026-06-01T01:00:00+05:00"),
    ("opening skipped by DST: when clocks jump", EARLY_LONDON, london(29, 0, 10),
     "2026-03-29T02:00:00+01:00"),
    ("window wholly in the DST gap: next day", SendWindow(time(1), time(1, 15), "Europe/London"),
     london(29, 0, 10), "2026-03-30T01:00:00+01:00"),
    ("opening passed twice: the second time", EARLY_LONDON, london(25, 1, 10, month=10, fold=1),
     "2026-10-25T01:30:00+00:00"),
    ("opening passed twice: the first time", EARLY_LONDON, london(25, 0, 10, month=10),
     "2026-10-25T01:30:00+01:00"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("window", "now", "expected"), [c[1:] for c in NEXT_OPEN], ids=[c[0] for c in NEXT_OPEN]
)
def test_next_window_open(window: SendWindow, now: datetime, expected: str) -> None:
    assert next_window_open(window, now).isoformat() == expected


def test_quiet_hours_are_the_complement() -> None:
    assert SendWindow.from_quiet_hours(time(21), time(9)) == SendWindow(time(9), time(21))
    assert SendWindow.from_quiet_hours(time(6), time(22)) == NIGHT


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: SendWindow(tz="Mars/Base"), "unknown time zone"),
        (lambda: SendWindow(start=time(9, tzinfo=UTC)), "without a zone"),
        (lambda: in_send_window(DAY, datetime(2026, 6, 1, 12)), "aware"),
        (lambda: next_window_open(DAY, datetime(2026, 6, 1, 12)), "aware"),
    ],
    ids=["bad zone", "aware time", "naive now", "naive now for next"],
)
def test_bad_input(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()  # type: ignore[operator]


clock = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
windows = st.builds(SendWindow, clock, clock, st.sampled_from(["Asia/Karachi", "Europe/London"]))
# A year of moments, and the two London nights when the clocks change.
moments = st.one_of(
    st.datetimes(datetime(2026, 1, 1), datetime(2027, 1, 1), timezones=st.sampled_from([PKT, UTC])),
    st.datetimes(datetime(2026, 3, 28, 22), datetime(2026, 3, 29, 4), timezones=st.just(UTC)),
    st.datetimes(datetime(2026, 10, 24, 22), datetime(2026, 10, 25, 4), timezones=st.just(UTC)),
)


@settings(max_examples=500)
@given(window=windows, now=moments)
def test_next_window_open_is_the_first_open_moment(window: SendWindow, now: datetime) -> None:
    opening = next_window_open(window, now)
    assert in_send_window(window, opening)
    assert opening.astimezone(UTC) >= now.astimezone(UTC)
    if in_send_window(window, now):
        assert opening.astimezone(UTC) == now.astimezone(UTC)
    else:
        assert opening.astimezone(UTC) - now.astimezone(UTC) <= timedelta(days=2, hours=1)
        assert not in_send_window(window, opening.astimezone(UTC) - timedelta(seconds=1))
