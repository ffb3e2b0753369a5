"""Event rules a camera runs: what each one watches for, with its parameters and their defaults.

Defaults follow the vendor parameters in the reference (section 6 of anchors-governance.md).
Every rule shares the filters of `RuleBase`; `RuleSpec` is the union the camera spec holds,
told apart by `kind` (a rule without `kind` is a crowd-gathering rule, as before kinds existed).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Discriminator, Field, Tag, field_validator

from hub.contracts.common import Identifier, Level, RelativePolygon, Strict

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


class RuleBase(Strict):
    """What every rule has: which objects count, which are ignored, when it is armed."""

    id: Identifier
    classes: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=lambda: ["person"],
        min_length=1,
        max_length=16,
        description="Model class names that count; 'person' means the model's person classes",
    )
    min_confidence: float = Field(default=0.0, ge=0, le=1, description="Weaker boxes ignored")
    min_box_height: float = Field(
        default=0.0, ge=0, le=1, description="Boxes shorter than this share of the frame ignored"
    )
    masks: list[RelativePolygon] = Field(
        default_factory=list, max_length=16, description="Objects standing here are ignored"
    )
    cooldown_s: float = Field(
        default=60.0, ge=0, le=86_400, description="No new alert this long after one ended"
    )
    schedule: Schedule | None = Field(default=None, description="Armed at these times (always)")


class LevelStep(Strict):
    min_people: int = Field(ge=1, description="From this many people in the zone ...")
    level: Level = Field(description="... the alert has at least this colour")


class CrowdRuleSpec(RuleBase):
    """Crowd gathering: at least `min_people` in the zone for `hold_s`, cleared with hysteresis.

    Optional: `min_density_per_m2` also asks for that many people per m² of the zone's ground
    area (the camera needs a `ground_calibration`); `growth_people` raises at once, without
    waiting for `hold_s`, when the count rose that much within `growth_window_s`.
    """

    kind: Literal["crowd_gathering"] = "crowd_gathering"
    zone_id: Identifier
    min_people: int = Field(default=10, ge=1, le=10_000)
    hold_s: float = Field(default=30.0, ge=0, le=3600, description="Condition must hold this long")
    miss_tolerance_s: float = Field(
        default=2.0, ge=0, le=60, description="Samples below threshold tolerated while holding"
    )
    clear_ratio: float = Field(
        default=0.7, gt=0, le=1, description="Clears when count < clear_ratio * min_people ..."
    )
    clear_s: float = Field(default=10.0, ge=0, le=3600, description="... for this long")
    report_interval_s: float = Field(
        default=300.0, gt=0, le=86_400, description="Re-report an active alert this often"
    )
    levels: list[LevelStep] = Field(
        default_factory=lambda: [LevelStep(min_people=1, level=Level.YELLOW)],
        min_length=1,
        description="Colour by size; the highest step reached wins",
    )
    min_density_per_m2: float | None = Field(
        default=None, gt=0, le=100,
        description="Also needs this many people per m² of zone (2: crowded, 4: dangerous)",
    )
    growth_people: int | None = Field(
        default=None, ge=1, le=10_000,
        description="Raise at once when the count rose this much within growth_window_s",
    )
    growth_window_s: float = Field(default=10.0, gt=0, le=3600)

    @property
    def clear_below(self) -> float:
        return self.clear_ratio * self.min_people


class TrackRuleBase(RuleBase):
    """A rule about one tracked object at a time: it holds for `hold_s`, then alerts once per
    track, re-reports every `report_interval_s`, and ends when the track is gone from the zone
    for more than `miss_tolerance_s`."""

    zone_id: Identifier
    miss_tolerance_s: float = Field(
        default=2.0, ge=0, le=600, description="Gaps this long keep the track's time running"
    )
    report_interval_s: float = Field(
        default=300.0, gt=0, le=86_400, description="Re-report an active alert this often"
    )
    level: Level = Field(default=Level.YELLOW)

    @property
    def hold_s(self) -> float:
        raise NotImplementedError


class LoiteringRuleSpec(TrackRuleBase):
    """徘徊: the same tracked person inside the zone for `dwell_s` or longer."""

    kind: Literal["loitering"] = "loitering"
    dwell_s: float = Field(
        default=60.0, gt=0, le=86_400, description="60 s for schools and ATMs, 180 s for squares"
    )
    miss_tolerance_s: float = Field(default=10.0, ge=0, le=600)

    @property
    def hold_s(self) -> float:
        return self.dwell_s


class IntrusionRuleSpec(TrackRuleBase):
    """区域入侵: an object of `classes` inside the zone for `min_inside_s`, within the schedule."""

    kind: Literal["intrusion"] = "intrusion"
    min_inside_s: float = Field(default=5.0, ge=0, le=3600)
    level: Level = Field(default=Level.ORANGE)

    @property
    def hold_s(self) -> float:
        return self.min_inside_s


class FallRuleSpec(TrackRuleBase):
    """跌倒: a tracked person labelled fallen and lying (box at least `min_aspect` times as wide
    as tall) on `min_frames` consecutive samples spanning `lying_s`, where an upright person stood
    within `upright_within_s` before: a walker mislabelled on one frame, a fallen label on an
    upright box, or something lying there from the start (a bag, a cloth) never alerts."""

    kind: Literal["fall"] = "fall"
    classes: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=lambda: ["fallen"],
        min_length=1,
        max_length=16,
        description="'fallen' means the model's fallen-person classes",
    )
    min_frames: int = Field(default=3, ge=1, le=1000)
    lying_s: float = Field(default=2.0, ge=0, le=3600)
    min_aspect: float = Field(default=1.0, gt=0, le=20, description="Box width / height")
    upright_within_s: float = Field(
        default=5.0, ge=0, le=600, description="An upright person was there this recently (0: off)"
    )
    miss_tolerance_s: float = Field(default=0.0, ge=0, le=600)
    level: Level = Field(default=Level.RED)

    @property
    def hold_s(self) -> float:
        return self.lying_s


class LineCrossingRuleSpec(RuleBase):
    """绊线: a tracked object's anchor crosses the line in `direction` ("in", "out" or "both");
    a track crossing back and forth within `debounce_s` counts once."""

    kind: Literal["line_crossing"] = "line_crossing"
    line_id: Identifier
    direction: Literal["in", "out", "both"] = "in"
    debounce_s: float = Field(default=2.0, ge=0, le=600)
    cooldown_s: float = Field(default=0.0, ge=0, le=86_400)
    level: Level = Field(default=Level.YELLOW)


def _rule_kind(value: Any) -> str:
    """The `kind` that picks the model; rules written before kinds existed are crowd rules."""
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return str(kind) if kind is not None else "crowd_gathering"


RuleSpec = Annotated[
    Annotated[CrowdRuleSpec, Tag("crowd_gathering")]
    | Annotated[LoiteringRuleSpec, Tag("loitering")]
    | Annotated[IntrusionRuleSpec, Tag("intrusion")]
    | Annotated[LineCrossingRuleSpec, Tag("line_crossing")]
    | Annotated[FallRuleSpec, Tag("fall")],
    Discriminator(_rule_kind),
]
ZoneRule = CrowdRuleSpec | LoiteringRuleSpec | IntrusionRuleSpec | FallRuleSpec
TrackRule = LoiteringRuleSpec | IntrusionRuleSpec | FallRuleSpec


def place_of(rule: RuleSpec) -> str:
    """The zone or line a rule watches: what alerts name as their `zone_id`."""
    return rule.line_id if isinstance(rule, LineCrossingRuleSpec) else rule.zone_id


def needs_tracking(rule: RuleSpec) -> bool:
    return not isinstance(rule, CrowdRuleSpec)


__all__ = [
    "CrowdRuleSpec", "FallRuleSpec", "IntrusionRuleSpec", "LevelStep", "LineCrossingRuleSpec",
    "LoiteringRuleSpec", "RuleBase", "RuleSpec", "Schedule", "ScheduleWindow", "TrackRule",
    "TrackRuleBase", "ZoneRule", "needs_tracking", "place_of",
]
