"""Schedules (布防时间): windows by weekday and local time, including past midnight."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from detection.rules.schedule import is_armed
from hub.contracts import Schedule, ScheduleWindow

SHANGHAI = timezone(timedelta(hours=8))
NIGHTS = Schedule(windows=[ScheduleWindow(start="22:00", end="06:00")])
WEEKDAY_DAYS = Schedule(windows=[ScheduleWindow(days=[1, 2, 3, 4, 5], start="08:00", end="18:00")])
FRIDAY_NIGHT = Schedule(windows=[ScheduleWindow(days=[5], start="22:00", end="06:00")])


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("schedule", "at", "armed"),
    [
        (None, local("2026-12-07T12:00"), True),
        (NIGHTS, local("2026-12-07T21:59"), False),
        (NIGHTS, local("2026-12-07T22:00"), True),
        (NIGHTS, local("2026-12-08T05:59"), True),
        (NIGHTS, local("2026-12-08T06:00"), False),
        (NIGHTS, local("2026-12-08T12:00"), False),
        (WEEKDAY_DAYS, local("2026-12-07T08:00"), True),  # Monday
        (WEEKDAY_DAYS, local("2026-12-07T18:00"), False),
        (WEEKDAY_DAYS, local("2026-12-12T10:00"), False),  # Saturday
        (FRIDAY_NIGHT, local("2026-12-11T23:00"), True),  # Friday evening
        (FRIDAY_NIGHT, local("2026-12-12T03:00"), True),  # ... into Saturday morning
        (FRIDAY_NIGHT, local("2026-12-12T23:00"), False),  # Saturday evening is not armed
        (FRIDAY_NIGHT, local("2026-12-11T03:00"), False),  # Friday morning: Thursday's night
    ],
)
def test_schedule_table(schedule: Schedule | None, at: datetime, armed: bool) -> None:
    assert is_armed(schedule, at) is armed


def test_schedule_reads_wall_time_in_its_own_timezone() -> None:
    # 15:00 UTC is 23:00 in Shanghai: inside the night window there, not in London.
    at = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    assert is_armed(NIGHTS, at)
    london = Schedule(timezone="Europe/London", windows=NIGHTS.windows)
    assert not is_armed(london, at)


def test_whole_day_window_when_start_equals_end() -> None:
    sundays = Schedule(windows=[ScheduleWindow(days=[7])])
    assert is_armed(sundays, local("2026-12-13T00:00"))
    assert not is_armed(sundays, local("2026-12-14T00:00"))


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        is_armed(NIGHTS, datetime(2026, 12, 7, 23, 0))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"timezone": "Mars/Olympus", "windows": [{}]}, "unknown timezone"),
        ({"windows": [{"start": "24:00"}]}, "HH:MM"),
        ({"windows": [{"days": [0]}]}, "greater than or equal to 1"),
        ({"windows": []}, "at least 1"),
    ],
)
def test_bad_schedules_fail_with_a_clear_message(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Schedule.model_validate(fields)
