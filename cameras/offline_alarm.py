"""The device-fault alarm: a camera offline longer than a threshold raises one blue alert, which
ends (same id, next revision) once frames flow again. Pure: times are arguments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from hub.contracts import (
    Alert,
    AlertKind,
    AlertStatus,
    CameraSpec,
    CameraState,
    DetectionSummary,
    Level,
    alert_id,
)

DEVICE_ZONE_ID = "device"
OFFLINE_RULE_ID = "offline"


@dataclass(frozen=True)
class FaultChange:
    type: Literal["raised", "cleared"]
    offline_since_s: float  # when the camera was first seen offline (monotonic seconds)
    at_s: float


@dataclass
class OfflineAlarm:
    """Feed it the camera's state at each health poll. A degraded camera counts as back: its
    frames flow. A new outage needs a full `alarm_after_s` again, which also spaces out alerts
    of a camera that keeps dropping."""

    alarm_after_s: float = 60.0
    _offline_since_s: float | None = None
    _raised: bool = False

    @property
    def raised(self) -> bool:
        return self._raised

    def observe(self, now_s: float, state: CameraState) -> FaultChange | None:
        since = self._offline_since_s
        if state is not CameraState.OFFLINE:
            was_raised = self._raised
            self._offline_since_s, self._raised = None, False
            if was_raised and since is not None:
                return FaultChange("cleared", since, now_s)
            return None
        if since is None:
            self._offline_since_s = since = now_s
        if not self._raised and now_s - since > self.alarm_after_s:
            self._raised = True
            return FaultChange("raised", since, now_s)
        return None


def device_fault_alert(camera: CameraSpec, *, started_at: datetime, at: datetime) -> Alert:
    """The first report (revision 0) of a camera's outage that began at `started_at`."""
    return Alert(
        id=alert_id(camera.id, DEVICE_ZONE_ID, OFFLINE_RULE_ID, started_at),
        revision=0,
        camera_id=camera.id,
        camera_name=camera.name,
        kind=AlertKind.DEVICE_FAULT,
        level=Level.BLUE,
        status=AlertStatus.ACTIVE,
        started_at=started_at,
        updated_at=at,
        people_count=0,
        peak_people=0,
        zone_id=DEVICE_ZONE_ID,
        rule_id=OFFLINE_RULE_ID,
        location=camera.location,
        grid_cell=camera.grid_cell,
        detections=DetectionSummary(people_in_zone=0, people_in_frame=0),
    )


def device_fault_cleared(active: Alert, *, at: datetime) -> Alert:
    """The end of `active`: same id, next revision (validated, unlike `model_copy`)."""
    fields = active.model_dump()
    fields.update(
        revision=active.revision + 1, status=AlertStatus.ENDED, updated_at=at, ended_at=at
    )
    return Alert.model_validate(fields)
