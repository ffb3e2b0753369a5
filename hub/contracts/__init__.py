"""Wire contracts: the only types producers (cameras, detection) and the hub share.

Pydantic only: no FastAPI, no database, no I/O. Every message on the bus is one of these models
serialised as JSON; every camera configuration a worker receives is a `CameraSpec`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field, field_validator, model_validator

from hub.contracts.calibration import GroundCalibration, GroundPoint
from hub.contracts.common import (
    GeoPoint,
    Identifier,
    Level,
    LineSpec,
    RelativePoint,
    Strict,
    ZoneSpec,
)
from hub.contracts.places import check_zones_and_rules
from hub.contracts.rules import (
    CrowdRuleSpec,
    DensityLevelStep,
    FallRuleSpec,
    IntrusionRuleSpec,
    LevelStep,
    LineCrossingRuleSpec,
    LoiteringRuleSpec,
    RuleBase,
    RuleSpec,
    Schedule,
    ScheduleWindow,
    TrackRule,
    ZoneRule,
    needs_tracking,
    place_of,
)

# Bus stream names.
STREAM_ALERTS = "xl:alerts"
STREAM_CAMERA_HEALTH = "xl:camera-health"
STREAM_HEARTBEATS = "xl:heartbeats"

# Namespace for deterministic alert ids (uuid5); never change it, ids are stored.
_ALERT_NAMESPACE = uuid.UUID("6f1d2c9e-5b7a-4c1e-9a53-0e8f1b2d3c4a")


class AlertKind(StrEnum):
    CROWD_GATHERING = "crowd_gathering"
    LOITERING = "loitering"
    INTRUSION = "intrusion"
    LINE_CROSSING = "line_crossing"
    FALL = "fall"
    DEVICE_FAULT = "device_fault"  # a camera offline too long (blue); ends when it is back


class AlertStatus(StrEnum):
    """`active` while the condition lasts (first report and re-reports), `ended` once cleared.
    An instantaneous event (a line crossing) has one report, already `ended`."""

    ACTIVE = "active"
    ENDED = "ended"


class SamplingSpec(Strict):
    """How often frames are sampled. Cameras with per-object rules (tracking) switch to bursts:
    one frame per `burst_interval_s` for `burst_hold_s` after such a rule sees a candidate."""

    interval_s: float = Field(default=1.0, gt=0, le=3600, description="Sample one frame per this")
    keyframes_only: bool = Field(default=False, description="Decode keyframes only (cheap)")
    burst_interval_s: float = Field(
        default=0.2, gt=0, le=60, description="Sampling period during a burst (5 fps)"
    )
    burst_hold_s: float = Field(
        default=10.0, ge=0, le=3600, description="A burst lasts this long after its last trigger"
    )


class CameraSpec(Strict):
    """What a worker needs to watch one camera. The password travels sealed (Fernet, opened with
    XUELIANG_SECRET_KEY by the worker at connect time), never in the URL or in clear."""

    id: Identifier
    name: str = Field(default="", max_length=120)
    url: str = Field(min_length=1, max_length=2048, description="Stream URL or video file")
    username: str | None = Field(default=None, max_length=128)
    password_sealed: str | None = Field(default=None, max_length=4096, repr=False)
    location: GeoPoint
    heading_deg: float | None = Field(default=None, ge=0, lt=360)
    grid_cell: str | None = Field(default=None, max_length=64)
    sampling: SamplingSpec = Field(default_factory=SamplingSpec)
    zones: list[ZoneSpec] = Field(default_factory=list, max_length=32)
    lines: list[LineSpec] = Field(default_factory=list, max_length=32)
    rules: list[RuleSpec] = Field(default_factory=list, max_length=64)
    ground_calibration: GroundCalibration | None = Field(
        default=None, description="Image to ground-plane map: zone areas in m² (densities)"
    )

    @model_validator(mode="after")
    def _rules_name_known_places(self) -> CameraSpec:
        check_zones_and_rules(self.zones, self.rules, self.lines, self.ground_calibration)
        return self

    def zone(self, zone_id: str) -> ZoneSpec:
        """The zone with this id; KeyError naming the camera and the zone otherwise."""
        for zone in self.zones:
            if zone.id == zone_id:
                return zone
        raise KeyError(f"camera {self.id!r} has no zone {zone_id!r}")

    def line(self, line_id: str) -> LineSpec:
        """The line with this id; KeyError naming the camera and the line otherwise."""
        for line in self.lines:
            if line.id == line_id:
                return line
        raise KeyError(f"camera {self.id!r} has no line {line_id!r}")


class Box(Strict):
    """A detected object (a person, unless `label` says otherwise) in relative coordinates."""

    x1: float
    y1: float
    x2: float
    y2: float
    confidence: float = Field(ge=0, le=1)
    label: str = Field(max_length=64)


class DetectionSummary(Strict):
    people_in_zone: int = Field(ge=0)
    people_in_frame: int = Field(ge=0)
    boxes: list[Box] = Field(default_factory=list, description="The objects the rule counted")
    model: str = Field(default="", max_length=120)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is UTC:  # most values: copies of ones converted already
        return value
    if value.tzinfo is None:
        raise ValueError("timestamps must carry a timezone")
    return value.astimezone(UTC)


class LineCounts(Strict):
    """Crossings of a line counted by a line-crossing rule since its camera's worker started."""

    in_total: int = Field(default=0, ge=0, description="Crossings in the 'in' direction")
    out_total: int = Field(default=0, ge=0, description="Crossings in the 'out' direction")


class Alert(Strict):
    """One report of an alert; re-reports and the end share the id and raise `revision`."""

    id: str = Field(min_length=1, max_length=64)
    revision: int = Field(ge=0, description="0 for the first report, +1 for each later one")
    camera_id: Identifier
    camera_name: str = Field(default="", max_length=120)
    kind: AlertKind
    level: Level
    status: AlertStatus
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None = None
    people_count: int = Field(ge=0, description="People in the zone at this report")
    peak_people: int = Field(ge=0, description="Most people seen in the zone so far")
    zone_id: Identifier
    rule_id: Identifier
    location: GeoPoint
    grid_cell: str | None = None
    detections: DetectionSummary
    track_id: int | None = Field(
        default=None, ge=0, description="The tracked object a per-object rule is about"
    )
    direction: Literal["in", "out"] | None = Field(
        default=None, description="Line crossing: which way the object crossed"
    )
    line_counts: LineCounts | None = Field(default=None, description="Line crossing: totals")
    density_per_m2: float | None = Field(
        default=None, ge=0, description="Crowd: people per m² of zone (calibrated cameras only)"
    )
    trigger: Literal["hold", "growth"] | None = Field(
        default=None, description="Crowd: raised after hold_s, or at once by fast growth"
    )
    snapshot_ref: str | None = Field(
        default=None, max_length=256, pattern=r"^[A-Za-z0-9_.-]+\.jpg$",
        description="Evidence JPEG name in the shared evidence store",
    )
    clip_ref: str | None = Field(
        default=None, max_length=256, pattern=r"^[A-Za-z0-9_.-]+\.mp4$",
        description="Evidence clip (H.264 MP4 of the sampled frames before the alert) in the "
        "evidence store; written after the first report, so it comes with a later one",
    )

    @field_validator("started_at", "updated_at", "ended_at")
    @classmethod
    def _timestamps_are_utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _utc(value)

    @property
    def gb_priority(self) -> int:
        return self.level.gb_priority


def alert_id(
    camera_id: str, zone_id: str, rule_id: str, started_at: datetime, track_id: int | None = None
) -> str:
    """Deterministic: the same camera, zone, rule, start time (and track) give the same id.

    Without a track the key is what it was before tracks existed, so stored ids stay valid."""
    key = f"{camera_id}|{zone_id}|{rule_id}|{_utc(started_at).isoformat()}"
    if track_id is not None:
        key += f"|track:{track_id}"
    return str(uuid.uuid5(_ALERT_NAMESPACE, key))


class CameraState(StrEnum):
    ONLINE = "online"
    DEGRADED = "degraded"
    OFFLINE = "offline"


class CameraHealth(Strict):
    camera_id: Identifier
    state: CameraState
    input_fps: float = Field(ge=0)
    last_frame_at: datetime | None = None
    reconnects: int = Field(ge=0)
    dropped_frames: int = Field(ge=0)
    last_error: str | None = Field(default=None, max_length=500)
    reported_at: datetime


class Heartbeat(Strict):
    worker_id: Identifier
    camera_ids: list[Identifier]
    sent_at: datetime


__all__ = [
    "STREAM_ALERTS", "STREAM_CAMERA_HEALTH", "STREAM_HEARTBEATS", "Alert", "AlertKind",
    "AlertStatus", "Box", "CameraHealth", "CameraSpec", "CameraState", "CrowdRuleSpec",
    "DensityLevelStep", "DetectionSummary", "FallRuleSpec", "GeoPoint", "GroundCalibration",
    "GroundPoint", "Heartbeat", "Identifier", "IntrusionRuleSpec", "Level", "LevelStep",
    "LineCounts", "LineCrossingRuleSpec", "LineSpec", "LoiteringRuleSpec", "RelativePoint",
    "RuleBase", "RuleSpec", "SamplingSpec", "Schedule", "ScheduleWindow", "Strict", "TrackRule",
    "ZoneRule", "ZoneSpec", "alert_id", "check_zones_and_rules", "needs_tracking", "place_of",
]
