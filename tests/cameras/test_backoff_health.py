"""Reconnect backoff and camera health tables."""

from __future__ import annotations

import pytest

from cameras.backoff import Backoff
from cameras.health import HealthTracker
from hub.contracts import CameraState


@pytest.mark.parametrize(
    ("failures", "unit_random", "delay_s"),
    [
        (0, 0.0, 0.0),
        (1, 0.0, 1.0),
        (2, 0.0, 2.0),
        (3, 0.0, 4.0),
        (4, 0.0, 5.0),  # 8 capped at 5
        (6, 0.0, 5.0),
        (50, 0.0, 5.0),  # no overflow, still capped
        (3, 0.999999, 2.0),  # full jitter halves it at most
        (3, 0.5, 3.0),
    ],
)
def test_backoff(failures: int, unit_random: float, delay_s: float) -> None:
    assert Backoff().delay_s(failures, unit_random) == pytest.approx(delay_s, abs=1e-5)


def frames(tracker: HealthTracker, start_s: float, end_s: float, fps: float) -> None:
    t = start_s
    while t < end_s:
        tracker.frame(t)
        t += 1 / fps


def test_never_seen_a_frame_is_offline() -> None:
    assert HealthTracker().state(100.0) is CameraState.OFFLINE


def test_steady_frames_are_online_with_their_rate() -> None:
    tracker = HealthTracker(expected_fps=25)
    frames(tracker, 0, 10, 25)
    assert tracker.state(10.0) is CameraState.ONLINE
    assert tracker.fps(10.0) == pytest.approx(25, rel=0.05)


def test_half_the_expected_rate_is_degraded() -> None:
    tracker = HealthTracker(expected_fps=25)
    frames(tracker, 0, 10, 10)
    assert tracker.state(10.0) is CameraState.DEGRADED


def test_a_stall_longer_than_stall_s_is_offline_and_recovery_passes_through_degraded() -> None:
    tracker = HealthTracker(expected_fps=10, stall_s=5)
    frames(tracker, 0, 10, 10)
    assert tracker.state(14.0) is CameraState.ONLINE  # 4 s since the last frame
    assert tracker.state(15.5) is CameraState.OFFLINE
    tracker.reconnected(20.0)
    frames(tracker, 20, 23, 10)
    assert tracker.state(23.0) is CameraState.DEGRADED  # reconnected within the window
    frames(tracker, 23, 30, 10)
    assert tracker.state(30.0) is CameraState.ONLINE
    assert tracker.reconnects == 1


def test_frames_reported_in_bulk_by_a_poller_give_the_same_rate() -> None:
    tracker = HealthTracker(expected_fps=25)
    for second in range(1, 11):
        tracker.frame(float(second), count=25)
    assert tracker.fps(10.0) == pytest.approx(25)
    assert tracker.state(10.0) is CameraState.ONLINE
    tracker.frame(11.0, count=0)  # nothing new: not a frame
    assert tracker.last_frame_s == 10.0


def test_last_error_is_bounded() -> None:
    tracker = HealthTracker()
    tracker.failed("x" * 2000)
    assert tracker.last_error is not None and len(tracker.last_error) == 500
