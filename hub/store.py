"""The alert store: async SQLAlchemy 2 on SQLite (default) or PostgreSQL.

Idempotent by alert id and revision: a redelivered or older report changes nothing, so the bus may
deliver a message twice without a duplicate or a step back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import event, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from hub.contracts import Alert, AlertKind, AlertStatus, Level
from hub.db import AlertCountRow, AlertRow
from hub.migrate import upgrade_to_head


class AlertCount(BaseModel):
    """One report of an alert: when, how many people, the most so far, its colour."""

    revision: int
    at: datetime
    people_count: int
    peak_people: int
    level: Level


SQLITE_BUSY_TIMEOUT_MS = 10_000  # a writer waits this long for another's commit (they take ms)

_COLUMNS = ("id", "revision", "camera_id", "kind", "level", "status", "started_at", "updated_at",
            "grid_cell", "body")  # fmt: skip


def _row(alert: Alert, cell: str | None) -> dict[str, Any]:
    return {
        "id": alert.id, "revision": alert.revision, "camera_id": alert.camera_id,
        "kind": alert.kind.value, "level": alert.level.value, "status": alert.status.value,
        "started_at": alert.started_at, "updated_at": alert.updated_at,
        "grid_cell": cell, "body": alert.model_dump_json(),
    }  # fmt: skip


def _upsert(dialect: str) -> Any:
    """INSERT ... ON CONFLICT (id) DO UPDATE ... WHERE stored < new RETURNING id."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(AlertRow)
    return statement.on_conflict_do_update(
        index_elements=[AlertRow.id],
        set_={key: statement.excluded[key] for key in _COLUMNS if key != "id"},
        where=AlertRow.revision < statement.excluded.revision,
    ).returning(AlertRow.id)


def _count_row(alert: Alert) -> dict[str, Any]:
    return {
        "alert_id": alert.id, "revision": alert.revision, "at": alert.updated_at,
        "people_count": alert.people_count, "peak_people": alert.peak_people,
        "level": alert.level.value,
    }  # fmt: skip


def _count_insert(dialect: str) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING: a redelivered report adds no second point."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert(AlertCountRow).on_conflict_do_nothing(
        index_elements=[AlertCountRow.alert_id, AlertCountRow.revision]
    )


def _sqlite_session(connection: Any, _record: Any) -> None:
    """Write-ahead logging, so that readers never wait for a writer and ingest writes the alerts
    and their incidents side by side; still one fsync per commit (synchronous FULL), so an
    acknowledged alert survives a power cut as well as a killed hub."""
    cursor = connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


class AlertStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._upsert = _upsert(engine.dialect.name)  # built once: ingest runs it per batch
        self._count_insert = _count_insert(engine.dialect.name)
        # The hub's grid cell of an alert (hub.access.alert_cell, set by create_app), stored
        # beside it so that grid scopes filter lists in the query; else the reported cell.
        self.cell_of: Callable[[Alert], str | None] = lambda alert: alert.grid_cell

    @classmethod
    async def open(cls, database_url: str) -> AlertStore:
        """Connect and bring the schema to the latest migration."""
        url = make_url(database_url)
        backend = url.get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database {backend!r}: use SQLite or PostgreSQL")
        sqlite_file = backend == "sqlite" and url.database not in (None, "", ":memory:")
        if sqlite_file:
            Path(str(url.database)).parent.mkdir(parents=True, exist_ok=True)
        # A PostgreSQL connection can die in the pool (a restart, a proxy's idle cut): pinged on
        # checkout. A SQLite file cannot, and the ping was a quarter of ingest's database calls.
        engine = create_async_engine(url, pool_pre_ping=backend != "sqlite")
        if sqlite_file:
            event.listen(engine.sync_engine, "connect", _sqlite_session)
        await upgrade_to_head(engine)
        return cls(engine)

    @property
    def engine(self) -> AsyncEngine:
        """Shared with the other tables' stores (the camera registry)."""
        return self._engine

    async def close(self) -> None:
        await self._engine.dispose()

    async def upsert(self, alert: Alert) -> bool:
        """Store a report; False (and no change) when this revision or a newer one is stored."""
        return alert.id in await self.upsert_many([alert])

    async def upsert_many(self, alerts: Sequence[Alert]) -> set[str]:
        """Store reports in one transaction; the ids stored (new, or newer than what was
        stored). Of one id several times, the newest revision is the alert's (PostgreSQL
        refuses to update a row twice in one statement), and every one is a point of its count
        over time.

        One atomic statement per row (INSERT ... ON CONFLICT DO UPDATE ... WHERE stored < new),
        so two hubs ingesting the same alert at once cannot both win or step the revision back;
        sent as one executemany, which SQLAlchemy turns into multi-row INSERTs."""
        if not alerts:
            return set()
        newest: dict[str, Alert] = {}
        for alert in alerts:
            if alert.id not in newest or alert.revision > newest[alert.id].revision:
                newest[alert.id] = alert
        points = {(a.id, a.revision): _count_row(a) for a in alerts}  # a redelivery: one point
        async with self._engine.begin() as connection:
            rows = [_row(alert, self.cell_of(alert)) for alert in newest.values()]
            result = await connection.execute(self._upsert, rows)
            # Every report is a point of the count over time, an older one arriving late too.
            await connection.execute(self._count_insert, list(points.values()))
            return set(result.scalars())

    async def counts(self, alert_id: str) -> list[AlertCount]:
        """The alert's reports, oldest first: its people count over time."""
        query = (select(AlertCountRow).where(AlertCountRow.alert_id == alert_id)
                 .order_by(AlertCountRow.revision))  # fmt: skip
        async with self._sessions() as session:
            rows = (await session.scalars(query)).all()
        return [AlertCount(revision=row.revision, at=row.at, people_count=row.people_count,
                           peak_people=row.peak_people, level=Level(row.level))
                for row in rows]  # fmt: skip

    async def get(self, alert_id: str) -> Alert | None:
        async with self._sessions() as session:
            row = await session.get(AlertRow, alert_id)
        return None if row is None else Alert.model_validate_json(row.body)

    async def get_many(self, alert_ids: Sequence[str]) -> list[Alert]:
        if not alert_ids:
            return []
        query = select(AlertRow.body).where(AlertRow.id.in_(list(alert_ids)))
        async with self._sessions() as session:
            bodies = (await session.scalars(query)).all()
        return [Alert.model_validate_json(body) for body in bodies]

    async def list(
        self,
        *,
        camera_id: str | None = None,
        kind: AlertKind | None = None,
        level: Level | None = None,
        status: AlertStatus | None = None,
        since: datetime | None = None,
        grid_cells: Sequence[str] | None = None,
        limit: int = 100,
    ) -> list[Alert]:
        """Newest `updated_at` first; `grid_cells`: only alerts in these cells (a grid scope)."""
        query = select(AlertRow.body).order_by(AlertRow.updated_at.desc(), AlertRow.id).limit(limit)
        if camera_id is not None:
            query = query.where(AlertRow.camera_id == camera_id)
        if kind is not None:
            query = query.where(AlertRow.kind == kind.value)
        if level is not None:
            query = query.where(AlertRow.level == level.value)
        if status is not None:
            query = query.where(AlertRow.status == status.value)
        if grid_cells is not None:
            query = query.where(AlertRow.grid_cell.in_(list(grid_cells)))
        if since is not None:  # stored in UTC (SQLite keeps no offset): compare in UTC
            query = query.where(AlertRow.updated_at >= since.astimezone(UTC))
        async with self._sessions() as session:
            bodies = (await session.scalars(query)).all()
        return [Alert.model_validate_json(body) for body in bodies]

    async def count(self) -> int:
        async with self._sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(AlertRow)) or 0)

    async def ping(self) -> bool:
        try:
            await self.count()
        except Exception:  # health reports, never raises
            return False
        return True
