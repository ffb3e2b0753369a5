"""Wire contracts: deterministic ids, UTC times, validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from hub.contracts import CameraSpec, CrowdRuleSpec, GeoPoint, Level, ZoneSpec, alert_id

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_alert_id_is_deterministic_and_depends_on_every_part() -> None:
    base = alert_id("cam", "zone", "rule", T0)
    assert base == alert_id("cam", "zone", "rule", T0)
    # The same instant in another timezone is the same alert.
    assert base == alert_id("cam", "zone", "rule", T0.astimezone(timezone(timedelta(hours=8))))
    others = {
        alert_id("cam2", "zone", "rule", T0),
        alert_id("cam", "zone2", "rule", T0),
        alert_id("cam", "zone", "rule2", T0),
        alert_id("cam", "zone", "rule", T0 + timedelta(seconds=1)),
    }
    assert base not in others and len(others) == 4


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        alert_id("cam", "zone", "rule", datetime(2026, 1, 1))


@pytest.mark.parametrize(("level", "priority"), [(Level.RED, 1), (Level.BLUE, 4)])
def test_levels_map_to_gb28181_priority(level: Level, priority: int) -> None:
    assert level.gb_priority == priority


def camera(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "id": "cam-1",
        "url": "rtsp://cam/s1",
        "location": GeoPoint(lat=30.0, lon=104.0),
        "zones": [ZoneSpec(id="z", polygon=[(0, 0), (1, 0), (1, 1)])],
        "rules": [CrowdRuleSpec(id="r", zone_id="z")],
    }
    values.update(overrides)
    return values


def test_rule_must_name_a_known_zone() -> None:
    with pytest.raises(ValidationError, match="unknown zone 'elsewhere'"):
        CameraSpec(**camera(rules=[CrowdRuleSpec(id="r", zone_id="elsewhere")]))


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        CameraSpec(**camera(colour="blue"))


@pytest.mark.parametrize("camera_id", ["", "a b", "../x", "x" * 65])
def test_camera_ids_are_safe_identifiers(camera_id: str) -> None:
    with pytest.raises(ValidationError):
        CameraSpec(**camera(id=camera_id))
