"""FrameSampler tables: which frames of a stream are kept."""

from __future__ import annotations

import pytest

from detection.sampling import FrameSampler


def kept(sampler: FrameSampler, frames: list[tuple[float, bool]]) -> list[float]:
    return [pts for pts, key in frames if sampler.keep(pts, key)]


def every(step_s: float, count: int, start_s: float = 0.0) -> list[tuple[float, bool]]:
    return [(round(start_s + i * step_s, 6), True) for i in range(count)]


@pytest.mark.parametrize(
    ("interval_s", "frames", "expected"),
    [
        # 10 fps for 3 s at 1 s: one per second, phase held at the first frame.
        (1.0, every(0.1, 30), [0.0, 1.0, 2.0]),
        # Starting mid-stream: the grid is anchored at the first frame seen.
        (1.0, every(0.1, 25, start_s=5.35), [5.35, 6.35, 7.35]),
        # 25 fps at 0.5 s.
        (0.5, every(0.04, 50), [0.0, 0.52, 1.0, 1.52]),
        # Interval shorter than the frame period keeps every frame.
        (0.01, every(0.1, 5), [0.0, 0.1, 0.2, 0.3, 0.4]),
        # A 3 s gap: the next frame is kept once, no burst to catch up, and the grid moves on.
        (1.0, [(0.0, True), (0.5, True), (4.2, True), (4.3, True), (5.2, True)], [0.0, 4.2, 5.2]),
        # Jitter: a frame slightly late does not shift later samples' phase.
        (
            1.0,
            [(0.0, True), (1.05, True), (1.9, True), (2.0, True), (3.0, True)],
            [0.0, 1.05, 2.0, 3.0],
        ),
        # The footage loops (time jumps back a lot): re-anchor instead of waiting forever.
        (
            1.0,
            [(0.0, True), (1.0, True), (20.0, True), (0.0, True), (1.0, True)],
            [0.0, 1.0, 20.0, 0.0, 1.0],
        ),
    ],
)
def test_keeps_one_frame_per_interval(
    interval_s: float, frames: list[tuple[float, bool]], expected: list[float]
) -> None:
    assert kept(FrameSampler(interval_s), frames) == pytest.approx(expected)


def test_keyframes_only_skips_other_frames_and_counts_them() -> None:
    # 10 fps, keyframe every 10 frames (1 s GOP), sampling every 2 s.
    frames = [(i / 10, i % 10 == 0) for i in range(60)]
    sampler = FrameSampler(2.0, keyframes_only=True)
    assert kept(sampler, frames) == pytest.approx([0.0, 2.0, 4.0])
    assert sampler.kept == 3
    assert sampler.skipped == 57


def test_keyframes_only_with_interval_shorter_than_gop_keeps_every_keyframe() -> None:
    frames = [(i / 10, i % 20 == 0) for i in range(60)]  # 2 s GOP
    assert kept(FrameSampler(1.0, keyframes_only=True), frames) == pytest.approx([0.0, 2.0, 4.0])


@pytest.mark.parametrize("interval_s", [0.0, -1.0])
def test_rejects_non_positive_interval(interval_s: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        FrameSampler(interval_s)


def test_burst_samples_densely_until_its_end_then_returns_to_the_interval() -> None:
    sampler = FrameSampler(1.0, burst_interval_s=0.2)
    frames = every(0.1, 60)  # 10 fps for 6 s
    kept_s: list[float] = []
    for pts, key in frames:
        if sampler.keep(pts, key):
            kept_s.append(pts)
            if pts == 1.0:
                sampler.arm_burst(until_s=2.0)  # a rule saw a candidate on the frame at 1 s
    assert kept_s == [0.0, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 3.0, 4.0, 5.0]


def test_burst_extends_while_re_armed_and_never_goes_below_the_frame_rate() -> None:
    sampler = FrameSampler(1.0, burst_interval_s=0.01)
    kept_s = []
    for pts, key in every(0.1, 20):
        if sampler.keep(pts, key):
            kept_s.append(pts)
            sampler.arm_burst(until_s=pts + 0.5)
    assert kept_s == every_pts(0.1, 20)


def every_pts(step_s: float, count: int) -> list[float]:
    return [pts for pts, _ in every(step_s, count)]


def test_burst_needs_a_burst_interval() -> None:
    with pytest.raises(ValueError, match="burst_interval_s"):
        FrameSampler(1.0).arm_burst(5.0)
    with pytest.raises(ValueError, match="burst_interval_s must be positive"):
        FrameSampler(1.0, burst_interval_s=0)
