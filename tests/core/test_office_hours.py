"""Office hours: when a person at the park answers (bot.core.windows)."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from bot.core.windows import OfficeHours, in_office_hours, parse_office_days, parse_office_hours

HOURS = OfficeHours()  # 09:00-17:00, Monday to Saturday, Asia/Karachi (UTC+5)


@pytest.mark.parametrize(
    ("label", "now", "open_"),
    [
        ("Monday 09:00 local, opening", datetime(2026, 11, 30, 4, 0, tzinfo=UTC), True),
        ("Monday 08:59 local", datetime(2026, 11, 30, 3, 59, tzinfo=UTC), False),
        ("Saturday 16:59 local", datetime(2026, 12, 5, 11, 59, tzinfo=UTC), True),
        ("Saturday 17:00 local, closing", datetime(2026, 12, 5, 12, 0, tzinfo=UTC), False),
        ("Sunday noon local", datetime(2026, 12, 6, 7, 0, tzinfo=UTC), False),
        ("Tuesday 02:00 UTC is 07:00 local", datetime(2026, 12, 1, 2, 0, tzinfo=UTC), False),
    ],
)
def test_in_office_hours(label: str, now: datetime, open_: bool) -> None:
    assert in_office_hours(HOURS, now) is open_, label


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("09:00-17:00", (time(9), time(17))),
        ("9-17", (time(9), time(17))),
        (" 8:30 - 16:45 ", (time(8, 30), time(16, 45))),
    ],
)
def test_parse_office_hours(text: str, expected: tuple[time, time]) -> None:
    assert parse_office_hours(text) == expected


@pytest.mark.parametrize("text", ["", "9", "17:00-09:00", "9am-5pm", "09:00-25:00", "9:5-10"])
def test_bad_office_hours_say_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match="office hours"):
        parse_office_hours(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mon-sat", {0, 1, 2, 3, 4, 5}),
        ("sun-thu", {6, 0, 1, 2, 3}),
        ("Mon, Wed,fri", {0, 2, 4}),
        ("monday-friday", {0, 1, 2, 3, 4}),
    ],
)
def test_parse_office_days(text: str, expected: set[int]) -> None:
    assert parse_office_days(text) == expected


@pytest.mark.parametrize("text", ["", "weekdays", "mon-", "mon-tue-wed"])
def test_bad_office_days_say_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match="office days"):
        parse_office_days(text)
