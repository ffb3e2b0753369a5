"""Event rules a camera runs: what each one watches for, with its parameters and their defaults.

Defaults follow the vendor parameters in the reference (section 6 of anchors-governance.md).
Every rule shares the filters of `RuleBase`; `RuleSpec` is the union the camera spec holds,
told apart by `kind` (a rule without `kind` is a crowd-gathering rule, as before kinds existed).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag

from hub.contracts.common import Identifier, Level, RelativePolygon, Strict
from hub.contracts.schedule import Schedule, ScheduleWindow


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


class DensityLevelStep(Strict):
    min_density_per_m2: float = Field(
        gt=0, le=100, description="From this many people per m² of zone ..."
    )
    level: Level = Field(description="... the alert has at least this colour")


def _reference_density_levels() -> list[DensityLevelStep]:
    # anchors-governance.md 6.2 (crowd gathering defaults): orange at D >= 2 p/m², red at
    # D >= 4 p/m²; 6.3: 2 p/m² slows walking, ~3.6 brings involuntary contact.
    return [
        DensityLevelStep(min_density_per_m2=2.0, level=Level.ORANGE),
        DensityLevelStep(min_density_per_m2=4.0, level=Level.RED),
    ]


class CrowdRuleSpec(RuleBase):
    """Crowd gathering: at least `min_people` in the zone for `hold_s`, cleared with hysteresis.

    Optional: `min_density_per_m2` also asks for that many people per m² of the zone's ground
    area (the camera needs a `ground_calibration`); `growth_people` and `growth_ratio` raise at
    once, without waiting for `hold_s`, when the count rose that much (people, or a share of
    the smallest count) within `growth_window_s` (both, when both are set). The colour is the
    more severe of `levels` (by count) and, where the zone's area is known, `density_levels`.
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
    density_levels: list[DensityLevelStep] = Field(
        default_factory=_reference_density_levels,
        max_length=16,
        description="Colour by people per m² on a calibrated camera (the count's colour when"
        " more severe wins); [] colours by count only",
    )
    min_density_per_m2: float | None = Field(
        default=None, gt=0, le=100,
        description="Also needs this many people per m² of zone (2: crowded, 4: dangerous)",
    )
    growth_people: int | None = Field(
        default=None, ge=1, le=10_000,
        description="Raise at once when the count rose this much within growth_window_s",
    )
    growth_ratio: float | None = Field(
        default=None, gt=0, le=100,
        description="Raise at once when the count rose by this share of the smallest count"
        " within growth_window_s (0.5: by 50 %; the reference's red is 50 % in 60 s)",
    )
    growth_window_s: float = Field(
        default=10.0, gt=0, le=3600, description="Growth is measured over this many seconds"
    )
    growth_level: Level | None = Field(
        default=None,
        description="At least this colour for an alert a growth raised (the reference: red for"
        " +50 % in 60 s); None: the colour follows size and density only",
    )

    @property
    def clear_below(self) -> float:
        return self.clear_ratio * self.min_people

    @property
    def watches_growth(self) -> bool:
        return self.growth_people is not None or self.growth_ratio is not None


class TrackRuleBase(RuleBase, ABC):
    """A rule about one tracked object at a time: it holds for `hold_s`, then alerts once per
    track, re-reports every `report_interval_s`, and ends when the track is gone from the zone
    for more than `miss_tolerance_s`.

    Abstract: each kind names its hold in its vendors' words (`dwell_s`, `min_inside_s`,
    `lying_s`) and says which one `hold_s` is; the base cannot be instantiated."""

    zone_id: Identifier
    miss_tolerance_s: float = Field(
        default=2.0, ge=0, le=600, description="Gaps this long keep the track's time running"
    )
    report_interval_s: float = Field(
        default=300.0, gt=0, le=86_400, description="Re-report an active alert this often"
    )
    level: Level = Field(default=Level.YELLOW)

    @property
    @abstractmethod
    def hold_s(self) -> float:
        """How long the condition must hold on one track before it alerts."""


class LoiteringRuleSpec(TrackRuleBase):
    """徘徊: the same tracked person inside the zone for `dwell_s` or longer.

    With `max_displacement_ratio` (the reference's path-length/displacement ratio, section 6.2),
    also only while the person's foot point went nowhere over the last `dwell_s`: its net
    displacement is at most that share of the path it walked. Someone waiting, pacing or
    circling scores near 0; someone walking through, however slowly, near 1."""

    kind: Literal["loitering"] = "loitering"
    dwell_s: float = Field(
        default=60.0, gt=0, le=86_400, description="60 s for schools and ATMs, 180 s for squares"
    )
    miss_tolerance_s: float = Field(
        default=10.0, ge=0, le=600, description="Gaps this long keep the track's time running"
    )
    max_displacement_ratio: float | None = Field(
        default=None, gt=0, le=1,
        description="Net displacement / path length of the foot point over the last dwell_s"
        " at most this (0.5 tells lingering from walking through); unset: off",
    )

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
    "CrowdRuleSpec", "DensityLevelStep", "FallRuleSpec", "IntrusionRuleSpec", "LevelStep",
    "LineCrossingRuleSpec", "LoiteringRuleSpec", "RuleBase", "RuleSpec", "Schedule",
    "ScheduleWindow", "TrackRule", "TrackRuleBase", "ZoneRule", "needs_tracking", "place_of",
]
