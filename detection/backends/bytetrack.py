"""The ByteTrack adapter: ultralytics' BYTETracker behind our `Tracker` interface.

ByteTrack associates by box overlap with a Kalman prediction, so it needs frames close in time:
cameras with per-object rules sample in bursts (see `detection.sampling`).
"""

from __future__ import annotations

import math
import os
from types import SimpleNamespace

import numpy as np

from detection.detections import BoolArray, Detections

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_VERBOSE", "False")

from ultralytics.trackers.byte_tracker import BYTETracker

# ultralytics/cfg/trackers/bytetrack.yaml, except the lost-track buffer (set from time).
_DEFAULTS = {
    "track_high_thresh": 0.25,
    "track_low_thresh": 0.1,
    "new_track_thresh": 0.25,
    "match_thresh": 0.8,
    "fuse_score": True,
}


class _Boxes:
    """What BYTETracker reads from a frame's results: numpy `conf`, `cls`, `xywh`, masks."""

    def __init__(self, xyxy: np.ndarray, conf: np.ndarray, cls: np.ndarray) -> None:
        self.xyxy, self.conf, self.cls = xyxy, conf, cls

    @property
    def xywh(self) -> np.ndarray:
        centre = (self.xyxy[:, :2] + self.xyxy[:, 2:]) / 2
        return np.concatenate([centre, self.xyxy[:, 2:] - self.xyxy[:, :2]], axis=1)

    def __len__(self) -> int:
        return len(self.conf)

    def __getitem__(self, mask: BoolArray) -> _Boxes:
        return _Boxes(self.xyxy[mask], self.conf[mask], self.cls[mask])


class ByteTrackTracker:
    def __init__(self, interval_s: float, keep_lost_s: float = 2.0) -> None:
        buffer_frames = max(1, math.ceil(keep_lost_s / interval_s))
        self._tracker = BYTETracker(SimpleNamespace(**_DEFAULTS, track_buffer=buffer_frames))

    def update(self, detections: Detections) -> Detections:
        boxes = _Boxes(
            detections.xyxy.astype(np.float32),
            detections.confidence.astype(np.float32),
            detections.class_id.astype(np.float32),
        )
        rows = self._tracker.update(boxes)
        if len(rows) == 0:
            return Detections.empty(tracked=True)
        index = rows[:, 7].astype(np.int64)  # the detection each track matched this frame
        tracked = detections.select_rows(index)
        return tracked.with_track_ids(rows[:, 4].astype(np.int64))


def bytetrack(interval_s: float, keep_lost_s: float) -> ByteTrackTracker:
    return ByteTrackTracker(interval_s, keep_lost_s)
