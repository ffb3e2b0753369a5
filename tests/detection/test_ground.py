"""Image to ground homography: exact on the calibration points, round trips, areas in m²."""

from __future__ import annotations

import numpy as np
import pytest

from detection import ground
from hub.contracts import GroundCalibration

# A synthetic camera: relative image (x, y) -> metres, with perspective (w varies over the image).
TRUE_H = np.array([[12.0, 3.0, -4.0], [1.0, -25.0, 30.0], [0.2, 1.5, 1.0]])


def project(h: np.ndarray, points: np.ndarray) -> np.ndarray:
    mapped = h @ np.vstack([points.T, np.ones(len(points))])
    return np.asarray((mapped[:2] / mapped[2]).T)


# A road seen in perspective: a trapezoid on the image is a 10 m x 20 m rectangle on the ground.
ROAD_IMAGE = [(0.2, 0.9), (0.8, 0.9), (0.6, 0.4), (0.4, 0.4)]
ROAD_GROUND = [(0.0, 0.0), (10.0, 0.0), (10.0, 20.0), (0.0, 20.0)]


@pytest.mark.parametrize(
    ("image", "ground_m"),
    [
        (ROAD_IMAGE, ROAD_GROUND),
        ([(0.1, 0.1), (0.9, 0.2), (0.8, 0.95), (0.05, 0.7)],
         [tuple(p) for p in project(TRUE_H, np.array([(0.1, 0.1), (0.9, 0.2), (0.8, 0.95),
                                                       (0.05, 0.7)]))]),
        # Mirrored ground axes (y up on the plan, down on the image) are fine.
        ([(0, 0.5), (1, 0.5), (1, 1), (0, 1)], [(0, 10), (20, 10), (20, 0), (0, 0)]),
    ],
)  # fmt: skip
def test_calibration_points_map_onto_their_ground_points(
    image: list[tuple[float, float]], ground_m: list[tuple[float, float]]
) -> None:
    h = ground.homography(image, ground_m)
    assert np.abs(ground.to_ground(h, image) - np.array(ground_m)).max() < 1e-6


def test_a_known_homography_round_trips() -> None:
    corners = np.array([(0.1, 0.1), (0.9, 0.2), (0.8, 0.95), (0.05, 0.7)])
    h = ground.homography(corners, project(TRUE_H, corners))
    assert np.allclose(h / h[2, 2], TRUE_H / TRUE_H[2, 2], atol=1e-9)
    others = np.random.default_rng(7).uniform(0, 1, size=(50, 2))
    assert np.abs(ground.to_ground(h, others) - project(TRUE_H, others)).max() < 1e-6


def test_zone_area_is_the_shoelace_area_on_the_ground() -> None:
    h = ground.homography(ROAD_IMAGE, ROAD_GROUND)
    assert ground.polygon_area_m2(h, ROAD_IMAGE) == pytest.approx(200.0, abs=1e-6)
    # The near half of the road (0 to 10 m) takes more than half the trapezoid's rows:
    # perspective squeezes the far part (row 0.525, not 0.65, with the horizon at 0.15).
    near = [(0.2, 0.9), (0.8, 0.9)] + [tuple(p) for p in _image_of(h, [(10, 10), (0, 10)])]
    assert near[2][1] == pytest.approx(0.525, abs=1e-9)
    assert ground.polygon_area_m2(h, near) == pytest.approx(100.0, abs=1e-6)


def _image_of(h: np.ndarray, points: list[tuple[float, float]]) -> np.ndarray:
    return project(np.linalg.inv(h), np.array(points, dtype=np.float64))


def test_points_past_the_horizon_have_no_ground_position() -> None:
    h = ground.homography(ROAD_IMAGE, ROAD_GROUND)  # the side lines meet at y = 0.15
    with pytest.raises(ValueError, match="horizon"):
        ground.to_ground(h, [(0.5, 0.1)])
    with pytest.raises(ValueError, match="horizon"):
        ground.polygon_area_m2(h, [(0, 0), (1, 0), (1, 1), (0, 1)])


@pytest.mark.parametrize(
    ("image", "ground_m", "message"),
    [
        ([(0, 0), (0.5, 0.5), (1, 1), (0, 1)], ROAD_GROUND, "degenerate"),
        (ROAD_IMAGE, [(0, 0), (10, 0), (0, 20), (10, 20)], "different orders"),
        (ROAD_IMAGE[:3], ROAD_GROUND[:3], "exactly four"),
    ],
)
def test_ill_posed_calibrations_are_refused(
    image: list[tuple[float, float]], ground_m: list[tuple[float, float]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ground.homography(image, ground_m)


def test_of_calibration_uses_the_contract() -> None:
    calibration = GroundCalibration(image=ROAD_IMAGE, ground_m=ROAD_GROUND)
    h = ground.of_calibration(calibration)
    assert np.abs(ground.to_ground(h, ROAD_IMAGE) - np.array(ROAD_GROUND)).max() < 1e-6
