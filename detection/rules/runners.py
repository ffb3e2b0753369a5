"""One runner per configured rule: filters a frame's boxes, feeds the rule's pure machine and
pairs each event with the boxes it is about. The analyzer owns the runners of one camera."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import numpy as np

from detection.detections import BoolArray, Detections
from detection.rules import crowd, line_crossing, presence
from detection.rules.events import RuleEvent
from detection.rules.filters import ObjectFilter, RuleConfigError
from detection.zones import Zone
from hub.contracts import (
    CrowdRuleSpec,
    LineCrossingRuleSpec,
    LineSpec,
    RuleSpec,
    TrackRule,
)

TrackRuleT = TypeVar("TrackRuleT", bound=TrackRule)


@dataclass(frozen=True)
class Frame:
    """One sample as the rules see it; `detections` are tracked when the camera tracks."""

    at_s: float
    width: int
    height: int
    detections: Detections


@dataclass(frozen=True)
class RuleOutcome:
    """A rule reported something: the event and the objects it is about."""

    rule: RuleSpec
    event: RuleEvent
    objects: Detections  # counted objects (per-object rules: that object's box)
    objects_in_frame: int  # objects of the rule's classes anywhere in the frame


class RuleRunner(Protocol):
    @property
    def rule(self) -> RuleSpec: ...

    @property
    def interested(self) -> bool:
        """Something on the last frame this rule may alert on soon (worth a sampling burst)."""
        ...

    def observe(self, frame: Frame) -> list[RuleOutcome]: ...

    def finish(self, at_s: float) -> list[RuleOutcome]: ...


class CrowdRunner:
    """`area_m2`: the zone's ground area when the camera is calibrated (densities), else None."""

    def __init__(
        self, rule: CrowdRuleSpec, zone: Zone, objects: ObjectFilter, area_m2: float | None = None
    ) -> None:
        if rule.min_density_per_m2 is not None and area_m2 is None:
            raise RuleConfigError(
                f"rule {rule.id!r} sets min_density_per_m2 but zone {zone.id!r} has no known"
                " ground area: the camera needs a ground_calibration, and the zone must lie"
                " wholly below its horizon"
            )
        self.rule, self._zone, self._objects, self._area_m2 = rule, zone, objects, area_m2
        self._state = crowd.CrowdState()
        self.interested = False

    def observe(self, frame: Frame) -> list[RuleOutcome]:
        candidates = self._objects.apply(frame.detections, frame.width, frame.height)
        counted = candidates.select(self._zone.contains(candidates, frame.width, frame.height))
        self._state, event = crowd.step(
            self.rule, self._state, frame.at_s, len(counted), self._area_m2
        )
        return [] if event is None else [RuleOutcome(self.rule, event, counted, len(candidates))]

    def finish(self, at_s: float) -> list[RuleOutcome]:
        self._state, event = crowd.end(self.rule, self._state, at_s)
        return [] if event is None else [RuleOutcome(self.rule, event, Detections.empty(), 0)]


class PresenceRunner(Generic[TrackRuleT]):
    """Loitering, intrusion and falls: per-track presence in a zone. Subclasses narrow the
    condition (`_condition`) and keep their rule's own type (`self.rule`)."""

    def __init__(self, rule: TrackRuleT, zone: Zone, objects: ObjectFilter) -> None:
        self.rule: TrackRuleT = rule
        self._zone, self._objects = zone, objects
        self._params = presence.PresenceParams.of(rule)
        self._state = presence.PresenceState()
        self.interested = False

    def observe(self, frame: Frame) -> list[RuleOutcome]:
        candidates = self._objects.apply(frame.detections, frame.width, frame.height)
        in_zone = candidates.select(self._zone.contains(candidates, frame.width, frame.height))
        meeting = in_zone.select(self._condition(in_zone, frame))
        self.interested = len(in_zone) > 0
        self._state, events = presence.step(
            self._params, self._state, frame.at_s, frozenset(int(t) for t in meeting.tracks),
            len(in_zone), _foot_points(meeting) if self._params.needs_positions else None,
        )  # fmt: skip
        return [self._outcome(event, in_zone, len(candidates)) for event in events]

    def _condition(self, in_zone: Detections, frame: Frame) -> BoolArray:
        """Which of the objects in the zone meet the rule's condition (all, for presence)."""
        return np.ones(len(in_zone), dtype=np.bool_)

    def _outcome(self, event: RuleEvent, in_zone: Detections, in_frame: int) -> RuleOutcome:
        return RuleOutcome(self.rule, event, in_zone.select(in_zone.tracks == event.track_id),
                           in_frame)  # fmt: skip

    def finish(self, at_s: float) -> list[RuleOutcome]:
        self._state, events = presence.finish(self._params, self._state, at_s)
        return [RuleOutcome(self.rule, event, Detections.empty(), 0) for event in events]


def _foot_points(objects: Detections) -> dict[int, tuple[float, float]]:
    """Bottom-centre of each tracked box, in pixels (a uniform unit, unlike 0-1 coordinates)."""
    return {
        int(track): (float(x), float(y))
        for track, (x, y) in zip(objects.tracks, objects.bottom_centres(), strict=True)
    }


class LineRunner:
    def __init__(self, rule: LineCrossingRuleSpec, line: LineSpec, objects: ObjectFilter) -> None:
        self.rule, self._line, self._objects = rule, line, objects
        self._state = line_crossing.LineState()
        self.interested = False

    def observe(self, frame: Frame) -> list[RuleOutcome]:
        candidates = self._objects.apply(frame.detections, frame.width, frame.height)
        self.interested = len(candidates) > 0
        anchors = candidates.bottom_centres() / np.array([frame.width, frame.height])
        by_track = {
            int(track): (float(x), float(y))
            for track, (x, y) in zip(candidates.tracks, anchors, strict=True)
        }
        self._state, events = line_crossing.step(
            self.rule, self._line, self._state, frame.at_s, by_track
        )
        return [
            RuleOutcome(
                self.rule, event, candidates.select(candidates.tracks == event.track_id),
                len(candidates),
            )
            for event in events
        ]

    def finish(self, at_s: float) -> list[RuleOutcome]:
        self._state = line_crossing.LineState(
            in_total=self._state.in_total, out_total=self._state.out_total
        )
        return []  # crossings are instantaneous: nothing is left open
