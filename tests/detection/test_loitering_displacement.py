"""Loitering that tells lingering from walking through: net displacement / path length."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from detection.analyzer import CameraAnalyzer
from detection.detections import ClassMap, Detections
from detection.rules import displacement, presence
from detection.tracking import Tracker
from hub.contracts import CameraSpec, LoiteringRuleSpec


def trail(*points: tuple[float, float]) -> displacement.Trail:
    return tuple((float(i), x, y) for i, (x, y) in enumerate(points))


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        ([(0, 0), (10, 0), (20, 0), (30, 0)], 1.0),  # straight through
        ([(0, 0), (10, 0), (0, 0), (10, 0)], 10 / 30),  # pacing
        ([(0, 0), (10, 0), (10, 10), (0, 10), (0, 0)], 0.0),  # a lap
        ([(0, 0), (30, 40)], 1.0),
        ([(5, 5), (5, 5), (5, 5)], 0.0),  # never moved
        ([(5, 5)], 0.0),
        ([(0, 0), (10, 0), (10, 10)], math.hypot(10, 10) / 20),  # a corner
    ],
)
def test_ratio(points: list[tuple[float, float]], expected: float) -> None:
    assert displacement.ratio(trail(*points)) == pytest.approx(expected)


def test_the_trail_keeps_one_point_a_second_over_the_window() -> None:
    kept: displacement.Trail = ()
    for i in range(26):  # 5 fps for 5 s
        kept = displacement.extend(kept, i * 0.2, (i, 0.0), window_s=3.0)
    assert [round(at_s, 6) for at_s, _, _ in kept] == [2.0, 3.0, 4.0, 5.0]


RATIO = 0.5
PARAMS = presence.PresenceParams.of(
    LoiteringRuleSpec(id="l", zone_id="z", dwell_s=10, miss_tolerance_s=3,
                      max_displacement_ratio=RATIO)
)  # fmt: skip
PLAIN = presence.PresenceParams.of(LoiteringRuleSpec(id="l", zone_id="z", dwell_s=10))


Event = tuple[str, float, float]


def run(params: presence.PresenceParams, path: list[tuple[float, float]]) -> list[Event]:
    """Track 7 at `path[t]` at t = 0, 1, 2 ... s; events as (type, at_s, started_s)."""
    state = presence.PresenceState()
    seen: list[Event] = []
    for at_s, point in enumerate(path):
        state, events = presence.step(params, state, at_s, frozenset({7}), 1, {7: point})
        seen += [(event.type, event.at_s, event.started_s) for event in events]
    return seen


SLOW_WALK = [(5.0 * t, 80.0) for t in range(30)]  # 5 px/s, straight, for 30 s
PACING = [(100.0 + (20 if t % 4 in (1, 2) else 0), 80.0) for t in range(30)]
JITTER = [(100.0 + (-1) ** t, 80.0 + (t % 3)) for t in range(30)]  # standing, box jitter
WALK_THEN_WAIT = [(10.0 * min(t, 10), 80.0) for t in range(30)]  # walks 10 s, then stands


@pytest.mark.parametrize(
    ("name", "path", "expected"),
    [
        ("walking through slowly is not loitering", SLOW_WALK, []),
        ("pacing is", PACING, [("started", 10, 0)]),
        ("standing with a jittery box is", JITTER, [("started", 10, 0)]),
        # Once the walk has left the 10 s window (at 20) only standing is left: reported then,
        # as an alert that started when the person came in.
        ("walking in, then waiting, is once the wait fills the window", WALK_THEN_WAIT,
         [("started", 20, 0)]),
    ],
)  # fmt: skip
def test_displacement_table(
    name: str, path: list[tuple[float, float]], expected: list[Event]
) -> None:
    assert run(PARAMS, path) == expected, name


def test_off_by_default_as_before() -> None:
    assert LoiteringRuleSpec(id="l", zone_id="z").max_displacement_ratio is None
    assert run(PLAIN, SLOW_WALK) == [("started", 10, 0)]  # the walker alerts, as it always did
    assert not PLAIN.needs_positions and PARAMS.needs_positions


def test_the_trail_is_dropped_once_the_alert_is_raised() -> None:
    state = presence.PresenceState()
    for at_s, point in enumerate(JITTER[:12]):
        state, _ = presence.step(PARAMS, state, at_s, frozenset({7}), 1, {7: point})
    assert state.tracks[7].active and state.tracks[7].trail == ()


def test_positions_are_required_when_the_ratio_is_set() -> None:
    with pytest.raises(ValueError, match="foot point of every meeting track"):
        presence.step(PARAMS, presence.PresenceState(), 0, frozenset({7}), 1)
    with pytest.raises(ValueError, match="foot point"):
        presence.step(PARAMS, presence.PresenceState(), 0, frozenset({7, 8}), 2, {7: (0, 0)})


@pytest.mark.parametrize("value", [0, -0.1, 1.5])
def test_the_ratio_must_be_a_share(value: float) -> None:
    with pytest.raises(ValidationError, match="max_displacement_ratio"):
        LoiteringRuleSpec(id="l", zone_id="z", max_displacement_ratio=value)


class GivenIds:
    """Track ids are the boxes' confidences x 100."""

    def update(self, detections: Detections) -> Detections:
        return detections.with_track_ids((detections.confidence * 100).round().astype(np.int64))


def given_ids(_interval_s: float, _keep_lost_s: float) -> Tracker:
    return GivenIds()


def test_the_analyzer_feeds_foot_points_to_the_rule() -> None:
    cam = CameraSpec.model_validate(
        {
            "id": "cam", "url": "x.mp4", "location": {"lat": 30.0, "lon": 104.0},
            "zones": [{"id": "all", "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]]}],
            "rules": [{"id": "loiter", "kind": "loitering", "zone_id": "all", "dwell_s": 5,
                       "max_displacement_ratio": 0.5}],
        }
    )  # fmt: skip
    people = ClassMap({0: "person"}, frozenset({0}))
    analyzer = CameraAnalyzer(cam, people, tracker_factory=given_ids)
    reported = []
    for t in range(12):
        walker = [10 + 15 * t, 40, 20 + 15 * t, 80, 0.08, 0]  # track 8 crosses the frame
        waiter = [100 + t % 2, 40, 110 + t % 2, 80, 0.09, 0]  # track 9 stands
        rows = np.array([walker, waiter], dtype=np.float32)
        detections = Detections(rows[:, :4], rows[:, 4], rows[:, 5].astype(np.int64))
        outcomes = analyzer.observe(float(t), 200, 100, detections)
        reported += [(o.event.type, o.event.at_s, o.event.track_id) for o in outcomes]
    assert reported == [("started", 5, 9)]
