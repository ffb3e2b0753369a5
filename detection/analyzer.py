"""Per-camera analysis: zones, lines and rules over one camera's detections, time from frames.

Tracks are added (once per frame, for every rule) when any rule is about individual objects.
A rule outside its schedule ends what it had open and reports nothing until it is armed again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from detection import ground
from detection.detections import ClassMap, Detections
from detection.rules.fall import FallRunner
from detection.rules.filters import PERSON, ObjectFilter
from detection.rules.runners import (
    CrowdRunner,
    Frame,
    LineRunner,
    PresenceRunner,
    RuleOutcome,
    RuleRunner,
)
from detection.rules.schedule import is_armed
from detection.tracking import Tracker, TrackerFactory
from detection.zones import Zone
from hub.contracts import (
    CameraSpec,
    CrowdRuleSpec,
    FallRuleSpec,
    LineCrossingRuleSpec,
    RuleSpec,
    needs_tracking,
)

__all__ = ["CameraAnalyzer", "RuleOutcome"]

# A lost track is kept this long: a person hidden behind a passer-by keeps their identity.
KEEP_LOST_S = 2.0


class CameraAnalyzer:
    """Holds the rule states of one camera; deterministic given the same samples."""

    def __init__(
        self,
        camera: CameraSpec,
        class_map: ClassMap,
        *,
        epoch: datetime | None = None,  # wall time of stream time 0: needed for schedules
        tracker_factory: TrackerFactory | None = None,
    ) -> None:
        self.camera = camera
        self._class_map = class_map
        self._epoch = epoch
        self._areas_m2 = _zone_areas_m2(camera)
        self._runners = [self._runner(rule) for rule in camera.rules]
        self._armed = {rule.id: True for rule in camera.rules}
        self._tracker = self._make_tracker(tracker_factory)
        self.people_in_frame = 0  # people in the last observed frame, for progress displays

    def _runner(self, rule: RuleSpec) -> RuleRunner:
        objects = ObjectFilter.for_rule(rule, self._class_map)
        if isinstance(rule, LineCrossingRuleSpec):
            return LineRunner(rule, self.camera.line(rule.line_id), objects)
        zone = Zone.from_spec(self.camera.zone(rule.zone_id))
        if isinstance(rule, CrowdRuleSpec):
            return CrowdRunner(rule, zone, objects, self._areas_m2.get(rule.zone_id))
        if isinstance(rule, FallRuleSpec):
            people = ObjectFilter.for_rule(rule.model_copy(update={"classes": [PERSON]}),
                                           self._class_map)  # fmt: skip
            return FallRunner(rule, zone, objects, people)
        return PresenceRunner(rule, zone, objects)

    def _make_tracker(self, factory: TrackerFactory | None) -> Tracker | None:
        tracked = [rule.id for rule in self.camera.rules if needs_tracking(rule)]
        if not tracked:
            return None
        if factory is None:
            raise ValueError(f"camera {self.camera.id}: rules {tracked} need a tracker")
        sampling = self.camera.sampling
        return factory(min(sampling.interval_s, sampling.burst_interval_s), KEEP_LOST_S)

    @property
    def wants_burst(self) -> bool:
        """A per-object rule saw candidates on the last frame: sample densely for a while."""
        return any(runner.interested and self._armed[runner.rule.id] for runner in self._runners)

    def observe(
        self, at_s: float, frame_width: int, frame_height: int, detections: Detections
    ) -> list[RuleOutcome]:
        self.people_in_frame = len(detections.of_classes(self._class_map.person_ids))
        if self._tracker is not None:
            detections = self._tracker.update(detections)
        frame = Frame(at_s, frame_width, frame_height, detections)
        outcomes: list[RuleOutcome] = []
        for runner in self._runners:
            if self._arm(runner, at_s, outcomes):
                outcomes.extend(runner.observe(frame))
        return outcomes

    def _arm(self, runner: RuleRunner, at_s: float, outcomes: list[RuleOutcome]) -> bool:
        schedule = runner.rule.schedule
        if schedule is None:
            return True
        if self._epoch is None:
            raise ValueError(f"rule {runner.rule.id!r} has a schedule: the analyzer needs epoch")
        armed = is_armed(schedule, self._epoch + timedelta(seconds=at_s))
        if self._armed[runner.rule.id] and not armed:
            outcomes.extend(runner.finish(at_s))
        self._armed[runner.rule.id] = armed
        return armed

    def finish(self, at_s: float) -> list[RuleOutcome]:
        """The input ended: end every active alert at `at_s`."""
        return [outcome for runner in self._runners for outcome in runner.finish(at_s)]


def _zone_areas_m2(camera: CameraSpec) -> dict[str, float]:
    """Ground areas of the zones the calibration can measure (all of each on the near side of
    its horizon); none without a calibration."""
    if camera.ground_calibration is None:
        return {}
    h = ground.of_calibration(camera.ground_calibration)
    areas: dict[str, float] = {}
    for zone in camera.zones:
        try:
            areas[zone.id] = ground.polygon_area_m2(h, zone.polygon)
        except ValueError:
            continue  # densities are unknown there; a rule that needs one is refused
    return areas
