"""The analyzer runs every kind of rule over tracked detections, with schedules and bursts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import pytest

from detection.analyzer import CameraAnalyzer
from detection.backends.bytetrack import ByteTrackTracker
from detection.detections import ClassMap, Detections
from detection.tracking import Tracker
from hub.contracts import CameraSpec

WIDTH, HEIGHT = 200, 100
CLASSES = ClassMap({0: "Normal", 1: "Fall"}, frozenset({0, 1}), frozenset({1}))
# 2026-12-07 13:00 UTC is 21:00 in Shanghai: the night window opens an hour into the stream.
EPOCH = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)


class GivenIds:
    """A tracker whose ids are the boxes' confidences x 100 (the test chooses identities)."""

    def update(self, detections: Detections) -> Detections:
        return detections.with_track_ids((detections.confidence * 100).round().astype(np.int64))


def given_ids(_interval_s: float, _keep_lost_s: float) -> Tracker:
    return GivenIds()


def person(x: float, y_feet: float, track: int, *, fallen: bool = False) -> list[float]:
    """A box with its feet at (x, y_feet) pixels: lying boxes are wide, standing ones tall."""
    w, h = (40, 15) if fallen else (10, 40)
    return [x - w / 2, y_feet - h, x + w / 2, y_feet, track / 100, 1 if fallen else 0]


def frame(*rows: list[float]) -> Detections:
    array = np.array(rows, dtype=np.float32).reshape(len(rows), 6)
    return Detections(array[:, :4], array[:, 4], array[:, 5].astype(np.int64))


def camera(*rules: dict[str, object]) -> CameraSpec:
    return CameraSpec.model_validate(
        {
            "id": "cam",
            "url": "x.mp4",
            "location": {"lat": 30.0, "lon": 104.0},
            "zones": [{"id": "left", "polygon": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]}],
            "lines": [{"id": "gate", "a": [0.6, 0.5], "b": [1.0, 0.5]}],
            "rules": list(rules),
        }
    )


Reported = tuple[str, str, float, int | None]


def run(analyzer: CameraAnalyzer, frames: Sequence[tuple[float, Detections]]) -> list[Reported]:
    outcomes = []
    for at_s, detections in frames:
        outcomes += analyzer.observe(at_s, WIDTH, HEIGHT, detections)
    return [(o.rule.id, o.event.type, o.event.at_s, o.event.track_id) for o in outcomes]


def test_loitering_alerts_on_the_person_who_stays_not_on_passers_by() -> None:
    cam = camera({"id": "loiter", "kind": "loitering", "zone_id": "left", "dwell_s": 3})
    analyzer = CameraAnalyzer(cam, CLASSES, tracker_factory=given_ids)
    frames = [
        (t, frame(person(30, 80, 7), person(60 + 20 * t, 80, 8)))  # 8 walks out of the zone
        for t in range(5)
    ]
    assert run(analyzer, frames) == [("loiter", "started", 3, 7)]
    assert [(o.event.type, o.event.track_id) for o in analyzer.finish(5)] == [("ended", 7)]


def test_intrusion_and_crowd_share_one_frame_and_the_alert_names_its_box() -> None:
    cam = camera(
        {"id": "intrude", "kind": "intrusion", "zone_id": "left", "min_inside_s": 1},
        {"id": "crowd", "zone_id": "left", "min_people": 2, "hold_s": 0},
    )
    analyzer = CameraAnalyzer(cam, CLASSES, tracker_factory=given_ids)
    outcomes = analyzer.observe(0, WIDTH, HEIGHT, frame(person(30, 80, 1), person(40, 80, 2)))
    assert [(o.rule.id, o.event.type) for o in outcomes] == [("crowd", "started")]
    outcomes = analyzer.observe(1, WIDTH, HEIGHT, frame(person(30, 80, 1), person(150, 80, 2)))
    intrusions = [o for o in outcomes if o.rule.id == "intrude"]
    assert [(o.event.track_id, len(o.objects)) for o in intrusions] == [(1, 1)]
    assert intrusions[0].objects.tracks.tolist() == [1]


def test_fall_needs_a_fallen_label_and_a_lying_box_on_consecutive_samples() -> None:
    cam = camera({"id": "fall", "kind": "fall", "zone_id": "left", "min_frames": 3,
                  "lying_s": 0.4})  # fmt: skip
    analyzer = CameraAnalyzer(cam, CLASSES, tracker_factory=given_ids)
    upright_but_labelled_fallen = [35, 40, 45, 80, 0.05, 1]  # tall box with the Fall class
    frames = [(i * 0.2, frame(upright_but_labelled_fallen)) for i in range(5)]
    frames += [(1.0 + i * 0.2, frame(person(40, 80, 5, fallen=True))) for i in range(3)]
    assert run(analyzer, frames) == [("fall", "started", 1.4, 5)]


def fall_camera(**fields: object) -> CameraSpec:
    return camera({"id": "fall", "kind": "fall", "zone_id": "left", "min_frames": 2,
                   "lying_s": 0.2, **fields})  # fmt: skip


def test_something_lying_there_from_the_start_is_not_a_fall() -> None:
    analyzer = CameraAnalyzer(fall_camera(), CLASSES, tracker_factory=given_ids)
    lying = [(i * 0.2, frame(person(40, 80, 6, fallen=True))) for i in range(50)]
    assert run(analyzer, lying) == []


def test_a_person_standing_elsewhere_does_not_make_a_lying_object_a_fall() -> None:
    analyzer = CameraAnalyzer(fall_camera(), CLASSES, tracker_factory=given_ids)
    frames = [(i * 0.2, frame(person(90, 30, 1))) for i in range(5)]  # far from the spot
    frames += [(1 + i * 0.2, frame(person(30, 80, 6, fallen=True))) for i in range(5)]
    assert run(analyzer, frames) == []


def test_standing_then_lying_on_the_same_spot_is_a_fall_even_with_a_new_track_id() -> None:
    analyzer = CameraAnalyzer(fall_camera(), CLASSES, tracker_factory=given_ids)
    frames = [(i * 0.2, frame(person(30, 80, 1))) for i in range(5)]
    frames += [(1 + i * 0.2, frame(person(30, 80, 6, fallen=True))) for i in range(2)]
    assert run(analyzer, frames) == [("fall", "started", 1.2, 6)]


def test_standing_too_long_ago_does_not_count() -> None:
    analyzer = CameraAnalyzer(fall_camera(upright_within_s=1), CLASSES, tracker_factory=given_ids)
    frames = [(0.0, frame(person(30, 80, 1)))]
    frames += [(3 + i * 0.2, frame(person(30, 80, 6, fallen=True))) for i in range(3)]
    assert run(analyzer, frames) == []
    analyzer = CameraAnalyzer(fall_camera(upright_within_s=0), CLASSES, tracker_factory=given_ids)
    assert run(analyzer, frames) == [("fall", "started", 3.2, 6)], "0 turns the check off"


def test_line_crossing_reports_direction_and_totals() -> None:
    cam = camera({"id": "tripwire", "kind": "line_crossing", "line_id": "gate",
                  "direction": "both"})  # fmt: skip
    analyzer = CameraAnalyzer(cam, CLASSES, tracker_factory=given_ids)
    down = [(i * 0.2, frame(person(150, 40 + 10 * i, 3))) for i in range(3)]
    outcomes = [o for at_s, d in down for o in analyzer.observe(at_s, WIDTH, HEIGHT, d)]
    assert [(o.event.direction, o.event.totals) for o in outcomes] == [("in", (1, 0))]


def test_schedule_disarms_and_ends_open_alerts_then_rearms() -> None:
    night = {"windows": [{"start": "22:00", "end": "06:00"}]}  # Shanghai time
    cam = camera({"id": "intrude", "kind": "intrusion", "zone_id": "left", "min_inside_s": 0,
                  "schedule": night, "cooldown_s": 0})  # fmt: skip
    analyzer = CameraAnalyzer(cam, CLASSES, epoch=EPOCH, tracker_factory=given_ids)
    someone = frame(person(30, 80, 4))
    assert run(analyzer, [(0, someone), (3599, someone)]) == [], "21:00-21:59: not armed"
    assert run(analyzer, [(3600, someone)]) == [("intrude", "started", 3600, 4)]
    # 06:00 Shanghai is 9 hours in: the rule disarms and ends the alert at once.
    assert run(analyzer, [(9 * 3600, someone)]) == [("intrude", "ended", 9 * 3600, 4)]


def test_schedules_need_the_stream_epoch() -> None:
    cam = camera({"id": "i", "kind": "intrusion", "zone_id": "left",
                  "schedule": {"windows": [{}]}})  # fmt: skip
    analyzer = CameraAnalyzer(cam, CLASSES, tracker_factory=given_ids)
    with pytest.raises(ValueError, match="epoch"):
        analyzer.observe(0, WIDTH, HEIGHT, frame(person(30, 80, 1)))


def test_per_object_rules_need_a_tracker_and_crowd_rules_do_not() -> None:
    CameraAnalyzer(camera({"id": "crowd", "zone_id": "left"}), CLASSES)
    with pytest.raises(ValueError, match="need a tracker"):
        CameraAnalyzer(camera({"id": "l", "kind": "loitering", "zone_id": "left"}), CLASSES)


def test_wants_burst_while_a_per_object_rule_sees_a_candidate() -> None:
    cam = camera({"id": "l", "kind": "loitering", "zone_id": "left"})
    analyzer = CameraAnalyzer(cam, CLASSES, tracker_factory=given_ids)
    analyzer.observe(0, WIDTH, HEIGHT, frame(person(150, 80, 1)))
    assert not analyzer.wants_burst, "outside the zone"
    analyzer.observe(1, WIDTH, HEIGHT, frame(person(30, 80, 1)))
    assert analyzer.wants_burst


def test_bytetrack_keeps_identities_of_moving_people_and_numbers_new_ones() -> None:
    tracker = ByteTrackTracker(interval_s=0.2, keep_lost_s=2.0)
    ids = []
    for step in range(8):
        rows = [person(20 + 3 * step, 80, 90), person(150, 60 + step, 80)]
        if step >= 4:
            rows.append(person(100, 90, 70))  # a newcomer
        ids.append(tracker.update(frame(*rows)).tracks.tolist())
    assert ids[0] == [1, 2]
    assert all(row[:2] == [1, 2] for row in ids), ids
    assert ids[-1][2] not in (1, 2)


def test_bytetrack_recovers_a_briefly_hidden_person_with_the_same_id() -> None:
    tracker = ByteTrackTracker(interval_s=0.2, keep_lost_s=2.0)
    seen = [tracker.update(frame(person(50 + 2 * i, 80, 90))).tracks.tolist() for i in range(5)]
    hidden = [tracker.update(Detections.empty()).tracks.tolist() for _ in range(3)]
    back = tracker.update(frame(person(66, 80, 90))).tracks.tolist()
    assert seen[-1] == [1] and hidden == [[], [], []] and back == [1]
