"""What a rule reports: one value for every kind of rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hub.contracts import Level

# "crossed" is instantaneous (a line crossing): its only report is also its end.
EventType = Literal["started", "updated", "ended", "crossed"]
Direction = Literal["in", "out"]
Trigger = Literal["hold", "growth"]  # crowd: held for hold_s, or grew fast (raised at once)


@dataclass(frozen=True)
class RuleEvent:
    type: EventType
    at_s: float
    started_s: float
    count: int  # objects the rule counted on this frame
    peak: int
    level: Level
    revision: int  # 0 for "started" (and "crossed"), +1 per later report of the same alert
    track_id: int | None = None
    direction: Direction | None = None
    totals: tuple[int, int] | None = None  # line crossings so far: (in, out)
    density_per_m2: float | None = None  # crowd on a calibrated camera: count / zone area
    trigger: Trigger | None = None  # crowd: why the alert was raised (kept on its re-reports)
