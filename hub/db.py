"""Database tables (SQLAlchemy 2). Changes go through a migration in `hub/migrations/versions`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import BigInteger, Boolean, DateTime, Float, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utc(value: datetime) -> datetime:
    """SQLite keeps no offset: what went in as UTC comes back naive; PostgreSQL's come aware."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def minute_of(at: datetime) -> int:
    """Whole minutes since 1970 (UTC): `IncidentRow.updated_minute`, which the indexes hold
    instead of `updated_at` (migration 0009 says why)."""
    return int(utc(at).timestamp() // 60)


T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    """`items` in runs of at most `size`: one statement each (bound-parameter limits)."""
    return [items[start : start + size] for start in range(0, len(items), size)]


class Base(DeclarativeBase):
    pass


class AlertRow(Base):
    """The latest revision of each alert: indexed columns for filters, the full JSON beside."""

    __tablename__ = "alerts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    camera_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    grid_cell: Mapped[str | None] = mapped_column(String(64), nullable=True)  # grid scopes
    body: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        Index("ix_alerts_updated_at", "updated_at"),
        Index("ix_alerts_camera_updated", "camera_id", "updated_at"),
        Index("ix_alerts_cell_updated", "grid_cell", "updated_at"),
    )


class AlertCountRow(Base):
    """Every report of an alert (each revision): its people count over time, for the chart."""

    __tablename__ = "alert_counts"

    alert_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    people_count: Mapped[int] = mapped_column(Integer)
    peak_people: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(16))


class CameraRow(Base):
    """A registered camera: the record as JSON, the username beside it and the password sealed
    (never in `body`)."""

    __tablename__ = "cameras"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean)
    username: Mapped[str | None] = mapped_column(String(128), nullable=True)
    password_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    body: Mapped[str] = mapped_column(Text)


class IncidentRow(Base):
    """The latest version of each incident: columns for lookups, the `Incident` JSON beside."""

    __tablename__ = "incidents"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    colour: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(32))
    is_open: Mapped[bool] = mapped_column(Boolean)
    grid_cell: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)  # the first alert's place
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    tile: Mapped[str | None] = mapped_column(String(32), nullable=True)  # hub.merging.tile_of
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    body: Mapped[str] = mapped_column(Text)
    # minute_of(updated_at): indexed in its place, so that most merges change no indexed column
    updated_minute: Mapped[int] = mapped_column(BigInteger, server_default="0")

    __table_args__ = (
        Index("ix_incidents_open_kind", "is_open", "kind", "updated_minute"),
        Index("ix_incidents_open_tile", "is_open", "tile"),
        Index("ix_incidents_open_cell", "is_open", "grid_cell"),
        Index("ix_incidents_updated_minute", "updated_minute"),
    )


class IncidentAlertRow(Base):
    """Which incident took each alert: the key that makes ingest idempotent by alert id."""

    __tablename__ = "incident_alerts"

    alert_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    incident_id: Mapped[str] = mapped_column(String(64), index=True)


class AuditRow(Base):
    """Append-only: one row per accepted event; never updated or deleted by the hub."""

    __tablename__ = "incident_audit"

    incident_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    event: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)


class DeadlineRow(Base):
    """Pending timers, so the scheduler fires them after a restart ('' subject: none)."""

    __tablename__ = "incident_deadlines"

    incident_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class OutboxRow(Base):
    """Incident changes to publish outside (webhook, MQTT), written with the change itself."""

    __tablename__ = "outbox"
    # Ids never reused, even once the newest rows are pruned: sinks keep a cursor on them.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    incident_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    body: Mapped[str] = mapped_column(Text)


class OutboxCursorRow(Base):
    __tablename__ = "outbox_cursors"

    sink: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)


class ResponderRow(Base):
    """A responder: the record as JSON; the token only as a SHA-256 hash."""

    __tablename__ = "responders"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    body: Mapped[str] = mapped_column(Text)


class UserRow(Base):
    """A console user: the password only as an argon2 hash (hub/users_passwords.py)."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    grid_scope: Mapped[str | None] = mapped_column(String(64), nullable=True)
    responder_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SessionRow(Base):
    """A signed-in browser: only the SHA-256 of the random session id is stored, so a copy of
    the database opens no session. Deleted on sign-out, password change and disabling."""

    __tablename__ = "user_sessions"

    id_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
