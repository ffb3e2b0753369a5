"""Ground calibration and the crowd rule's density and growth options on the wire."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from detection import ground
from hub.contracts import Alert, CameraSpec, CrowdRuleSpec, GroundCalibration

ROAD_IMAGE = [[0.2, 0.9], [0.8, 0.9], [0.6, 0.4], [0.4, 0.4]]
ROAD_GROUND = [[0, 0], [10, 0], [10, 20], [0, 20]]


def camera(rule: dict[str, Any], calibration: dict[str, Any] | None) -> CameraSpec:
    return CameraSpec.model_validate(
        {
            "id": "cam",
            "url": "rtsp://cam/s1",
            "location": {"lat": 30.0, "lon": 104.0},
            "zones": [{"id": "z", "polygon": [[0, 0.5], [1, 0.5], [1, 1], [0, 1]]}],
            "rules": [rule],
            "ground_calibration": calibration,
        }
    )


def test_a_calibrated_density_rule_round_trips() -> None:
    spec = camera(
        {"id": "r", "zone_id": "z", "min_density_per_m2": 2, "growth_people": 5},
        {"image": ROAD_IMAGE, "ground_m": ROAD_GROUND},
    )
    assert CameraSpec.model_validate_json(spec.model_dump_json()) == spec
    rule = spec.rules[0]
    assert isinstance(rule, CrowdRuleSpec)
    assert (rule.min_density_per_m2, rule.growth_people, rule.growth_window_s) == (2, 5, 10)


def test_the_new_options_are_off_by_default() -> None:
    rule = CrowdRuleSpec(id="r", zone_id="z")
    assert (rule.min_density_per_m2, rule.growth_people, rule.growth_ratio) == (None, None, None)
    assert camera({"id": "r", "zone_id": "z"}, None).ground_calibration is None


def test_a_density_rule_needs_a_calibrated_camera() -> None:
    with pytest.raises(ValidationError, match="'r' sets min_density_per_m2, which needs the cam"):
        camera({"id": "r", "zone_id": "z", "min_density_per_m2": 2}, None)


@pytest.mark.parametrize(
    ("image", "ground_m", "message"),
    [
        # Image points 1, 2, 3 on one line.
        ([[0.1, 0.9], [0.5, 0.9], [0.9, 0.9], [0.5, 0.3]], ROAD_GROUND,
         "image points 1, 2, 3 are \\(nearly\\) collinear"),
        # Nearly so: 0.0001 off a line across the frame.
        ([[0.1, 0.9], [0.5, 0.9001], [0.9, 0.9], [0.5, 0.3]], ROAD_GROUND, "collinear"),
        ([[0.1, 0.9], [0.9, 0.9], [0.9, 0.1], [0.1, 0.1]], [[0, 0], [5, 5], [10, 10], [0, 10]],
         "ground_m points 1, 2, 3 are"),
        # Two ground points swapped: the quad would fold over the horizon.
        (ROAD_IMAGE, [[0, 0], [10, 0], [0, 20], [10, 20]], "different orders"),
        (ROAD_IMAGE, [[0, 0], [10, 0], [0, 20], [12, 25]], "different orders"),
        # The same bowtie on both sides agrees in order, but has no area on the ground.
        ([[0.1, 0.9], [0.9, 0.9], [0.1, 0.1], [0.9, 0.1]], [[0, 0], [10, 0], [0, 10], [10, 10]],
         "ground quad has no area"),
        (ROAD_IMAGE[:3], ROAD_GROUND[:3], "at least 4 items"),
        (ROAD_IMAGE, [[0, 0], [10, 0], [10, float("inf")], [0, 20]], "finite number"),
        ([[0.2, 1.5], [0.8, 0.9], [0.6, 0.4], [0.4, 0.4]], ROAD_GROUND, "less than or equal to 1"),
    ],
)  # fmt: skip
def test_ill_posed_calibrations_are_refused(
    image: list[list[float]], ground_m: list[list[float]], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        GroundCalibration.model_validate({"image": image, "ground_m": ground_m})


def test_a_mirrored_ground_frame_is_accepted() -> None:
    """Image y grows downwards; a plan's y usually upwards: the order still matches."""
    GroundCalibration.model_validate(
        {"image": [[0, 0.5], [1, 0.5], [1, 1], [0, 1]], "ground_m": [[0, 10], [20, 10], [20, 0],
                                                                     [0, 0]]}
    )  # fmt: skip


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("min_density_per_m2", 0), ("growth_people", 0), ("growth_window_s", 0),
        ("growth_ratio", 0), ("growth_ratio", -0.5),
        ("density_levels", [{"min_density_per_m2": 0, "level": "red"}]),
    ],
)  # fmt: skip
def test_growth_and_density_parameters_must_be_positive(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        CrowdRuleSpec.model_validate({"id": "r", "zone_id": "z", field: value})


def test_growth_ratio_and_density_levels_round_trip() -> None:
    rule = CrowdRuleSpec.model_validate(
        {"id": "r", "zone_id": "z", "growth_ratio": 0.5, "growth_window_s": 60,
         "density_levels": [{"min_density_per_m2": 3, "level": "red"}]}
    )  # fmt: skip
    assert (rule.growth_ratio, rule.growth_people, rule.watches_growth) == (0.5, None, True)
    assert CrowdRuleSpec.model_validate_json(rule.model_dump_json()) == rule
    assert CrowdRuleSpec(id="r", zone_id="z").watches_growth is False


def test_alerts_without_density_or_trigger_still_validate() -> None:
    payload = {
        "id": "a", "revision": 0, "camera_id": "cam", "kind": "crowd_gathering",
        "level": "yellow", "status": "active", "started_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z", "people_count": 10, "peak_people": 10,
        "zone_id": "z", "rule_id": "r", "location": {"lat": 30.0, "lon": 104.0},
        "detections": {"people_in_zone": 10, "people_in_frame": 12},
    }  # fmt: skip
    alert = Alert.model_validate(payload)
    assert (alert.density_per_m2, alert.trigger) == (None, None)
    grown = Alert.model_validate({**payload, "density_per_m2": 2.5, "trigger": "growth"})
    assert (grown.density_per_m2, grown.trigger) == (2.5, "growth")


def test_a_density_rule_on_a_zone_past_the_horizon_is_refused() -> None:
    # ROAD_*'s horizon crosses the frame at y = 0.15 (see tests/detection/test_ground.py).
    calibration = {"image": ROAD_IMAGE, "ground_m": ROAD_GROUND}
    sky = [[0.0, 0.1], [1.0, 0.1], [1.0, 1.0], [0.0, 1.0]]
    rule = {"id": "r", "zone_id": "z", "min_density_per_m2": 2}
    spec = camera(rule, calibration)  # the default zone, y >= 0.5: measurable
    with pytest.raises(ValidationError, match=r"zone 'z' \(vertices 1, 2\) reaches past the"):
        CameraSpec.model_validate(
            spec.model_dump() | {"zones": [{"id": "z", "polygon": sky}]}
        )
    # Without a density threshold the zone may reach into the sky: counts need no area.
    camera({"id": "r", "zone_id": "z"}, calibration).model_copy()


def test_the_hubs_horizon_is_the_workers() -> None:
    """The hub (pure Python) refuses exactly the points the worker's homography cannot map:
    random calibrations (the valid ones among 3,000 draws) and points over the frame."""
    rng = np.random.default_rng(20261207)
    checked = with_sky = 0
    for _ in range(3000):
        image, ground_m = rng.random((4, 2)), rng.uniform(-50, 50, (4, 2))
        try:
            calibration = GroundCalibration(image=image.tolist(), ground_m=ground_m.tolist())
        except ValidationError:
            continue
        points = rng.random((16, 2))
        w = ground.of_calibration(calibration)[2] @ np.vstack([points.T, np.ones(16)])
        keep = np.abs(w) > 1e-6  # on the horizon itself, rounding decides
        expected = [i for i, value in enumerate(w[keep]) if value <= 0]
        found = calibration.beyond_horizon([(float(x), float(y)) for x, y in points[keep]])
        assert found == expected
        checked, with_sky = checked + 1, with_sky + bool(expected)
    assert checked > 300 and with_sky > 100  # enough drawn, many with the horizon in view
