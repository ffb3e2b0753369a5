"""Hub settings from the environment (`XUELIANG_*`), pydantic-settings."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.dispatch import TravelMode


class IceServer(BaseModel):
    """A STUN or TURN server offered to the live view's WebRTC peers."""

    model_config = ConfigDict(extra="forbid")

    urls: list[str] = Field(min_length=1, description="stun:host:port, turn:host:port, ...")
    username: str | None = None
    credential: SecretStr | None = None


class HubSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XUELIANG_", extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///./var/xueliang.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///... or postgresql+asyncpg://...",
    )
    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("XUELIANG_REDIS_URL", "REDIS_URL"),
        description="Redis Streams bus; the in-process bus when unset",
    )
    evidence_dir: Path = Field(default=Path("var/evidence"), description="Evidence JPEGs")
    api_token: SecretStr | None = Field(
        default=None, description="Bearer token for the API; without it, loopback only"
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Extra origins allowed to open the WebSocket and to make changes with the "
        "session cookie (e.g. https://console.example)",
    )
    integrator_token: SecretStr | None = Field(
        default=None, description="Token for integrators: camera registration only"
    )
    worker_token: SecretStr | None = Field(
        default=None, description="Token for workers: reads the camera fleet (sealed passwords)"
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Fernet key(s), comma-separated, sealing camera passwords at rest",
    )
    camera_networks: str | None = Field(
        default=None,
        description="Comma-separated CIDRs cameras may be reached at (SSRF guard); unset: the "
        "private ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7)",
    )

    grid_file: Path | None = Field(
        default=None, description="GeoJSON grid hierarchy (city ... grid cell) with leaders, "
        "responders and 1/3/5-minute rings; without it incidents carry the alert's grid cell",
    )  # fmt: skip
    incident_config: Path | None = Field(
        default=None, description="YAML/JSON: deadlines per colour and ring, merging, speeds, "
        "ranking, auto-dispatch colours (hub/incident_config.py); defaults when unset",
    )  # fmt: skip
    webhook_url: str | None = Field(
        default=None, description="POST every incident change here (HMAC-signed JSON)"
    )
    webhook_secret: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 key of the webhook signature (16+ characters)"
    )
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=120)
    mqtt_url: SecretStr | None = Field(
        default=None, description="mqtt[s]://user:pass@host[:port]/prefix: publish every "
        "incident change to {prefix}/incidents/{id}, QoS 1",
    )  # fmt: skip
    mqtt_ca_file: Path | None = Field(default=None, description="CA bundle for mqtts://")
    bus_claim_idle_s: float = Field(
        default=30.0, gt=0, le=3600, description="Redis: take over messages a dead hub left "
        "unacknowledged after this long (longer than the slowest handling of one batch)",
    )  # fmt: skip
    ingest_batch: int = Field(
        default=200, ge=1, le=1000, description="Most alerts taken from the bus at once: "
        "stored in one transaction and linked to incidents in another, side by side",
    )  # fmt: skip
    setup_token_file: Path | None = Field(
        default=None, description="Where the one-time set-up token for the first admin is "
        "written (mode 0600) while no user exists; default: setup-token beside evidence_dir",
    )  # fmt: skip
    session_hours: float = Field(
        default=12.0, gt=0, le=24 * 30, description="A user's session lasts this long"
    )
    deadline_poll_s: float = Field(
        default=1.0, gt=0, le=60, description="Longest sleep of the deadline scheduler"
    )
    map_tile_url: str | None = Field(
        default=None, description="Console map tiles, a Leaflet URL template such as "
        "https://tiles.example/{z}/{x}/{y}.png (the page's CSP allows its origin); unset: no "
        "base map, the layers show on a blank background",
    )  # fmt: skip
    map_tile_attribution: str = Field(
        default="", max_length=300, description="Credit shown under the tiles (plain text)"
    )
    map_ring_mode: TravelMode = Field(
        default=TravelMode.WALKING, description="Travel mode whose speed (incident config "
        "`speeds`) sizes the map's 1/3/5-minute rings",
    )  # fmt: skip
    live_max_viewers_per_camera: int = Field(
        default=8, ge=1, le=200, description="Live view: most viewers of one camera (all share "
        "one upstream connection); more are refused with 429",
    )  # fmt: skip
    live_max_viewers: int = Field(
        default=32, ge=1, le=2000, description="Live view: most viewers in all (each costs one "
        "video encoder); more are refused with 503",
    )  # fmt: skip
    live_linger_s: float = Field(
        default=10.0, ge=0, le=600, description="Live view: the camera connection stays open "
        "this long after its last viewer left (a reload finds it open)",
    )  # fmt: skip
    live_connect_timeout_s: float = Field(
        default=15.0, gt=0, le=120, description="Live view: a viewer whose WebRTC connection "
        "is not up this long after the answer is dropped",
    )  # fmt: skip
    live_ice_servers: list[IceServer] = Field(
        default_factory=list, description='Live view: STUN/TURN servers as JSON, e.g. '
        '[{"urls": ["turn:turn.example:3478"], "username": "u", "credential": "p"}]; '
        "empty: host candidates only (loopback and LAN)",
    )  # fmt: skip

    @field_validator(
        "grid_file", "incident_config", "webhook_url", "webhook_secret", "mqtt_url",
        "setup_token_file",
        "mqtt_ca_file",
        "api_token", "integrator_token", "worker_token", "secret_key", "redis_url",
        "camera_networks", mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("map_tile_url", mode="after")
    @classmethod
    def _tile_template(cls, value: str | None) -> str | None:
        if not value:
            return None
        host = urlsplit(value.replace("{s}", "a")).netloc  # the page's CSP will name it
        if not value.startswith(("https://", "http://")) or not all(
            part in value for part in ("{z}", "{x}", "{y}")
        ) or not re.fullmatch(r"[A-Za-z0-9.:\[\]-]+", host):
            raise ValueError("an http(s) URL template with {z}, {x} and {y} and a plain host")
        return value

    @property
    def setup_token_path(self) -> Path:
        return self.setup_token_file or self.evidence_dir.parent / "setup-token"

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False
