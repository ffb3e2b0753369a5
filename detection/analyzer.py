"""Per-camera analysis: zones and rules over one camera's detections, time from the frames."""

from __future__ import annotations

from dataclasses import dataclass

from detection.detections import ClassMap, Detections
from detection.rules import crowd
from detection.zones import Zone
from hub.contracts import CameraSpec, CrowdRuleSpec


@dataclass(frozen=True)
class RuleOutcome:
    """A rule reported something on a frame: the event and the people it counted."""

    rule: CrowdRuleSpec
    event: crowd.CrowdEvent
    people_in_zone: Detections
    people_in_frame: int


class CameraAnalyzer:
    """Holds the rule states of one camera; deterministic given the same samples."""

    def __init__(self, camera: CameraSpec, class_map: ClassMap) -> None:
        self.camera = camera
        self._class_map = class_map
        self._zones = {spec.id: Zone.from_spec(spec) for spec in camera.zones}
        self._states = {rule.id: crowd.CrowdState() for rule in camera.rules}
        self.people_in_frame = 0  # people in the last observed frame, for progress displays

    def zone(self, zone_id: str) -> Zone:
        return self._zones[zone_id]

    def observe(
        self, at_s: float, frame_width: int, frame_height: int, detections: Detections
    ) -> list[RuleOutcome]:
        people = detections.of_classes(self._class_map.person_ids)
        self.people_in_frame = len(people)
        in_zone = {
            zone_id: people.select(zone.contains(people, frame_width, frame_height))
            for zone_id, zone in self._zones.items()
        }
        outcomes = []
        for rule in self.camera.rules:
            counted = in_zone[rule.zone_id]
            state, event = crowd.step(rule, self._states[rule.id], at_s, len(counted))
            self._states[rule.id] = state
            if event is not None:
                outcomes.append(RuleOutcome(rule, event, counted, len(people)))
        return outcomes

    def finish(self, at_s: float) -> list[RuleOutcome]:
        """The input ended: end every active alert at `at_s`."""
        outcomes = []
        for rule in self.camera.rules:
            state, event = crowd.end(rule, self._states[rule.id], at_s)
            self._states[rule.id] = state
            if event is not None:
                outcomes.append(RuleOutcome(rule, event, Detections.empty(), 0))
        return outcomes
