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

    Bursts: `arm_burst(until_s)` samples every `burst_interval_s` until stream time `until_s`
    (trackers need frames close together). It may be called from another thread than `keep`:
    it only records the request, and `keep`, the one writer of the grid, applies it.
    """

    interval_s: float
    keyframes_only: bool = False
    burst_interval_s: float | None = None
    _next_s: float | None = None
    _last_kept_s: float | None = None
    _burst_until_s: float = -math.inf
    _burst_requested: bool = False
    kept: int = 0
    skipped: int = 0

    def __post_init__(self) -> None:
        if not self.interval_s > 0:
            raise ValueError("interval_s must be positive")
        if self.burst_interval_s is not None and not self.burst_interval_s > 0:
            raise ValueError("burst_interval_s must be positive")

    def arm_burst(self, until_s: float) -> None:
        if self.burst_interval_s is None:
            raise ValueError("this sampler has no burst_interval_s")
        self._burst_until_s = max(self._burst_until_s, until_s)
        self._burst_requested = True

    def keep(self, pts_s: float, is_keyframe: bool = True) -> bool:
        """Decide for one frame; call in stream order."""
        if self.keyframes_only and not is_keyframe:
            self.skipped += 1
            return False
        self._apply_burst_request()
        interval = self._interval_at(pts_s)
        next_s = self._next_s
        if next_s is None or abs(pts_s - next_s) > 10 * self.interval_s:
            # First frame, or a jump either way (the footage looped, the camera clock reset).
            self._next_s = pts_s + interval
        elif pts_s < next_s:
            self.skipped += 1
            return False
        else:
            # Next grid point strictly after this frame, so late frames never cause a burst.
            steps = math.floor((pts_s - next_s) / interval) + 1
            self._next_s = next_s + steps * interval
        self._last_kept_s = pts_s
        self.kept += 1
        return True

    def _interval_at(self, pts_s: float) -> float:
        if self.burst_interval_s is not None and pts_s < self._burst_until_s:
            return min(self.burst_interval_s, self.interval_s)
        return self.interval_s

    def _apply_burst_request(self) -> None:
        if not self._burst_requested:
            return
        self._burst_requested = False
        if self._next_s is not None and self._last_kept_s is not None:
            assert self.burst_interval_s is not None
            self._next_s = min(self._next_s, self._last_kept_s + self.burst_interval_s)

    def reset(self) -> None:
        self._next_s = None
        self._last_kept_s = None
