"""Which open incident an alert joins (pure): same kind, recent, and the same place.

"The same place" is the same grid cell when both have one, else within `radius_m` of the
incident's first alert (cameras on the same square watch one crowd from several sides). Among
several matches the nearest wins, then the most recently updated, then the lowest id, so the
answer never depends on the order the store returned them in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.contracts import GeoPoint
from hub.grid import distance_m
from hub.lifecycle import Incident


@dataclass(frozen=True)
class MergeRule:
    window_s: float = 600.0  # an incident idle longer than this is not joined
    radius_m: float = 150.0


def merge_target(
    kind: str,
    where: GeoPoint,
    grid_cell: str | None,
    at: datetime,
    candidates: Iterable[Incident],
    rule: MergeRule,
) -> Incident | None:
    best: tuple[float, float, str] | None = None
    found: Incident | None = None
    for incident in candidates:
        if incident.kind != kind or incident.is_closed:
            continue
        if incident.updated_at < at - timedelta(seconds=rule.window_s):
            continue
        distance = _distance(incident, where)
        same_cell = grid_cell is not None and incident.grid_cell == grid_cell
        near = distance is not None and distance <= rule.radius_m
        if not (same_cell or near):
            continue
        key = (distance if distance is not None else rule.radius_m,
               -incident.updated_at.timestamp(), incident.id)  # fmt: skip
        if best is None or key < best:
            best, found = key, incident
    return found


def _distance(incident: Incident, where: GeoPoint) -> float | None:
    if incident.location is None:
        return None
    return distance_m(incident.location.lat, incident.location.lon, where.lat, where.lon)
