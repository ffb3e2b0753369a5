"""Camera health from what the reader sees: pure, times are arguments (monotonic seconds)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from hub.contracts import CameraState

FPS_WINDOW_S = 5.0
STALL_FLOOR_S = 5.0
STALL_FRAMES = 10


def stall_deadline_s(fps: float | None) -> float:
    """The watchdog's deadline: no packet for max(5 s, 10 frame intervals) means the stream is
    stuck and gets reopened. An unknown rate gets the floor."""
    if fps is None or fps <= 0:
        return STALL_FLOOR_S
    return max(STALL_FLOOR_S, STALL_FRAMES / fps)


def is_stalled(
    now_s: float, reading_since_s: float | None, last_packet_s: float, fps: float | None
) -> bool:
    """`reading_since_s`: when the reader last went back to the input (None while it waits on
    the consumer or its pacing, which is no fault of the camera)."""
    if reading_since_s is None:
        return False
    return now_s - max(reading_since_s, last_packet_s) > stall_deadline_s(fps)


@dataclass
class HealthTracker:
    """Online while frames arrive; degraded when they arrive at under half the expected rate or
    the camera reconnected within the window; offline after `stall_s` (or ten frame intervals of
    a slow camera) without a frame, and at once after a permanent failure (until a frame)."""

    expected_fps: float = 25.0
    stall_s: float = 5.0
    reconnects: int = 0
    last_error: str | None = None
    last_frame_s: float | None = None
    _arrivals: deque[tuple[float, int]] = field(default_factory=deque)
    _last_reconnect_s: float | None = None
    _halted: bool = False  # a permanent failure: no frames until someone fixes the camera

    def frame(self, now_s: float, count: int = 1) -> None:
        """`count` frames arrived by `now_s` (a poller may report several at once)."""
        if count <= 0:
            return
        self._halted = False
        self.last_frame_s = now_s
        self._arrivals.append((now_s, count))
        while self._arrivals and now_s - self._arrivals[0][0] > FPS_WINDOW_S:
            self._arrivals.popleft()

    def reconnected(self, now_s: float) -> None:
        self.reconnects += 1
        self._last_reconnect_s = now_s

    def failed(self, reason: str, permanent: bool = False) -> None:
        self.last_error = reason[:500]
        self._halted = permanent

    def fps(self, now_s: float) -> float:
        recent = [(t, n) for t, n in self._arrivals if now_s - t <= FPS_WINDOW_S]
        if len(recent) < 2:
            return 0.0
        span = max(recent[-1][0] - recent[0][0], 1e-6)
        return sum(n for _, n in recent[1:]) / span

    def state(self, now_s: float) -> CameraState:
        stall_s = max(self.stall_s, stall_deadline_s(self.expected_fps))  # slow cameras: 10 frames
        if self._halted or self.last_frame_s is None or now_s - self.last_frame_s > stall_s:
            return CameraState.OFFLINE
        recently_reconnected = (
            self._last_reconnect_s is not None and now_s - self._last_reconnect_s < FPS_WINDOW_S
        )
        slow = self.fps(now_s) < 0.5 * self.expected_fps
        return CameraState.DEGRADED if slow or recently_reconnected else CameraState.ONLINE
