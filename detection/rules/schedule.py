"""Whether a rule is armed at a wall time (pure)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from hub.contracts import Schedule, ScheduleWindow


def is_armed(schedule: Schedule | None, at: datetime) -> bool:
    """True inside any window (no schedule: always). `at` must carry a timezone."""
    if schedule is None:
        return True
    if at.tzinfo is None:
        raise ValueError("schedule checks need a timezone-aware time")
    local = at.astimezone(ZoneInfo(schedule.timezone))
    return any(_in_window(window, local) for window in schedule.windows)


def _in_window(window: ScheduleWindow, local: datetime) -> bool:
    start, end = _clock(window.start), _clock(window.end)
    now = local.time()
    if start == end:
        return local.isoweekday() in window.days
    if start < end:
        return local.isoweekday() in window.days and start <= now < end
    # Past midnight: the evening part belongs to today, the morning part to yesterday.
    if now >= start:
        return local.isoweekday() in window.days
    yesterday = (local - timedelta(days=1)).isoweekday()
    return now < end and yesterday in window.days


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))
