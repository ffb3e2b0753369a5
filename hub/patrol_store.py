"""Patrol plans and the patrol log in the hub's database (SQLite or PostgreSQL).

Plans are edited whole (compare-and-set on the revision). The log only grows: this class has no
way to change or remove an entry, and the database refuses it anyway (migration 0007).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from hub.db import utc
from hub.patrol_models import LogEntry, PlanIn, ViewIn
from hub.patrol_tables import PatrolLogRow, PatrolPlanRow

MAX_LOG = 1000
MAX_IN = 5000  # cameras named in one query's IN list; a larger scope is filtered here


class StalePlanError(Exception):
    """The plan changed since the revision the caller read."""


@dataclass(frozen=True)
class StoredPlan:
    id: str
    revision: int
    created_at: datetime
    updated_at: datetime
    plan: PlanIn


def _plan(row: PatrolPlanRow) -> StoredPlan:
    return StoredPlan(row.id, row.revision, utc(row.created_at), utc(row.updated_at),
                      PlanIn.model_validate_json(row.body))  # fmt: skip


def _entry(row: PatrolLogRow) -> LogEntry:
    return LogEntry(
        id=row.id, plan_id=row.plan_id, camera_id=row.camera_id, operator=row.operator,
        started_at=utc(row.started_at), ended_at=utc(row.ended_at),
        seconds_viewed=row.seconds_viewed, recorded_at=utc(row.recorded_at),
    )  # fmt: skip


class PatrolStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    # --- plans ------------------------------------------------------------------------------

    async def add_plan(self, plan: PlanIn, now: datetime) -> StoredPlan:
        row = PatrolPlanRow(
            id=f"plan-{uuid.uuid4().hex[:12]}", revision=0, enabled=plan.enabled,
            created_at=now, updated_at=now, body=plan.model_dump_json(),
        )  # fmt: skip
        async with self._sessions.begin() as session:
            session.add(row)
        return StoredPlan(row.id, 0, now, now, plan)

    async def plan(self, plan_id: str) -> StoredPlan | None:
        async with self._sessions() as session:
            row = await session.get(PatrolPlanRow, plan_id)
        return None if row is None else _plan(row)

    async def plans(self) -> list[StoredPlan]:
        async with self._sessions() as session:
            rows = (await session.scalars(select(PatrolPlanRow).order_by(PatrolPlanRow.id))).all()
        return [_plan(row) for row in rows]

    async def replace_plan(self, current: StoredPlan, plan: PlanIn, now: datetime) -> StoredPlan:
        """Raises StalePlanError when the stored revision is no longer `current`'s."""
        statement = (
            update(PatrolPlanRow)
            .where(PatrolPlanRow.id == current.id, PatrolPlanRow.revision == current.revision)
            .values(
                revision=current.revision + 1, enabled=plan.enabled, updated_at=now,
                body=plan.model_dump_json(),
            )
            .returning(PatrolPlanRow.id)
        )
        async with self._sessions.begin() as session:
            changed = (await session.execute(statement)).first()
        if changed is None:
            raise StalePlanError(f"plan {current.id} changed since revision {current.revision}")
        return StoredPlan(current.id, current.revision + 1, current.created_at, now, plan)

    async def remove_plan(self, plan_id: str) -> bool:
        """The plan goes; its log entries stay (the log is the record of what was watched)."""
        statement = delete(PatrolPlanRow).where(PatrolPlanRow.id == plan_id)
        async with self._sessions.begin() as session:
            removed = (await session.execute(statement.returning(PatrolPlanRow.id))).first()
        return removed is not None

    # --- the log ----------------------------------------------------------------------------

    async def append(self, view: ViewIn, operator: str, now: datetime) -> LogEntry:
        entry = LogEntry(
            id=f"view-{uuid.uuid4().hex}", plan_id=view.plan_id, camera_id=view.camera_id,
            operator=operator, started_at=view.started_at, ended_at=view.ended_at,
            seconds_viewed=round((view.ended_at - view.started_at).total_seconds(), 3),
            recorded_at=now,
        )  # fmt: skip
        async with self._sessions.begin() as session:
            session.add(PatrolLogRow(**entry.model_dump()))
        return entry

    async def entry(self, entry_id: str) -> LogEntry | None:
        async with self._sessions() as session:
            row = await session.get(PatrolLogRow, entry_id)
        return None if row is None else _entry(row)

    async def log(
        self,
        *,
        start: datetime,
        end: datetime,
        plan_id: str | None = None,
        operator: str | None = None,
        camera_id: str | None = None,
        camera_ids: Collection[str] | None = None,
        limit: int = MAX_LOG,
    ) -> list[LogEntry]:
        """Entries whose view started in [start, end), oldest first; `camera_ids`: only of
        those cameras (a scope's), filtered before the limit counts."""
        query = select(PatrolLogRow).where(
            PatrolLogRow.started_at >= start, PatrolLogRow.started_at < end
        )
        if plan_id is not None:
            query = query.where(PatrolLogRow.plan_id == plan_id)
        if operator is not None:
            query = query.where(PatrolLogRow.operator == operator)
        if camera_id is not None:
            query = query.where(PatrolLogRow.camera_id == camera_id)
        # A large scope's camera list would pass the drivers' bound parameter limits (about
        # 32,000): then the day's rows are filtered here (`kept`), before the limit counts.
        kept: Collection[str] | None = None
        if camera_ids is not None and len(camera_ids) <= MAX_IN:
            query = query.where(PatrolLogRow.camera_id.in_(list(camera_ids)))
        elif camera_ids is not None:
            kept = camera_ids
        query = query.order_by(PatrolLogRow.started_at, PatrolLogRow.id)
        if kept is None:
            query = query.limit(limit)
        async with self._sessions() as session:
            rows = (await session.scalars(query)).all()
        if kept is not None:
            rows = [row for row in rows if row.camera_id in kept][:limit]
        return [_entry(row) for row in rows]
