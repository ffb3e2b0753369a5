"""Report what I see: an operator on patrol opens an incident at the camera's place.

No alert carries it: there is no alert kind for a person's report (`AlertKind` lists what
detectors raise) and an alert's actor is the system, while this one's is the operator. So the
incident is opened here, as the engine opens one for an alert (same grid cell and ring, queued
for review with its claim and close deadlines), and committed through the engine, which writes
the incident, its audit record (actor: the operator; evidence: the patrol log entry), its
deadlines and its outbox entry in one transaction and then tells the live pages. The incident id
derives from the log entry, so a retried report opens nothing twice.
"""

from __future__ import annotations

import uuid

from hub.contracts import GeoPoint
from hub.grid import Grid
from hub.incident_store import StaleIncidentError
from hub.incidents import IncidentEngine
from hub.lifecycle import Actor, Incident, Queue, open_incident
from hub.patrol_models import LogEntry, ReportIn
from hub.patrol_plan import report_colour

_REPORT_NAMESPACE = uuid.UUID("0b6f8f0e-54a4-4c0e-9d8e-7a2f1d4c9e31")


def report_incident_id(log_entry_id: str) -> str:
    return str(uuid.uuid5(_REPORT_NAMESPACE, f"patrol:{log_entry_id}"))


def evidence_of(entry: LogEntry) -> list[str]:
    return [f"patrol-log:{entry.id}", f"camera:{entry.camera_id}"]


def place(
    grid: Grid | None, location: GeoPoint | None, reported_cell: str | None
) -> tuple[str | None, int | None]:
    """(grid cell, ring minutes) as the engine decides them for an alert at `location`."""
    if grid is None or location is None:
        return reported_cell, None
    cell = reported_cell
    if reported_cell not in grid.nodes:
        node = grid.cell_at(location.lat, location.lon)
        cell = reported_cell if node is None else node.id
    spot = grid.place_at(location.lat, location.lon)
    ring = spot.ring_min if spot and spot.ring_min in (1, 3, 5) else None
    return cell, ring


async def open_report(
    engine: IncidentEngine,
    entry: LogEntry,
    report: ReportIn,
    actor: Actor,
    location: GeoPoint | None,
    grid_cell: str | None,
) -> tuple[Incident, bool]:
    """(the incident, whether this call opened it). `location` None: the camera is gone; the
    incident then has no place (the ranking still uses the grid cell and availability)."""
    incident_id = report_incident_id(entry.id)
    found = await engine.store.get(incident_id)
    if found is not None:
        return found, False
    now = engine.now()
    cell, ring = place(engine.grid, location, grid_cell)
    opened = open_incident(
        incident_id, kind=report.kind.value, colour=report_colour(report.kind, report.colour),
        at=now, ring_min=ring, grid_cell=cell, location=location,  # type: ignore[arg-type]
    )  # fmt: skip
    words = f"patrol report from camera {entry.camera_id}"
    words += f": {report.note}" if report.note else ""
    event = Queue(actor=actor, at=now, reason=words[:500], evidence=evidence_of(entry))
    try:
        outcome = await engine.open(opened, event)
    except StaleIncidentError:  # the same report, sent twice at once: the other one won
        again = await engine.store.get(incident_id)
        if again is None:
            raise
        return again, False
    return outcome.incident, True
