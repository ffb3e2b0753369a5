"""Falls: per-track presence whose condition is "lying, and it was a person standing there".

The shape check (a box wider than tall) rejects a fallen label on an upright walker; the
transition check rejects what lies there from the start: a lying track counts only when, on
its first lying sample, an upright person had stood on that spot within `upright_within_s`.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from detection.detections import BoolArray, Detections
from detection.rules.filters import ObjectFilter
from detection.rules.runners import Frame, PresenceRunner
from detection.zones import Zone
from hub.contracts import FallRuleSpec

# A lying track's verdict is forgotten this long after it was last seen.
_FORGET_S = 30.0


class FallRunner(PresenceRunner[FallRuleSpec]):
    def __init__(
        self, rule: FallRuleSpec, zone: Zone, fallen: ObjectFilter, people: ObjectFilter
    ) -> None:
        super().__init__(rule, zone, fallen)
        self._people = people
        self._upright: deque[tuple[float, Detections]] = deque()
        self._verdicts: dict[int, tuple[bool, float]] = {}  # track -> (fell, last seen)

    def _condition(self, in_zone: Detections, frame: Frame) -> BoolArray:
        lying = _aspect(in_zone) >= self.rule.min_aspect
        fell = np.array(
            [
                bool(is_lying) and self._fell(int(track), box, frame.at_s)
                for track, box, is_lying in zip(in_zone.tracks, in_zone.xyxy, lying, strict=True)
            ],
            dtype=np.bool_,
        )
        self._remember_upright(frame)
        return fell

    def _fell(self, track: int, box: np.ndarray, at_s: float) -> bool:
        verdict = self._verdicts.get(track)
        fell = verdict[0] if verdict is not None else self._stood_here(box, at_s)
        self._verdicts[track] = (fell, at_s)
        return fell

    def _stood_here(self, lying: np.ndarray, at_s: float) -> bool:
        if self.rule.upright_within_s == 0:
            return True
        x1, y1, x2, y2 = (float(v) for v in lying)
        height = y2 - y1
        for seen_s, upright in self._upright:
            if at_s - seen_s > self.rule.upright_within_s:
                continue
            feet = upright.bottom_centres()
            overlaps = (upright.xyxy[:, 2] >= x1) & (upright.xyxy[:, 0] <= x2)
            near = (feet[:, 1] >= y1 - height) & (feet[:, 1] <= y2 + height)
            if bool(np.any(overlaps & near)):
                return True
        return False

    def _remember_upright(self, frame: Frame) -> None:
        people = self._people.apply(frame.detections, frame.width, frame.height)
        upright = people.select(_aspect(people) < self.rule.min_aspect)
        self._upright.append((frame.at_s, upright))
        horizon_s = frame.at_s - self.rule.upright_within_s
        while self._upright and self._upright[0][0] < horizon_s:
            self._upright.popleft()
        self._verdicts = {
            track: verdict
            for track, verdict in self._verdicts.items()
            if frame.at_s - verdict[1] <= _FORGET_S
        }


def _aspect(boxes: Detections) -> np.ndarray:
    return np.asarray(boxes.widths() / np.maximum(boxes.heights(), 1e-6))
