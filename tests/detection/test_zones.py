"""Zone membership by the bottom-centre anchor, in relative coordinates."""

from __future__ import annotations

import numpy as np
import pytest

from detection.detections import Detections
from detection.zones import Zone
from hub.contracts import ZoneSpec

WIDTH, HEIGHT = 200, 100


def boxes(*xyxy: tuple[float, float, float, float]) -> Detections:
    count = len(xyxy)
    return Detections(
        np.array(xyxy, dtype=np.float32).reshape(count, 4),
        np.full(count, 0.9, dtype=np.float32),
        np.zeros(count, dtype=np.int64),
    )


LEFT_HALF = ZoneSpec(id="left", polygon=[(0, 0), (0.5, 0), (0.5, 1), (0, 1)])
TRIANGLE = ZoneSpec(id="tri", polygon=[(0, 1), (1, 1), (0.5, 0)])
FULL = ZoneSpec(id="full", polygon=[(0, 0), (1, 0), (1, 1), (0, 1)])


@pytest.mark.parametrize(
    ("spec", "box", "inside"),
    [
        (LEFT_HALF, (10, 10, 30, 50), True),  # anchor (20, 50) -> (0.1, 0.5)
        (LEFT_HALF, (150, 10, 170, 50), False),  # anchor (160, 50) -> (0.8, 0.5)
        # Head inside, feet outside: the anchor decides, not the box.
        (LEFT_HALF, (90, 10, 130, 50), False),  # anchor x 110 -> 0.55
        (LEFT_HALF, (60, 10, 80, 50), True),  # box crosses nothing, anchor x 0.35
        (LEFT_HALF, (80, 10, 120, 50), True),  # anchor exactly on the edge (0.5) counts as in
        (TRIANGLE, (0, 0, 10, 20), False),  # anchor (5, 20) -> (0.025, 0.2): outside the slope
        (TRIANGLE, (90, 50, 110, 99), True),
        (FULL, (0, 0, 200, 100), True),  # feet on the bottom edge of the frame
    ],
)
def test_anchor_in_zone(
    spec: ZoneSpec, box: tuple[float, float, float, float], inside: bool
) -> None:
    mask = Zone.from_spec(spec).contains(boxes(box), WIDTH, HEIGHT)
    assert mask.tolist() == [inside]


def test_mask_keeps_order_of_detections() -> None:
    zone = Zone.from_spec(LEFT_HALF)
    detections = boxes((10, 10, 30, 50), (150, 10, 170, 50), (40, 0, 60, 90))
    assert zone.contains(detections, WIDTH, HEIGHT).tolist() == [True, False, True]
    assert len(detections.select(zone.contains(detections, WIDTH, HEIGHT))) == 2


def test_empty_detections_give_empty_mask() -> None:
    assert Zone.from_spec(FULL).contains(Detections.empty(), WIDTH, HEIGHT).shape == (0,)


def test_self_intersecting_polygon_is_refused() -> None:
    bowtie = ZoneSpec(id="bow", polygon=[(0, 0), (1, 1), (1, 0), (0, 1)])
    with pytest.raises(ValueError, match="self-intersecting"):
        Zone.from_spec(bowtie)


def test_relative_coordinates_outside_0_1_are_a_validation_error() -> None:
    with pytest.raises(ValueError, match="less than or equal to 1"):
        ZoneSpec(id="bad", polygon=[(0, 0), (1.5, 0), (1, 1)])
