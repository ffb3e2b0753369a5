"""The outbox: incident changes written in the same transaction as the change itself, then
delivered to outside systems (webhook, MQTT) at least once, each sink from its own cursor.

`IncidentChange` is the published message (a wire contract for SMS and app gateways); `Outbox`
is what a sink needs from the store. Entries are never edited; a sink that falls behind catches up
from its cursor after a restart, so nothing is lost while a receiver is down.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from hub.contracts import GeoPoint, Level


class IncidentChange(BaseModel):
    """One accepted change of an incident, as published outside (webhook body, MQTT payload)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    incident_id: str
    version: int = Field(description="The incident's version after the change (per-incident seq)")
    at: datetime
    event: str = Field(description="Event type, e.g. dispatch, acknowledge, deadline_missed")
    actor_id: str
    state: str
    colour: Level
    gb_priority: int = Field(ge=1, le=4, description="GB/T 28181 alarm priority (1 = red)")
    kind: str
    grid_cell: str | None = None
    location: GeoPoint | None = None
    responder_id: str | None = None
    assignment_state: str | None = None
    why: str = ""
    notify: list[dict[str, object]] = Field(
        default_factory=list, description="Effects of the change: who must be told what"
    )


@dataclass(frozen=True)
class OutboxEntry:
    id: int  # strictly increasing in commit order of the writer
    incident_id: str
    created_at: datetime
    body: str  # IncidentChange as JSON


class Outbox(Protocol):
    async def entries_after(self, cursor: int, limit: int) -> list[OutboxEntry]:
        """Entries with id > cursor, oldest first, at most `limit`."""
        ...

    async def cursor(self, sink: str) -> int:
        """The last id `sink` delivered (0 when it never did)."""
        ...

    async def advance(self, sink: str, cursor: int) -> None:
        """Record that `sink` delivered everything up to `cursor` (never moves backwards)."""
        ...
