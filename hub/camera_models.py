"""Camera registration schemas: create, update and public views (the public one has no secret).

The password is write-only: it comes in as a `SecretStr`, is sealed at once, and what goes out is
`has_password`. Every field is validated with a clear error; validation errors never echo input.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from hub.contracts import (
    GeoPoint,
    GroundCalibration,
    Identifier,
    LineSpec,
    RuleSpec,
    SamplingSpec,
    ZoneSpec,
    check_zones_and_rules,
)

HostName = Annotated[
    str, Field(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.:\[\]_-]+$")
]  # a DNS name or an IP address literal: no path, no userinfo, no spaces
Tag = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[\w.:-]+$")]
Username = Annotated[str, Field(min_length=1, max_length=128)]
Password = Annotated[SecretStr, Field(min_length=1, max_length=256)]


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OnvifEndpoint(Schema):
    host: HostName
    port: int = Field(default=80, ge=1, le=65535)
    scheme: Literal["http", "https"] = "http"
    profile: str | None = Field(
        default=None, max_length=64, description="Media profile token; unset: the main stream"
    )


class Placement(Schema):
    """Where the camera is and what it looks at; all optional on update."""

    name: str = Field(default="", max_length=120)
    location: GeoPoint
    heading_deg: float | None = Field(default=None, ge=0, lt=360, description="0 = north")
    fov_deg: float | None = Field(default=None, gt=0, le=360, description="Horizontal view")
    grid_cell: str | None = Field(default=None, max_length=64)
    tags: list[Tag] = Field(default_factory=list, max_length=32)
    sampling: SamplingSpec = Field(default_factory=SamplingSpec)
    zones: list[ZoneSpec] = Field(default_factory=list, max_length=32)
    lines: list[LineSpec] = Field(default_factory=list, max_length=32)
    rules: list[RuleSpec] = Field(default_factory=list, max_length=64)
    ground_calibration: GroundCalibration | None = Field(
        default=None,
        description="Four image points and their ground positions in metres: zone areas in m²,"
        " needed by density rules (min_density_per_m2)",
    )
    enabled: bool = True

    @model_validator(mode="after")
    def _rules_name_known_places(self) -> Placement:
        check_zones_and_rules(self.zones, self.rules, self.lines, self.ground_calibration)
        return self


class CameraCreate(Placement):
    id: Identifier | None = Field(default=None, description="Unset: one is made up")
    rtsp_url: str | None = Field(
        default=None, max_length=2048, description="rtsp:// or rtsps://, without credentials"
    )
    onvif: OnvifEndpoint | None = Field(default=None, description="Probe this device instead")
    username: Username | None = None
    password: Password | None = Field(default=None, description="Write-only")

    @model_validator(mode="after")
    def _one_source(self) -> CameraCreate:
        if (self.rtsp_url is None) == (self.onvif is None):
            raise ValueError("give exactly one of rtsp_url and onvif")
        if self.password is not None and self.username is None:
            raise ValueError("a password needs a username")
        return self


class CameraUpdate(Schema):
    """Fields present are changed; `password: null` removes the password, `heading_deg`,
    `fov_deg`, `grid_cell` and `ground_calibration: null` clear those. The merged camera is
    checked as a whole (a density rule left without a calibration is refused)."""

    name: str | None = Field(default=None, max_length=120)
    location: GeoPoint | None = None
    heading_deg: float | None = Field(default=None, ge=0, lt=360)
    fov_deg: float | None = Field(default=None, gt=0, le=360)
    grid_cell: str | None = Field(default=None, max_length=64)
    tags: list[Tag] | None = Field(default=None, max_length=32)
    sampling: SamplingSpec | None = None
    zones: list[ZoneSpec] | None = Field(default=None, max_length=32)
    lines: list[LineSpec] | None = Field(default=None, max_length=32)
    rules: list[RuleSpec] | None = Field(default=None, max_length=64)
    ground_calibration: GroundCalibration | None = Field(
        default=None, description="Replaces the calibration; null removes it"
    )
    enabled: bool | None = None
    rtsp_url: str | None = Field(default=None, max_length=2048)
    username: Username | None = None
    password: Password | None = None


class DeviceInfo(Schema):
    manufacturer: str = ""
    model: str = ""
    firmware: str = ""
    serial: str = ""
    clock_offset_s: float = 0.0


class StreamProfile(Schema):
    token: str
    name: str = ""
    encoding: str | None = None
    width: int | None = None
    height: int | None = None
    stream_url: str | None = None


class ProbeRequest(Schema):
    onvif: OnvifEndpoint
    username: Username | None = None
    password: Password | None = None


class PtzPreset(Schema):
    token: str
    name: str = ""


class ProbeReport(Schema):
    """What an ONVIF device says about itself (URLs already checked against the allowed nets)."""

    device: DeviceInfo
    profiles: list[StreamProfile]
    snapshot_url: str | None = None
    ptz_presets: list[PtzPreset] = Field(default_factory=list)

    def pick(self, token: str | None) -> StreamProfile | None:
        """The profile named, or the main stream (most pixels) among those with a URL."""
        usable = [profile for profile in self.profiles if profile.stream_url]
        if token is not None:
            return next((profile for profile in usable if profile.token == token), None)
        return max(usable, key=lambda p: (p.width or 0) * (p.height or 0), default=None)


class DiscoverRequest(Schema):
    timeout_s: float = Field(default=3.0, gt=0, le=10, description="How long to listen")


class Discovered(Schema):
    """A device that answered WS-Discovery; `allowed`: its address is in the camera networks."""

    endpoint_reference: str
    xaddrs: list[str]
    scopes: list[str]
    host: str | None = None
    port: int | None = None
    allowed: bool = False


class GotoPreset(Schema):
    preset: str = Field(min_length=1, max_length=64, description="Preset token")


class CameraRecord(Placement):
    """What the registry stores (beside the username and the sealed password)."""

    id: Identifier
    stream_url: str
    snapshot_url: str | None = None
    onvif: OnvifEndpoint | None = None  # `profile`: the token of the stream in use
    device: DeviceInfo | None = None
    ptz_presets: list[PtzPreset] = Field(default_factory=list)


class CameraPublic(CameraRecord):
    username: str | None = None
    has_password: bool
    revision: int
    created_at: datetime
    updated_at: datetime
