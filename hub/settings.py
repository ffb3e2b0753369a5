"""Hub settings from the environment (`XUELIANG_*`), pydantic-settings."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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
        default=100, ge=1, le=1000, description="Most alerts taken from the bus, "
        "stored and linked to incidents in one transaction",
    )  # fmt: skip
    deadline_poll_s: float = Field(
        default=1.0, gt=0, le=60, description="Longest sleep of the deadline scheduler"
    )

    @field_validator(
        "grid_file", "incident_config", "webhook_url", "webhook_secret", "mqtt_url",
        "mqtt_ca_file",
        "api_token", "integrator_token", "worker_token", "secret_key", "redis_url",
        "camera_networks", mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False
