"""Wire contracts: the only types producers (cameras, detection) and the hub share.

Pydantic only: no FastAPI, no database, no I/O. Every message on the bus is one of these models
serialised as JSON; every camera configuration a worker receives is a `CameraSpec`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Bus stream names.
STREAM_ALERTS = "xl:alerts"
STREAM_CAMERA_HEALTH = "xl:camera-health"
STREAM_HEARTBEATS = "xl:heartbeats"

# Namespace for deterministic alert ids (uuid5); never change it, ids are stored.
_ALERT_NAMESPACE = uuid.UUID("6f1d2c9e-5b7a-4c1e-9a53-0e8f1b2d3c4a")

Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class Strict(BaseModel):
    """Base for every contract: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Level(StrEnum):
    """Colour level of an alert; `gb_priority` maps it to GB/T 28181 AlarmPriority 1-4."""

    RED = "red"
    ORANGE = "orange"
    YELLOW = "yellow"
    BLUE = "blue"

    @property
    def gb_priority(self) -> int:
        return _GB_PRIORITY[self]


_GB_PRIORITY = {Level.RED: 1, Level.ORANGE: 2, Level.YELLOW: 3, Level.BLUE: 4}


class AlertKind(StrEnum):
    CROWD_GATHERING = "crowd_gathering"
    DEVICE_FAULT = "device_fault"  # a camera offline too long (blue); ends when it is back


class AlertStatus(StrEnum):
    """`active` while the condition lasts (first report and re-reports), `ended` once cleared."""

    ACTIVE = "active"
    ENDED = "ended"


class GeoPoint(Strict):
    lat: float = Field(ge=-90, le=90, description="WGS-84 latitude in degrees")
    lon: float = Field(ge=-180, le=180, description="WGS-84 longitude in degrees")


RelativePoint = tuple[
    Annotated[float, Field(ge=0.0, le=1.0)], Annotated[float, Field(ge=0.0, le=1.0)]
]


class ZoneSpec(Strict):
    """A polygon in relative image coordinates (0-1, origin top-left)."""

    id: Identifier
    name: str = Field(default="", max_length=120)
    polygon: list[RelativePoint] = Field(
        min_length=3, max_length=64, description="Vertices (x, y), each 0-1 of width/height"
    )


class LevelStep(Strict):
    min_people: int = Field(ge=1, description="From this many people in the zone ...")
    level: Level = Field(description="... the alert has at least this colour")


class CrowdRuleSpec(Strict):
    """Crowd gathering: at least `min_people` in the zone for `hold_s`, cleared with hysteresis."""

    id: Identifier
    kind: Literal["crowd_gathering"] = "crowd_gathering"
    zone_id: Identifier
    min_people: int = Field(default=10, ge=1, le=10_000)
    hold_s: float = Field(default=30.0, ge=0, le=3600, description="Condition must hold this long")
    miss_tolerance_s: float = Field(
        default=2.0, ge=0, le=60, description="Samples below threshold tolerated while holding"
    )
    clear_ratio: float = Field(
        default=0.7, gt=0, le=1, description="Clears when count < clear_ratio * min_people ..."
    )
    clear_s: float = Field(default=10.0, ge=0, le=3600, description="... for this long")
    report_interval_s: float = Field(
        default=300.0, gt=0, le=86_400, description="Re-report an active alert this often"
    )
    cooldown_s: float = Field(
        default=60.0, ge=0, le=86_400, description="No new alert this long after one ended"
    )
    levels: list[LevelStep] = Field(
        default_factory=lambda: [LevelStep(min_people=1, level=Level.YELLOW)],
        min_length=1,
        description="Colour by size; the highest step reached wins",
    )

    @property
    def clear_below(self) -> float:
        return self.clear_ratio * self.min_people


class SamplingSpec(Strict):
    interval_s: float = Field(default=1.0, gt=0, le=3600, description="Sample one frame per this")
    keyframes_only: bool = Field(default=False, description="Decode keyframes only (cheap)")


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
    rules: list[CrowdRuleSpec] = Field(default_factory=list, max_length=64)

    @model_validator(mode="after")
    def _rules_name_known_zones(self) -> CameraSpec:
        check_zones_and_rules(self.zones, self.rules)
        return self


def check_zones_and_rules(zones: list[ZoneSpec], rules: list[CrowdRuleSpec]) -> None:
    """Unique ids, and every rule on a zone of the same camera; ValueError says which."""
    zone_ids = {zone.id for zone in zones}
    if len(zone_ids) != len(zones):
        raise ValueError("zone ids must be unique within a camera")
    rule_ids = [rule.id for rule in rules]
    if len(set(rule_ids)) != len(rule_ids):
        raise ValueError("rule ids must be unique within a camera")
    for rule in rules:
        if rule.zone_id not in zone_ids:
            raise ValueError(f"rule {rule.id!r} names unknown zone {rule.zone_id!r}")


class Box(Strict):
    """A detected person in relative coordinates (0-1)."""

    x1: float
    y1: float
    x2: float
    y2: float
    confidence: float = Field(ge=0, le=1)
    label: str = Field(max_length=64)


class DetectionSummary(Strict):
    people_in_zone: int = Field(ge=0)
    people_in_frame: int = Field(ge=0)
    boxes: list[Box] = Field(default_factory=list, description="People in the zone")
    model: str = Field(default="", max_length=120)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamps must carry a timezone")
    return value.astimezone(UTC)


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
    snapshot_ref: str | None = Field(
        default=None, max_length=256, pattern=r"^[A-Za-z0-9_.-]+\.jpg$",
        description="Evidence JPEG name in the shared evidence store",
    )

    @field_validator("started_at", "updated_at", "ended_at")
    @classmethod
    def _timestamps_are_utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _utc(value)

    @property
    def gb_priority(self) -> int:
        return self.level.gb_priority


def alert_id(camera_id: str, zone_id: str, rule_id: str, started_at: datetime) -> str:
    """Deterministic: the same camera, zone, rule and start time always give the same id."""
    key = f"{camera_id}|{zone_id}|{rule_id}|{_utc(started_at).isoformat()}"
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
