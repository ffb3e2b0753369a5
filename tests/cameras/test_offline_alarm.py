"""The device-fault alarm: a table of camera states over time, and the alerts it builds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from cameras.offline_alarm import (
    FaultChange,
    OfflineAlarm,
    device_fault_alert,
    device_fault_cleared,
)
from hub.contracts import (
    AlertKind,
    AlertStatus,
    CameraSpec,
    CameraState,
    GeoPoint,
    Level,
    alert_id,
)

ON, DEG, OFF = CameraState.ONLINE, CameraState.DEGRADED, CameraState.OFFLINE


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        # never offline: nothing
        ([(0, ON), (30, DEG), (100, ON)], []),
        # offline exactly the threshold is not longer than it
        ([(0, ON), (10, OFF), (70, OFF)], []),
        # offline past the threshold: raised once, however long it lasts
        ([(10, OFF), (70.5, OFF), (80, OFF), (500, OFF)], [("raised", 10, 70.5)]),
        # back (degraded counts: frames flow): cleared with the same start
        ([(10, OFF), (71, OFF), (90, DEG)], [("raised", 10, 71), ("cleared", 10, 90)]),
        ([(10, OFF), (71, OFF), (90, ON), (95, ON)], [("raised", 10, 71), ("cleared", 10, 90)]),
        # a short outage clears nothing and resets the clock
        ([(0, OFF), (50, OFF), (55, ON), (56, OFF), (110, OFF)], []),
        ([(0, OFF), (50, ON), (56, OFF), (116.5, OFF)], [("raised", 56, 116.5)]),
        # a second long outage raises a second alert
        (
            [(0, OFF), (61, OFF), (62, ON), (70, OFF), (131, OFF), (140, ON)],
            [("raised", 0, 61), ("cleared", 0, 62), ("raised", 70, 131), ("cleared", 70, 140)],
        ),
    ],
)
def test_offline_alarm(
    steps: list[tuple[float, CameraState]], expected: list[tuple[str, float, float]]
) -> None:
    alarm = OfflineAlarm(alarm_after_s=60.0)
    changes = [alarm.observe(now_s, state) for now_s, state in steps]
    seen = [(c.type, c.offline_since_s, c.at_s) for c in changes if c is not None]
    assert seen == expected


def test_threshold_is_configurable() -> None:
    alarm = OfflineAlarm(alarm_after_s=3.0)
    assert alarm.observe(0.0, OFF) is None
    assert alarm.observe(3.5, OFF) == FaultChange("raised", 0.0, 3.5)
    assert alarm.raised


CAMERA = CameraSpec(
    id="cam-7",
    name="North gate",
    url="rtsp://127.0.0.1/x",
    location=GeoPoint(lat=31.2, lon=121.5),
    grid_cell="grid-42",
)


def test_device_fault_alert_is_blue_and_ends_with_the_same_id() -> None:
    started = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
    raised = device_fault_alert(CAMERA, started_at=started, at=started + timedelta(seconds=61))
    assert raised.kind is AlertKind.DEVICE_FAULT
    assert raised.level is Level.BLUE and raised.gb_priority == 4
    assert raised.status is AlertStatus.ACTIVE and raised.revision == 0
    assert raised.id == alert_id("cam-7", "device", "offline", started)
    assert (raised.zone_id, raised.rule_id) == ("device", "offline")
    assert (raised.people_count, raised.peak_people) == (0, 0)
    assert raised.detections.people_in_zone == 0 and raised.detections.people_in_frame == 0
    assert raised.location == CAMERA.location and raised.grid_cell == "grid-42"
    assert raised.camera_name == "North gate" and raised.ended_at is None

    back = started + timedelta(seconds=90)
    cleared = device_fault_cleared(raised, at=back)
    assert cleared.id == raised.id and cleared.revision == 1
    assert cleared.status is AlertStatus.ENDED
    assert cleared.ended_at == back and cleared.updated_at == back
    assert cleared.started_at == started and cleared.kind is AlertKind.DEVICE_FAULT


def test_cleared_alert_times_are_normalised_to_utc() -> None:
    started = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
    raised = device_fault_alert(CAMERA, started_at=started, at=started)
    local = datetime(2024, 6, 1, 16, 5, tzinfo=timezone(timedelta(hours=8)))  # Beijing time
    cleared = device_fault_cleared(raised, at=local)
    assert cleared.ended_at is not None and cleared.ended_at.utcoffset() == timedelta(0)
