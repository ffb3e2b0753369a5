"""Batcher tables: latest wins per camera, flush on size or wait, stale frames dropped."""

from __future__ import annotations

import pytest

from detection.batching import STALE, SUPERSEDED, Batcher


def batcher(max_size: int = 3, max_wait_s: float = 0.05, max_age_s: float = 1.0) -> Batcher[str]:
    return Batcher(max_size=max_size, max_wait_s=max_wait_s, max_age_s=max_age_s)


def ids(batch: list) -> list[str]:  # type: ignore[type-arg]
    return [waiting.item for waiting in batch]


@pytest.mark.parametrize(
    ("offers", "now_s", "ready"),
    [
        ([], 10.0, False),  # nothing waits
        ([("a", 0.0)], 0.01, False),  # one camera, not waited long enough
        ([("a", 0.0)], 0.05, True),  # max_wait_s reached
        ([("a", 0.0), ("b", 0.01), ("c", 0.02)], 0.02, True),  # max_size cameras
        ([("a", 0.0), ("a", 0.01), ("a", 0.02)], 0.02, False),  # one camera thrice is one frame
    ],
)
def test_ready(offers: list[tuple[str, float]], now_s: float, ready: bool) -> None:
    b = batcher()
    for camera, at in offers:
        b.offer(camera, f"{camera}@{at}", at)
    assert b.ready(now_s) is ready


def test_latest_frame_of_a_camera_wins_and_the_drop_is_counted() -> None:
    b = batcher()
    assert b.offer("a", "a1", 0.0) is None
    replaced = b.offer("a", "a2", 0.02)
    assert replaced is not None and replaced.item == "a1"
    batch, stale = b.take(0.05)
    assert ids(batch) == ["a2"] and stale == []
    assert b.drops == {SUPERSEDED: 1}


def test_one_frame_per_camera_per_batch_oldest_first_rest_waits() -> None:
    b = batcher(max_size=2)
    b.offer("c", "c1", 0.02)
    b.offer("a", "a1", 0.00)
    b.offer("b", "b1", 0.01)
    batch, _ = b.take(0.03)
    assert ids(batch) == ["a1", "b1"]
    assert len(b) == 1
    batch, _ = b.take(0.03)
    assert ids(batch) == ["c1"] and len(b) == 0


def test_stale_frames_are_dropped_on_take() -> None:
    b = batcher(max_age_s=0.5)
    b.offer("old", "old1", 0.0)
    b.offer("new", "new1", 0.45)
    batch, stale = b.take(0.6)
    assert ids(batch) == ["new1"] and ids(stale) == ["old1"]
    assert b.drops == {STALE: 1}


def test_wait_s_tells_the_loop_how_long_to_sleep() -> None:
    b = batcher(max_wait_s=0.05)
    assert b.wait_s(0.0) is None
    b.offer("a", "a1", 1.0)
    assert b.wait_s(1.01) == pytest.approx(0.04)
    assert b.wait_s(1.07) == 0.0


def test_rejects_nonsense_limits() -> None:
    with pytest.raises(ValueError, match="max_size"):
        Batcher[str](max_size=0, max_wait_s=0.01, max_age_s=1)
