"""The console map's layers as GeoJSON FeatureCollections: pure, time is an argument.

Each builder takes the hub's own values and keeps only what a map needs: cameras give place,
heading and field of view (never stream URLs, usernames or passwords); responders their last
position, its age and their availability. Rings are points with `radius_m` (GeoJSON has no
circle): the straight-line reach in the ring's minutes at the configured travel speed, divided by
the detour factor as the dispatch ETA counts it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from shapely.geometry import mapping

from hub.camera_registry import StoredCamera
from hub.dispatch import DispatchPolicy, SpeedProfile, TravelMode
from hub.grid import Grid
from hub.lifecycle import Incident
from hub.responders import ResponderRecord

Feature = dict[str, Any]
FeatureCollection = dict[str, Any]


def collection(features: Iterable[Feature]) -> FeatureCollection:
    return {"type": "FeatureCollection", "features": list(features)}


def _point(lat: float, lon: float, properties: dict[str, Any]) -> Feature:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": properties}  # fmt: skip


def grid_layer(grid: Grid | None) -> FeatureCollection:
    """Grid nodes, city first (so that cells draw on top), each with its name and level."""
    if grid is None:
        return collection([])
    nodes = sorted(grid.nodes.values(), key=lambda node: (node.level.depth, node.id))
    return collection(
        {"type": "Feature", "geometry": mapping(node.polygon), "properties": {
            "id": node.id, "name": node.name, "level": node.level.value,
            "parent": node.parent.id if node.parent else None, "ring_min": node.ring_min}}
        for node in nodes
    )  # fmt: skip


def camera_layer(cameras: Iterable[StoredCamera]) -> FeatureCollection:
    features = []
    for camera in cameras:
        record = camera.record
        features.append(_point(record.location.lat, record.location.lon, {
            "id": record.id, "name": record.name or record.id, "heading_deg": record.heading_deg,
            "fov_deg": record.fov_deg, "grid_cell": record.grid_cell, "enabled": record.enabled,
        }))  # fmt: skip
    return collection(features)


def incident_layer(incidents: Iterable[Incident], grid: Grid | None) -> FeatureCollection:
    """Open incidents with a location; `place` is the point of interest or ring they lie in."""
    features = []
    for incident in incidents:
        if incident.location is None or incident.is_closed:
            continue
        lat, lon = incident.location.lat, incident.location.lon
        place = grid.place_at(lat, lon) if grid else None
        features.append(_point(lat, lon, {
            "id": incident.id, "kind": incident.kind, "colour": incident.colour.value,
            "state": incident.state.value, "grid_cell": incident.grid_cell,
            "ring_min": incident.ring_min, "place_id": place.id if place else None,
            "place_name": place.name if place else None,
            "updated_at": incident.updated_at.isoformat(),
        }))  # fmt: skip
    return collection(features)


def responder_layer(
    responders: Iterable[ResponderRecord], now: datetime, policy: DispatchPolicy
) -> FeatureCollection:
    """Responders with a known position; `stale`: older than dispatch counts as known."""
    features = []
    for responder in responders:
        position = responder.position
        if position is None:
            continue
        age_s = max(0.0, (now - position.reported_at).total_seconds())
        features.append(_point(position.location.lat, position.location.lon, {
            "id": responder.id, "name": responder.name or responder.id, "team": responder.team,
            "mode": responder.mode.value, "availability": responder.availability.value,
            "reported_at": position.reported_at.isoformat(), "age_s": round(age_s, 1),
            "stale": age_s > policy.max_position_age_s, "accuracy_m": position.accuracy_m,
        }))  # fmt: skip
    return collection(features)


def ring_radius_m(minutes: int, speeds: SpeedProfile, mode: TravelMode) -> float:
    return minutes * 60 * speeds.speed_m_s(mode) / speeds.detour_factor


def ring_layer(grid: Grid | None, speeds: SpeedProfile, mode: TravelMode) -> FeatureCollection:
    """One ring per place, centred inside it (a point place: its point)."""
    if grid is None:
        return collection([])
    features = []
    for place in grid.places:
        centre = place.geometry.representative_point()
        features.append(_point(float(centre.y), float(centre.x), {
            "id": place.id, "name": place.name, "ring_min": place.ring_min,
            "radius_m": round(ring_radius_m(place.ring_min, speeds, mode), 1),
            "place_radius_m": place.radius_m, "grid_cell": place.node.id if place.node else None,
        }))  # fmt: skip
    return collection(features)
