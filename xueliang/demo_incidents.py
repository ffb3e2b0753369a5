"""The demo's incident side: the demo grid, two grid workers on duty near the camera, and one
terminal line per incident change (with the best responder when an incident opens), so a new user
sees the whole loop: alert -> incident -> recommended responder."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

from hub.contracts import GeoPoint
from hub.dispatch import Availability, TravelMode
from hub.incidents import IncidentEngine
from hub.lifecycle import Incident
from hub.outbox import IncidentChange
from hub.responders import ResponderCreate, ResponderExistsError, ResponderPosition

DEMO_GRID = Path(__file__).resolve().parents[1] / "config" / "grid-demo.geojson"
# Members of the demo camera's grid cell g-001, a short walk and a ride away.
_ON_DUTY = (
    ("r-wang", "王网格员", TravelMode.WALKING, GeoPoint(lat=30.6585, lon=104.0655)),
    ("r-li", "李巡逻", TravelMode.E_BIKE, GeoPoint(lat=30.6610, lon=104.0700)),
)


async def add_demo_responders(engine: IncidentEngine) -> None:
    """Idempotent: a second demo run on the same data folder puts them on duty again."""
    now = engine.now()
    for responder_id, name, mode, where in _ON_DUTY:
        new = ResponderCreate(
            id=responder_id, name=name, mode=mode, availability=Availability.AVAILABLE
        )
        with contextlib.suppress(ResponderExistsError):
            await engine.responders.create(new, now)
        position = ResponderPosition(location=where, reported_at=now)
        await engine.responders.change(
            responder_id, now, position=position, availability=Availability.AVAILABLE
        )


def print_changes(
    engine: IncidentEngine, say: Callable[[str], None]
) -> Callable[[Incident, IncidentChange], None]:
    """An `on_change` hook printing each change; chains the hub's own hook."""
    chained = engine.on_change
    pending: set[asyncio.Task[None]] = set()

    def changed(incident: Incident, change: IncidentChange) -> None:
        if chained is not None:
            chained(incident, change)
        say(f"INCIDENT {incident.id[:8]} {change.event} -> {change.state} ({change.colour})")
        if change.event == "queue":  # just opened: show who would go
            task = asyncio.ensure_future(_recommend(engine, incident, say))
            pending.add(task)
            task.add_done_callback(pending.discard)

    return changed


async def _recommend(
    engine: IncidentEngine, incident: Incident, say: Callable[[str], None]
) -> None:
    ranking = await engine.recommendations(incident)
    if not ranking.recommendations:
        say(f"INCIDENT {incident.id[:8]} nobody available to dispatch")
        return
    best = ranking.recommendations[0]
    reasons = "; ".join(str(reason) for reason in best.reasons)
    say(f"INCIDENT {incident.id[:8]} best responder {best.responder_id}: {reasons}")
