"""The camera registry: the source of truth for cameras, in the hub's database.

Changes are compare-and-set on `revision`, so two integrators editing one camera at once cannot
silently overwrite each other. The sealed password lives in its own column, never in the JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from hub.camera_models import CameraPublic, CameraRecord
from hub.contracts import CameraSpec
from hub.db import CameraRow, utc


class CameraExistsError(Exception):
    pass


class StaleRevisionError(Exception):
    """The camera changed since it was read: read it again and retry."""


@dataclass(frozen=True)
class StoredCamera:
    record: CameraRecord
    username: str | None
    password_sealed: str | None
    revision: int
    created_at: datetime
    updated_at: datetime

    def __repr__(self) -> str:
        return f"StoredCamera(id={self.record.id!r}, revision={self.revision})"

    def public(self) -> CameraPublic:
        return CameraPublic(
            **self.record.model_dump(),
            username=self.username,
            has_password=self.password_sealed is not None,
            revision=self.revision,
            created_at=self.created_at,
            updated_at=self.updated_at,
        )

    def spec(self) -> CameraSpec:
        """What a worker runs: the password still sealed."""
        record = self.record
        return CameraSpec(
            id=record.id,
            name=record.name,
            url=record.stream_url,
            username=self.username,
            password_sealed=self.password_sealed,
            location=record.location,
            heading_deg=record.heading_deg,
            grid_cell=record.grid_cell,
            sampling=record.sampling,
            zones=record.zones,
            lines=record.lines,
            rules=record.rules,
            ground_calibration=record.ground_calibration,
        )


def _stored(row: CameraRow) -> StoredCamera:
    return StoredCamera(
        record=CameraRecord.model_validate_json(row.body),
        username=row.username,
        password_sealed=row.password_sealed,
        revision=row.revision,
        created_at=utc(row.created_at),
        updated_at=utc(row.updated_at),
    )


class CameraRegistry:
    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def add(
        self, record: CameraRecord, username: str | None, password_sealed: str | None,
        now: datetime,
    ) -> StoredCamera:  # fmt: skip
        row = CameraRow(
            id=record.id, revision=0, enabled=record.enabled, username=username,
            password_sealed=password_sealed, created_at=now, updated_at=now,
            body=record.model_dump_json(),
        )  # fmt: skip
        try:
            async with self._sessions.begin() as session:
                session.add(row)
        except IntegrityError:
            raise CameraExistsError(f"camera {record.id!r} is already registered") from None
        return _stored(row)

    async def get(self, camera_id: str) -> StoredCamera | None:
        async with self._sessions() as session:
            row = await session.get(CameraRow, camera_id)
        return None if row is None else _stored(row)

    async def list(self, *, enabled: bool | None = None) -> list[StoredCamera]:
        query = select(CameraRow).order_by(CameraRow.id)
        if enabled is not None:
            query = query.where(CameraRow.enabled == enabled)
        async with self._sessions() as session:
            rows = (await session.scalars(query)).all()
        return [_stored(row) for row in rows]

    async def replace(
        self, current: StoredCamera, record: CameraRecord, username: str | None,
        password_sealed: str | None, now: datetime,
    ) -> StoredCamera:  # fmt: skip
        """Write `record` over `current`, unless someone changed it since it was read."""
        statement = (
            update(CameraRow)
            .where(CameraRow.id == record.id, CameraRow.revision == current.revision)
            .values(
                revision=current.revision + 1, enabled=record.enabled, username=username,
                password_sealed=password_sealed, updated_at=now, body=record.model_dump_json(),
            )
            .returning(CameraRow.id)
        )
        async with self._sessions.begin() as session:
            changed = (await session.execute(statement)).first()
        if changed is None:
            raise StaleRevisionError(f"camera {record.id!r} changed meanwhile: read it again")
        return StoredCamera(
            record, username, password_sealed, current.revision + 1, current.created_at, now
        )

    async def remove(self, camera_id: str) -> bool:
        async with self._sessions.begin() as session:
            statement = delete(CameraRow).where(CameraRow.id == camera_id).returning(CameraRow.id)
            removed = (await session.execute(statement)).first()
        return removed is not None
