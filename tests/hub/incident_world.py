"""Builders for the incident engine tests: a world (database, grid, engine) with a clock the test
moves, responders placed on the demo grid, and crowd alerts around Tianfu Square."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hub.contracts import Alert, GeoPoint
from hub.dispatch import Availability
from hub.grid import Grid, load_grid
from hub.incident_store import IncidentStore
from hub.incidents import EngineConfig, IncidentEngine
from hub.lifecycle import Actor, Claim, Incident, Role, Verify
from hub.outbox import IncidentChange
from hub.responders import ResponderCreate, ResponderPosition, ResponderStore
from hub.store import AlertStore
from tests.factories import make_alert

GRID_FILE = Path(__file__).parents[2] / "config" / "grid-demo.geojson"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SQUARE = GeoPoint(lat=30.657, lon=104.066)  # Tianfu Square: cell g-001, 1-minute ring
NEAR_SQUARE = GeoPoint(lat=30.6574, lon=104.0662)  # about 50 m away, another camera
EAST_CELL = GeoPoint(lat=30.657, lon=104.070)  # cell g-002, about 380 m from the square
OPERATOR = Actor(id="op-li", role=Role.OPERATOR)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class World:
    url: str
    alerts: AlertStore
    grid: Grid
    clock: Clock
    engine: IncidentEngine

    def new_engine(self, alerts: AlertStore, config: EngineConfig | None = None) -> IncidentEngine:
        return IncidentEngine(
            IncidentStore(alerts.engine), ResponderStore(alerts.engine), grid=self.grid,
            config=config or self.engine.config, clock=self.clock,
        )  # fmt: skip

    async def responder(self, responder_id: str, where: GeoPoint) -> None:
        new = ResponderCreate(id=responder_id, availability=Availability.AVAILABLE)
        await self.engine.responders.create(new, self.clock())
        position = ResponderPosition(location=where, reported_at=self.clock())
        await self.engine.responders.change(responder_id, self.clock(), position=position)

    async def availability(self, responder_id: str) -> Availability:
        found = await self.engine.responders.get(responder_id)
        assert found is not None
        return found.availability

    async def changes(self) -> list[IncidentChange]:
        entries = await self.engine.store.entries_after(0, 1000)
        return [IncidentChange.model_validate_json(entry.body) for entry in entries]

    async def trail(self, incident_id: str) -> list[tuple[int, str, str]]:
        return [(r.seq, r.event, r.why) for r in await self.engine.store.audit(incident_id)]


async def make_world(database_url: str, config: EngineConfig | None = None) -> World:
    alerts = await AlertStore.open(database_url)
    clock = Clock()
    grid = load_grid(GRID_FILE)
    engine = IncidentEngine(
        IncidentStore(alerts.engine), ResponderStore(alerts.engine), grid=grid,
        config=config, clock=clock,
    )  # fmt: skip
    return World(database_url, alerts, grid, clock, engine)


def alert(camera: str = "cam-1", where: GeoPoint = SQUARE, **values: Any) -> Alert:
    """A crowd alert; the worker's cell name is not the hub's (the hub's grid decides)."""
    return make_alert(camera, location=where, grid_cell="worker-zone-7", **values)


async def stored(world: World, incident_id: str) -> Incident:
    found = await world.engine.store.get(incident_id)
    assert found is not None
    return found


async def dispatched_to_nearest(world: World) -> Incident:
    """A claimed, verified crowd incident dispatched by the operator to the best candidate."""
    incident = await world.engine.on_alert(alert())
    world.clock.advance(10)
    await world.engine.apply(incident.id, Claim(actor=OPERATOR, at=world.clock()))
    world.clock.advance(10)
    await world.engine.apply(incident.id, Verify(actor=OPERATOR, at=world.clock()))
    world.clock.advance(5)
    outcome = await world.engine.dispatch_best(incident.id, OPERATOR, why="crowd confirmed")
    assert outcome is not None
    return outcome.incident
