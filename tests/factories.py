"""Test data builders for wire contracts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hub.contracts import (
    Alert,
    AlertKind,
    AlertStatus,
    DetectionSummary,
    GeoPoint,
    Level,
    alert_id,
)

T0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)


def make_alert(
    camera_id: str = "cam-1",
    *,
    started_s: float = 0.0,
    revision: int = 0,
    level: Level = Level.YELLOW,
    people: int = 9,
    **overrides: Any,
) -> Alert:
    started_at = T0 + timedelta(seconds=started_s)
    values: dict[str, Any] = {
        "id": alert_id(camera_id, "plaza", "crowd", started_at),
        "revision": revision,
        "camera_id": camera_id,
        "camera_name": f"Camera {camera_id}",
        "kind": AlertKind.CROWD_GATHERING,
        "level": level,
        "status": AlertStatus.ACTIVE,
        "started_at": started_at,
        "updated_at": started_at + timedelta(seconds=5 + 30 * revision),
        "people_count": people,
        "peak_people": people,
        "zone_id": "plaza",
        "rule_id": "crowd",
        "location": GeoPoint(lat=30.657, lon=104.066),
        "grid_cell": "grid-1",
        "detections": DetectionSummary(people_in_zone=people, people_in_frame=people + 1),
    }
    values.update(overrides)
    return Alert(**values)
