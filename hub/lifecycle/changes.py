"""Small pure edits of an `Incident` shared by the handlers, and the `Change` they return."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.contracts import Level
from hub.lifecycle.effects import CancelAssignment, Effect
from hub.lifecycle.errors import InvalidTransitionError
from hub.lifecycle.events import EventBase
from hub.lifecycle.model import (
    ACTIVE_ASSIGNMENTS,
    REFUSED_ASSIGNMENTS,
    Assignment,
    AssignmentState,
    CloseReason,
    Deadline,
    DeadlineKind,
    Incident,
    IncidentState,
    Role,
    is_more_severe,
)
from hub.lifecycle.policy import DeadlinePolicy, duration_s, make_deadline


@dataclass(frozen=True)
class Change:
    """A handler's answer: the new incident, a reason code, effects, the assignment it moved."""

    incident: Incident
    why: str
    effects: tuple[Effect, ...] = ()
    responder_id: str | None = None
    assignment_from: AssignmentState | None = None
    assignment_to: AssignmentState | None = None


def refuse(incident: Incident, event: EventBase, detail: str) -> InvalidTransitionError:
    return InvalidTransitionError(incident.state.value, _type(event), detail)


def _type(event: EventBase) -> str:
    return str(getattr(event, "type", type(event).__name__))


def require_person(incident: Incident, event: EventBase) -> None:
    """Operators and supervisors only (not the system, not a responder)."""
    if event.actor.role not in (Role.OPERATOR, Role.SUPERVISOR):
        raise refuse(incident, event, f"needs an operator or supervisor, not {event.actor.role}")


def update(incident: Incident, **values: object) -> Incident:
    return incident.model_copy(update=values)


def with_deadlines(incident: Incident, *deadlines: Deadline) -> Incident:
    """Set deadlines, replacing pending ones with the same kind and subject."""
    keys = {deadline.key for deadline in deadlines}
    kept = [item for item in incident.deadlines if item.key not in keys]
    return update(incident, deadlines=[*kept, *deadlines])


def arm(
    incident: Incident,
    policy: DeadlinePolicy,
    kind: DeadlineKind,
    start: datetime,
    subject: str | None = None,
) -> Incident:
    return with_deadlines(incident, make_deadline(policy, incident, kind, start, subject))


def disarm(incident: Incident, *kinds: DeadlineKind, subject: str | None = None) -> Incident:
    """Drop pending deadlines of these kinds (only the one for `subject` when given)."""

    def dropped(item: Deadline) -> bool:
        return item.kind in kinds and (subject is None or item.subject == subject)

    return update(incident, deadlines=[item for item in incident.deadlines if not dropped(item)])


def put_assignment(
    incident: Incident, responder_id: str, state: AssignmentState, at: datetime,
    reasons: Iterable[str] = (),
) -> Incident:
    """Move the responder's latest assignment to `state` (a new one when it has ended)."""
    current = incident.assignment(responder_id)
    assignments = list(incident.assignments)
    # Recommending or notifying starts a new assignment, except notifying a recommended one.
    starts_new = current is None or (
        state in (AssignmentState.RECOMMENDED, AssignmentState.NOTIFIED)
        and current.state is not AssignmentState.RECOMMENDED
    )
    kept_reasons = [] if starts_new or current is None else list(current.reasons)
    moved = Assignment(
        responder_id=responder_id, state=state, since=at, reasons=[*kept_reasons, *reasons]
    )
    if starts_new:
        assignments.append(moved)
    else:
        index = max(i for i, item in enumerate(assignments) if item.responder_id == responder_id)
        assignments[index] = moved
    return update(incident, assignments=assignments)


def latest_assignments(incident: Incident) -> list[Assignment]:
    latest = {item.responder_id: item for item in incident.assignments}
    return list(latest.values())


def refused_responders(incident: Incident) -> list[str]:
    """Everyone who declined or let an acknowledgement lapse on this incident, in order."""
    seen = [a.responder_id for a in incident.assignments if a.state in REFUSED_ASSIGNMENTS]
    return list(dict.fromkeys(seen))


def unmanned(incident: Incident, policy: DeadlinePolicy, at: datetime) -> Incident:
    """Nobody holds the incident any more (declined, timed out) while it waits for responders:
    the dispatch deadline runs again, so a re-dispatch that finds nobody is noticed (the shift
    leader) instead of waiting for the close deadline."""
    if incident.state is not IncidentState.DISPATCHING:
        return incident
    if any(item.state in ACTIVE_ASSIGNMENTS for item in latest_assignments(incident)):
        return incident
    return arm(incident, policy, DeadlineKind.DISPATCH, at)


def next_candidate(incident: Incident) -> str | None:
    pending = [a for a in latest_assignments(incident) if a.state is AssignmentState.RECOMMENDED]
    return pending[0].responder_id if pending else None


def recolour(incident: Incident, colour: Level, policy: DeadlinePolicy) -> Incident:
    """Set the colour; a more severe one also pulls pending deadlines in (never pushes them out)."""
    if colour == incident.colour:
        return incident  # most merged reports: no copy
    if not is_more_severe(colour, incident.colour):
        return update(incident, colour=colour)
    tightened = [_tighten(item, colour, incident, policy) for item in incident.deadlines]
    return update(incident, colour=colour, deadlines=tightened)


def _tighten(
    deadline: Deadline, colour: Level, incident: Incident, policy: DeadlinePolicy
) -> Deadline:
    seconds = duration_s(policy, deadline.kind, colour, incident.ring_min)
    shorter = deadline.started_at + timedelta(seconds=seconds)
    if shorter >= deadline.due_at:
        return deadline
    return deadline.model_copy(update={"due_at": shorter})


def satisfy(incident: Incident, *causes: DeadlineKind) -> Incident:
    """The supervision stops climbing once what it was raised for is done (it stays on record)."""
    supervision = incident.supervision
    if supervision is None or not supervision.active or supervision.cause not in causes:
        return incident
    incident = disarm(incident, DeadlineKind.SUPERVISION)
    return update(incident, supervision=supervision.model_copy(update={"active": False}))


def cancel_active(incident: Incident, at: datetime, why: str) -> tuple[Incident, list[Effect]]:
    """Cancel every assignment still holding a responder; tell each of them."""
    effects: list[Effect] = []
    for item in latest_assignments(incident):
        if item.state in ACTIVE_ASSIGNMENTS or item.state is AssignmentState.RECOMMENDED:
            incident = put_assignment(incident, item.responder_id, AssignmentState.CANCELLED, at)
            if item.state is not AssignmentState.RECOMMENDED:
                effects.append(CancelAssignment(responder_id=item.responder_id, why=why))
    return incident, effects


def close_incident(
    incident: Incident, state: IncidentState, reason: CloseReason, at: datetime
) -> tuple[Incident, list[Effect]]:
    """Closed or false alarm: no timers, no responders held, supervision stops climbing."""
    incident, effects = cancel_active(incident, at, f"incident closed ({reason.value})")
    supervision = incident.supervision
    if supervision is not None and supervision.active:
        incident = update(incident, supervision=supervision.model_copy(update={"active": False}))
    closed = update(incident, state=state, close_reason=reason, closed_at=at, deadlines=[])
    return closed, effects
