"""Patrol tables (SQLAlchemy 2) on hub.db's Base; created by migration 0007_patrol."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base


class PatrolPlanRow(Base):
    """A patrol plan: the `PlanIn` JSON beside its id, revision and times."""

    __tablename__ = "patrol_plans"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    body: Mapped[str] = mapped_column(Text)


class PatrolLogRow(Base):
    """Append-only (database triggers refuse UPDATE and DELETE): one camera on one page."""

    __tablename__ = "patrol_log"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(64))
    camera_id: Mapped[str] = mapped_column(String(64))
    operator: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    seconds_viewed: Mapped[float] = mapped_column(Float)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_patrol_log_started", "started_at"),
        Index("ix_patrol_log_plan_started", "plan_id", "started_at"),
        Index("ix_patrol_log_operator_started", "operator", "started_at"),
        Index("ix_patrol_log_camera_started", "camera_id", "started_at"),
    )
