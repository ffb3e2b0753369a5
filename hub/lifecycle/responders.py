"""Assignment handlers: recommend, dispatch, and the responder's acknowledge, decline, depart,
arrive, clear and feedback. Each moves one assignment and, where it matters, the incident."""

from __future__ import annotations

from datetime import datetime

from hub.lifecycle.changes import (
    Change,
    arm,
    cancel_active,
    disarm,
    latest_assignments,
    next_candidate,
    put_assignment,
    refuse,
    refused_responders,
    require_person,
    satisfy,
    unmanned,
    update,
)
from hub.lifecycle.effects import Effect, NotifyResponder, Redispatch
from hub.lifecycle.events import (
    Acknowledge,
    Arrive,
    Clear,
    Decline,
    Depart,
    Dispatch,
    Recommend,
    RejectFeedback,
    ResponderEvent,
    SubmitFeedback,
)
from hub.lifecycle.model import (
    ACTIVE_ASSIGNMENTS,
    AssignmentState,
    DeadlineKind,
    Incident,
    IncidentState,
    Role,
    TicketKind,
)
from hub.lifecycle.policy import DeadlinePolicy

A = AssignmentState
S = IncidentState
K = DeadlineKind


def recommend(
    incident: Incident, event: Recommend, policy: DeadlinePolicy, now: datetime
) -> Change:
    current = incident.assignment(event.responder_id)
    previous = current.state if current is not None else None
    if previous in ACTIVE_ASSIGNMENTS or previous is A.RECOMMENDED:
        raise refuse(incident, event, f"{event.responder_id} is already {previous}")
    recommended = put_assignment(
        incident, event.responder_id, A.RECOMMENDED, event.at, event.reasons
    )
    return _moved(recommended, "recommended", event.responder_id, previous, A.RECOMMENDED)


def dispatch(incident: Incident, event: Dispatch, policy: DeadlinePolicy, now: datetime) -> Change:
    if event.actor.role is Role.RESPONDER:
        raise refuse(incident, event, "a responder does not dispatch")
    on_suspicion = event.actor.role is Role.SYSTEM
    if incident.state is S.PENDING_REVIEW and not (incident.confirmed or on_suspicion):
        raise refuse(incident, event, "verify it first (only the system dispatches on suspicion)")
    current = incident.assignment(event.responder_id)
    if current is not None and current.state in ACTIVE_ASSIGNMENTS:
        raise refuse(incident, event, f"{event.responder_id} is already {current.state}")
    notified = put_assignment(incident, event.responder_id, A.NOTIFIED, event.at, event.reasons)
    if incident.state in (S.PENDING_REVIEW, S.WARNING_ISSUED):
        notified = update(notified, state=S.DISPATCHING)
    if incident.assignment_issued_at is None:
        notified = update(notified, assignment_issued_at=event.at)
    notified = disarm(notified, K.CLAIM, K.VERIFY, K.DISPATCH)
    notified = arm(notified, policy, K.ACKNOWLEDGE, event.at, subject=event.responder_id)
    ticket = NotifyResponder(
        responder_id=event.responder_id, ticket=TicketKind.ASSIGNMENT, why="assignment ticket"
    )
    previous = current.state if current is not None else None
    return _moved(notified, "dispatched", event.responder_id, previous, A.NOTIFIED, ticket)


def acknowledge(
    incident: Incident, event: Acknowledge, policy: DeadlinePolicy, now: datetime
) -> Change:
    _require_state(incident, event, A.NOTIFIED)
    acked = put_assignment(incident, event.responder_id, A.ACKNOWLEDGED, event.at)
    acked = disarm(acked, K.ACKNOWLEDGE, subject=event.responder_id)
    if incident.state is S.DISPATCHING:
        acked = arm(update(acked, state=S.ASSIGNED), policy, K.ARRIVE, event.at)
    return _moved(acked, "acknowledged", event.responder_id, A.NOTIFIED, A.ACKNOWLEDGED)


def decline(incident: Incident, event: Decline, policy: DeadlinePolicy, now: datetime) -> Change:
    _require_state(incident, event, A.NOTIFIED)
    declined = put_assignment(incident, event.responder_id, A.DECLINED, event.at)
    declined = disarm(declined, K.ACKNOWLEDGE, subject=event.responder_id)
    declined = unmanned(declined, policy, event.at)
    again = Redispatch(
        exclude=refused_responders(declined), next_candidate=next_candidate(declined),
        why="responder declined",
    )
    return _moved(declined, "declined", event.responder_id, A.NOTIFIED, A.DECLINED, again)


def depart(incident: Incident, event: Depart, policy: DeadlinePolicy, now: datetime) -> Change:
    _require_state(incident, event, A.ACKNOWLEDGED)
    departed = put_assignment(incident, event.responder_id, A.EN_ROUTE, event.at)
    return _moved(departed, "departed", event.responder_id, A.ACKNOWLEDGED, A.EN_ROUTE)


def arrive(incident: Incident, event: Arrive, policy: DeadlinePolicy, now: datetime) -> Change:
    previous = _require_state(incident, event, A.ACKNOWLEDGED, A.EN_ROUTE)
    arrived = put_assignment(incident, event.responder_id, A.ON_SCENE, event.at)
    if incident.state is S.ASSIGNED:  # the first one on scene starts handling and feedback
        arrived = satisfy(disarm(update(arrived, state=S.ON_SCENE), K.ARRIVE), K.ARRIVE)
        arrived = arm(arm(arrived, policy, K.HANDLE, event.at), policy, K.FEEDBACK, event.at)
    return _moved(arrived, "arrived", event.responder_id, previous, A.ON_SCENE)


def clear(incident: Incident, event: Clear, policy: DeadlinePolicy, now: datetime) -> Change:
    _require_state(incident, event, A.ON_SCENE)
    cleared = put_assignment(incident, event.responder_id, A.CLEARED, event.at)
    cleared = satisfy(disarm(cleared, K.HANDLE), K.HANDLE)
    return _moved(cleared, "cleared", event.responder_id, A.ON_SCENE, A.CLEARED)


def submit_feedback(
    incident: Incident, event: SubmitFeedback, policy: DeadlinePolicy, now: datetime
) -> Change:
    previous = _require_state(incident, event, A.ON_SCENE, A.CLEARED)
    done = put_assignment(incident, event.responder_id, A.CLEARED, event.at)
    for other in latest_assignments(incident):  # everyone else on scene is done too
        if other.state is A.ON_SCENE and other.responder_id != event.responder_id:
            done = put_assignment(done, other.responder_id, A.CLEARED, event.at)
    done, effects = cancel_active(done, event.at, "feedback submitted")
    done = satisfy(disarm(done, K.HANDLE, K.FEEDBACK), K.HANDLE, K.FEEDBACK)
    done = arm(update(done, state=S.FEEDBACK_SUBMITTED), policy, K.CHECK, event.at)
    return _moved(done, "feedback_submitted", event.responder_id, previous, A.CLEARED, *effects)


def _require_state(
    incident: Incident, event: ResponderEvent, *states: AssignmentState
) -> AssignmentState:
    """The responder's assignment must be in one of `states`; a responder acts only for self."""
    if event.actor.role is Role.RESPONDER and event.actor.id != event.responder_id:
        raise refuse(incident, event, "a responder acts only for themselves")
    current = incident.assignment(event.responder_id)
    if current is None or current.state not in states:
        found = "no assignment" if current is None else f"assignment {current.state}"
        raise refuse(incident, event, f"{event.responder_id} has {found}")
    return current.state


def _moved(
    incident: Incident,
    why: str,
    responder_id: str,
    before: AssignmentState | None,
    after: AssignmentState,
    *effects: Effect,
) -> Change:
    return Change(incident, why, effects, responder_id, before, after)


def reject_feedback(
    incident: Incident, event: RejectFeedback, policy: DeadlinePolicy, now: datetime
) -> Change:
    """Rework (返工): dispatch again, preferably to whoever did the work."""
    require_person(incident, event)
    rework = update(incident, state=S.DISPATCHING, rework_count=incident.rework_count + 1)
    rework = arm(disarm(rework, K.CHECK), policy, K.DISPATCH, event.at)
    workers = [a.responder_id for a in latest_assignments(incident) if a.state is A.CLEARED]
    again = Redispatch(
        exclude=refused_responders(incident),
        next_candidate=workers[0] if workers else next_candidate(incident),
        why="rework: feedback rejected",
    )
    return Change(rework, "feedback_rejected_rework", (again,))
