"""Tracking: the identities per-object rules need. `Tracker` is our interface; the ByteTrack
implementation lives in `detection.backends.bytetrack` (the only module importing ultralytics'
tracker)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from detection.detections import Detections


class Tracker(Protocol):
    """One camera's tracker: feed it every sampled frame's detections, in stream order."""

    def update(self, detections: Detections) -> Detections:
        """The tracked objects of this frame, `track_id` set; unconfirmed boxes left out."""
        ...


# Builds a tracker for a camera sampled every `interval_s`; a lost track is kept `keep_lost_s`.
TrackerFactory = Callable[[float, float], Tracker]
