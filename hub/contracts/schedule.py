"""When a rule is armed (布防时间): windows of local time on days of the week."""

from __future__ import annotations

import re
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from hub.contracts.common import Strict

_HH_MM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class ScheduleWindow(Strict):
    """Armed from `start` to `end` local time on `days` (1 Monday .. 7 Sunday, ISO).

    A window whose end is not after its start runs past midnight into the next day (22:00-06:00
    armed on Monday covers Monday night until Tuesday 06:00); start equal to end is the whole day.
    """

    days: list[Annotated[int, Field(ge=1, le=7)]] = Field(
        default_factory=lambda: [1, 2, 3, 4, 5, 6, 7], min_length=1, max_length=7
    )
    start: str = Field(default="00:00", description="HH:MM, local time")
    end: str = Field(default="00:00", description="HH:MM, local time")

    @field_validator("start", "end")
    @classmethod
    def _is_hh_mm(cls, value: str) -> str:
        if not _HH_MM.match(value):
            raise ValueError(f"{value!r} is not a time of day as HH:MM (00:00-23:59)")
        return value


class Schedule(Strict):
    """When a rule is armed (布防时间); outside every window it reports nothing."""

    timezone: str = Field(default="Asia/Shanghai", description="IANA name, e.g. Asia/Shanghai")
    windows: list[ScheduleWindow] = Field(min_length=1, max_length=16)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r} (use an IANA name)") from None
        return value


__all__ = ["Schedule", "ScheduleWindow"]
