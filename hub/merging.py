"""Which open incident an alert joins (pure): same kind, recent, and the same place.

"The same place" is the same grid cell when both have one, else within `radius_m` of the
incident's first alert (cameras on the same square watch one crowd from several sides). Among
several matches the nearest wins, then the most recently updated, then the lowest id, so the
answer never depends on the order the store returned them in.

Candidates need only a few columns (`MergeCandidate`), so a batch of alerts finds its targets
from one indexed query, by grid cell or by tile (`tiles_near`: the 0.01-degree tiles a radius
touches), without reading incident bodies. Tiles do not wrap at the 180th meridian.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from hub.contracts import GeoPoint
from hub.grid import EARTH_RADIUS_M, distance_m

M = TypeVar("M", bound="Mergeable")
_MARGIN = 1.01  # a box a little larger than the circle: rounding never loses a match
TILE_DEG = 0.01  # about 1.1 km north-south; merge radii are a few hundred metres


@dataclass(frozen=True)
class MergeRule:
    window_s: float = 600.0  # an incident idle longer than this is not joined
    radius_m: float = 150.0


class Mergeable(Protocol):
    """What merging reads of an incident (an `Incident` is one)."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def grid_cell(self) -> str | None: ...
    @property
    def location(self) -> GeoPoint | None: ...
    @property
    def updated_at(self) -> datetime: ...
    @property
    def is_closed(self) -> bool: ...


@dataclass(frozen=True)
class MergeCandidate:
    """An open incident as the store's candidate query returns it."""

    id: str
    kind: str
    grid_cell: str | None
    location: GeoPoint | None
    updated_at: datetime
    is_closed: bool = False
    version: int | None = None  # as stored; None: opened in this batch


def merge_target(
    kind: str,
    where: GeoPoint,
    grid_cell: str | None,
    at: datetime,
    candidates: Iterable[M],
    rule: MergeRule,
) -> M | None:
    best: tuple[float, float, str] | None = None
    found: M | None = None
    for incident in candidates:
        if incident.kind != kind or incident.is_closed:
            continue
        if incident.updated_at < at - timedelta(seconds=rule.window_s):
            continue
        same_cell = grid_cell is not None and incident.grid_cell == grid_cell
        distance = _distance(incident, where)
        near = distance is not None and distance <= rule.radius_m
        if not (same_cell or near):
            continue
        key = (distance if distance is not None else rule.radius_m,
               -incident.updated_at.timestamp(), incident.id)  # fmt: skip
        if best is None or key < best:
            best, found = key, incident
    return found


def tile_of(lat: float, lon: float) -> str:
    """The 0.01-degree tile a point lies in (stored with each incident, indexed)."""
    return f"{math.floor(lat / TILE_DEG)}:{math.floor(lon / TILE_DEG)}"


def tiles_near(where: GeoPoint, radius_m: float) -> set[str]:
    """Every tile that a point within `radius_m` of `where` can lie in."""
    dlat = math.degrees(radius_m * _MARGIN / EARTH_RADIUS_M)
    cos_lat = max(math.cos(math.radians(where.lat)), 1e-6)  # the poles: any longitude
    dlon = min(180.0, dlat / cos_lat)
    rows = range(math.floor((where.lat - dlat) / TILE_DEG),
                 math.floor((where.lat + dlat) / TILE_DEG) + 1)  # fmt: skip
    columns = range(math.floor((where.lon - dlon) / TILE_DEG),
                    math.floor((where.lon + dlon) / TILE_DEG) + 1)  # fmt: skip
    return {f"{row}:{column}" for row in rows for column in columns}


def _distance(incident: Mergeable, where: GeoPoint) -> float | None:
    if incident.location is None:
        return None
    return distance_m(incident.location.lat, incident.location.lon, where.lat, where.lon)
