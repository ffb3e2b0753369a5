"""Zone membership: which detections stand inside a polygon given in relative coordinates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Polygon

from detection.detections import BoolArray, Detections
from hub.contracts import RelativePoint, ZoneSpec


@dataclass(frozen=True)
class Zone:
    """A zone ready for tests: the spec plus its prepared polygon (relative 0-1 coordinates)."""

    id: str
    polygon: Polygon

    @classmethod
    def from_spec(cls, spec: ZoneSpec) -> Zone:
        return polygon_zone(spec.id, spec.polygon)

    def contains(self, detections: Detections, frame_width: int, frame_height: int) -> BoolArray:
        """Mask of detections whose bottom-centre anchor lies in the zone (edges count as in)."""
        if len(detections) == 0:
            return np.zeros(0, dtype=np.bool_)
        anchors = detections.bottom_centres()
        xs = anchors[:, 0] / frame_width
        ys = anchors[:, 1] / frame_height
        return np.asarray(shapely.intersects_xy(self.polygon, xs, ys), dtype=np.bool_)


def polygon_zone(zone_id: str, points: list[RelativePoint]) -> Zone:
    polygon = Polygon(points)
    if not polygon.is_valid or polygon.area <= 0:
        raise ValueError(f"zone {zone_id!r}: polygon is self-intersecting or has no area")
    shapely.prepare(polygon)
    return Zone(zone_id, polygon)
