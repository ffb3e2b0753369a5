"""Responders (grid workers, patrol police): who they are, where they are, whether they can go.

A responder authenticates with a token issued once at registration (only its SHA-256 is
stored). `availability` moves with their assignments (`follow_assignments`): committed when an
assignment starts holding them (notified), available again when it stops (declined, timed out,
cleared, cancelled), whichever event moved it (an incident's close cancels several at once).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.contracts import GeoPoint
from hub.db import ResponderRow
from hub.dispatch import Availability, Position, Responder, TravelMode
from hub.lifecycle import Assignment, AssignmentState
from hub.lifecycle.model import ACTIVE_ASSIGNMENTS

Identifier = str


class ResponderExistsError(Exception):
    pass


class ResponderPosition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    location: GeoPoint
    reported_at: datetime
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000)


class ResponderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    name: str = Field(default="", max_length=120)
    team: str | None = Field(default=None, max_length=64)
    skills: list[str] = Field(default_factory=list, max_length=32)
    mode: TravelMode = TravelMode.WALKING
    grid_ids: list[str] = Field(
        default_factory=list,
        max_length=32,
        description="Grid nodes they serve (besides the grid file's lists)",
    )
    availability: Availability = Availability.OFF_SHIFT


class ResponderRecord(ResponderCreate):
    position: ResponderPosition | None = None
    updated_at: datetime

    def for_ranking(self, grid_memberships: frozenset[str]) -> Responder:
        position = self.position
        return Responder(
            id=self.id, availability=self.availability, mode=self.mode, team=self.team,
            skills=frozenset(self.skills), grid_ids=frozenset(self.grid_ids) | grid_memberships,
            position=None if position is None else Position(
                position.location.lat, position.location.lon, position.reported_at),
        )  # fmt: skip


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ResponderStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(self, new: ResponderCreate, now: datetime) -> tuple[ResponderRecord, str]:
        """The record and its token (shown once; only the digest is kept)."""
        token = secrets.token_urlsafe(32)
        record = ResponderRecord(**new.model_dump(), updated_at=now)
        row = {"id": new.id, "token_sha256": token_digest(token), "updated_at": now,
               "body": record.model_dump_json()}  # fmt: skip
        try:
            async with self._engine.begin() as connection:
                await connection.execute(insert(ResponderRow).values(**row))
        except IntegrityError as error:
            raise ResponderExistsError(new.id) from error
        return record, token

    async def get(self, responder_id: str) -> ResponderRecord | None:
        query = select(ResponderRow.body).where(ResponderRow.id == responder_id)
        async with self._engine.connect() as connection:
            body = (await connection.execute(query)).scalar_one_or_none()
        return None if body is None else ResponderRecord.model_validate_json(body)

    async def by_token(self, token: str) -> ResponderRecord | None:
        query = select(ResponderRow.body).where(ResponderRow.token_sha256 == token_digest(token))
        async with self._engine.connect() as connection:
            body = (await connection.execute(query)).scalar_one_or_none()
        return None if body is None else ResponderRecord.model_validate_json(body)

    async def all(self) -> list[ResponderRecord]:
        query = select(ResponderRow.body).order_by(ResponderRow.id)
        async with self._engine.connect() as connection:
            bodies = (await connection.execute(query)).scalars().all()
        return [ResponderRecord.model_validate_json(body) for body in bodies]

    async def change(
        self,
        responder_id: str,
        now: datetime,
        *,
        availability: Availability | None = None,
        position: ResponderPosition | None = None,
        only_if: frozenset[Availability] | None = None,
    ) -> ResponderRecord | None:
        """Set availability and/or position (None: unknown responder, or `only_if` not met).
        Read-modify-write in one transaction, retried on a concurrent change."""
        for _attempt in range(5):
            current = await self.get(responder_id)
            if current is None or (only_if is not None and current.availability not in only_if):
                return None
            values: dict[str, object] = {"updated_at": now.astimezone(UTC)}
            if availability is not None:
                values["availability"] = availability
            if position is not None:
                values["position"] = position
            changed = current.model_copy(update=values)
            statement = (
                update(ResponderRow)
                .where(ResponderRow.id == responder_id,
                       ResponderRow.body == current.model_dump_json())
                .values(body=changed.model_dump_json(), updated_at=now)
            )  # fmt: skip
            async with self._engine.begin() as connection:
                if (await connection.execute(statement)).rowcount == 1:
                    return changed
        raise RuntimeError(f"responder {responder_id} kept changing; try again")

    async def follow_assignments(
        self, before: Iterable[Assignment], after: Iterable[Assignment], now: datetime
    ) -> None:
        """Availability follows each responder's latest assignment on one incident: it starts
        holding them (committed) or stops holding them (available, only if still committed)."""
        old, new = _latest(before), _latest(after)
        for responder_id, state in new.items():
            held, holds = old.get(responder_id) in ACTIVE_ASSIGNMENTS, state in ACTIVE_ASSIGNMENTS
            if holds and not held:
                await self.change(responder_id, now, availability=Availability.COMMITTED)
            elif held and not holds:
                await self.change(
                    responder_id, now, availability=Availability.AVAILABLE,
                    only_if=frozenset({Availability.COMMITTED}),
                )  # fmt: skip


def _latest(assignments: Iterable[Assignment]) -> dict[str, AssignmentState]:
    return {item.responder_id: item.state for item in assignments}
