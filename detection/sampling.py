"""Frame sampling by stream time: pure, no clock."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class FrameSampler:
    """Keeps one frame per `interval_s` of stream time (pts), holding phase.

    The sample grid is anchored at the first frame: frame at pts `t` is kept when it is the first
    frame at or after the next grid point. After a gap (stream stall, lost packets) the grid jumps
    forward to the first point after the gap: no catch-up burst. With `keyframes_only`, only
    keyframes are candidates (the decoder can then skip every other frame).
    """

    interval_s: float
    keyframes_only: bool = False
    _next_s: float | None = None
    kept: int = 0
    skipped: int = 0

    def __post_init__(self) -> None:
        if not self.interval_s > 0:
            raise ValueError("interval_s must be positive")

    def keep(self, pts_s: float, is_keyframe: bool = True) -> bool:
        """Decide for one frame; call in stream order."""
        if self.keyframes_only and not is_keyframe:
            self.skipped += 1
            return False
        next_s = self._next_s
        if next_s is None or abs(pts_s - next_s) > 10 * self.interval_s:
            # First frame, or a jump either way (the footage looped, the camera clock reset).
            self._next_s = pts_s + self.interval_s
        elif pts_s < next_s:
            self.skipped += 1
            return False
        else:
            # Next grid point strictly after this frame, so late frames never cause a burst.
            steps = math.floor((pts_s - next_s) / self.interval_s) + 1
            self._next_s = next_s + steps * self.interval_s
        self.kept += 1
        return True

    def reset(self) -> None:
        self._next_s = None
