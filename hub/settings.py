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
        default_factory=list, description="Extra origins allowed to open the WebSocket"
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

    @field_validator(
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
