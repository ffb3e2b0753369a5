"""Reading the deadline ladder: what is due now, what fires next. Pure, so a scheduler can keep
deadlines in the database (from `Outcome.set_deadlines`) and fire them after a restart."""

from __future__ import annotations

from datetime import datetime

from hub.lifecycle.events import DeadlineMissed
from hub.lifecycle.model import Actor, Deadline, Incident


def deadlines_due(incident: Incident, now: datetime) -> list[Deadline]:
    """Pending deadlines at or before `now`, earliest first."""
    return sorted(
        (item for item in incident.deadlines if item.due_at <= now), key=lambda d: d.due_at
    )


def next_deadline(incident: Incident) -> Deadline | None:
    """The earliest pending deadline (None once closed or nothing is timed)."""
    return min(incident.deadlines, key=lambda item: item.due_at, default=None)


def missed(deadline: Deadline, now: datetime) -> DeadlineMissed:
    """The event the scheduler feeds back to `step` for a due deadline."""
    return DeadlineMissed(
        actor=Actor.system(), at=now, kind=deadline.kind, subject=deadline.subject,
        due_at=deadline.due_at,
    )


def due_events(incident: Incident, now: datetime) -> list[DeadlineMissed]:
    return [missed(item, now) for item in deadlines_due(incident, now)]
