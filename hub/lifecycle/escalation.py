"""Missed deadlines: re-queue, re-dispatch with the grid leader copied, and the 督办 ladder.

A supervision ticket opens on the first missed arrival, handling, feedback or close deadline; each
further miss (its own deadline included) climbs its colour and moves the responsible unit one grid
level up. Neither ever comes down; the incident's colour follows the supervision's upwards.
"""

from __future__ import annotations

from datetime import datetime

from hub.contracts import Level
from hub.lifecycle.changes import (
    Change,
    arm,
    disarm,
    latest_assignments,
    next_candidate,
    put_assignment,
    recolour,
    refuse,
    refused_responders,
    unmanned,
    update,
    with_deadlines,
)
from hub.lifecycle.effects import (
    Effect,
    NotifyLeader,
    NotifyResponder,
    NotifyShiftLeader,
    RaiseSupervision,
    Redispatch,
    RequeueForReview,
)
from hub.lifecycle.events import DeadlineMissed
from hub.lifecycle.model import (
    AssignmentState,
    DeadlineKind,
    GridLevel,
    Incident,
    Supervision,
    colour_up,
    most_severe,
)
from hub.lifecycle.policy import DeadlinePolicy, make_deadline

K = DeadlineKind


def deadline_missed(
    incident: Incident, event: DeadlineMissed, policy: DeadlinePolicy, now: datetime
) -> Change | None:
    pending = incident.deadline(event.kind, event.subject)
    if pending is None or pending.due_at != event.due_at:
        return None  # stale timer (met, replaced or already fired): nothing to do
    if pending.due_at > now or event.at < pending.due_at:
        raise refuse(incident, event, f"{event.kind} deadline not due until {pending.due_at}")
    incident = disarm(incident, event.kind, subject=event.subject)
    return _ACTIONS[event.kind](incident, event, policy)


def _claim(incident: Incident, event: DeadlineMissed, policy: DeadlinePolicy) -> Change:
    requeued = update(incident, review_escalations=incident.review_escalations + 1)
    effects = (
        RequeueForReview(why="claim deadline missed"),
        NotifyShiftLeader(why="claim deadline missed"),
    )
    return Change(arm(requeued, policy, K.CLAIM, event.at), "claim_deadline_missed", effects)


def _verify(incident: Incident, event: DeadlineMissed, policy: DeadlinePolicy) -> Change:
    effects: list[Effect] = [NotifyShiftLeader(why="verify deadline missed")]
    if policy.limits(incident.colour).auto_dispatch_on_verify_miss:
        effects.append(_redispatch(incident, "dispatch on suspicion: verify deadline missed"))
    return Change(incident, "verify_deadline_missed", tuple(effects))


def _dispatch(incident: Incident, event: DeadlineMissed, policy: DeadlinePolicy) -> Change:
    return Change(incident, "dispatch_deadline_missed", (NotifyShiftLeader(why="not dispatched"),))


def _acknowledge(incident: Incident, event: DeadlineMissed, policy: DeadlinePolicy) -> Change:
    responder_id = event.subject or ""
    timed_out = put_assignment(incident, responder_id, AssignmentState.TIMED_OUT, event.at)
    misses = incident.ack_misses + 1
    timed_out = unmanned(update(timed_out, ack_misses=misses), policy, event.at)
    # The grid cell's leader is copied; every `ack_misses_per_escalation` misses, one level up.
    level = GridLevel.GRID_CELL.up(misses // policy.ack_misses_per_escalation)
    effects = (
        _redispatch(timed_out, "acknowledgement deadline missed"),
        NotifyLeader(grid_level=level, why=f"{misses} missed acknowledgement(s)"),
    )
    return Change(
        timed_out, "ack_deadline_missed", effects, responder_id,
        AssignmentState.NOTIFIED, AssignmentState.TIMED_OUT,
    )


def _check(incident: Incident, event: DeadlineMissed, policy: DeadlinePolicy) -> Change:
    return Change(incident, "check_deadline_missed", (NotifyShiftLeader(why="check overdue"),))


def _supervise(incident: Incident, event: DeadlineMissed, policy: DeadlinePolicy) -> Change:
    """Arrival, handling, feedback or close missed, or the supervision's own deadline."""
    effects: list[Effect] = []
    if event.kind is K.FEEDBACK:
        effects += [
            NotifyResponder(responder_id=item.responder_id, why="feedback overdue")
            for item in latest_assignments(incident)
            if item.state is AssignmentState.ON_SCENE
        ]
    floor = Level.RED if event.kind is K.CLOSE else None  # 按期结案 missed: red 督办
    supervision = _climb(incident.supervision, incident, event, policy, floor)
    supervised = update(incident, supervision=supervision)
    supervised = recolour(supervised, most_severe(incident.colour, supervision.colour), policy)
    due = make_deadline(policy, supervised, K.SUPERVISION, event.at)
    effects += [
        RaiseSupervision(
            colour=supervision.colour, responsible_level=supervision.responsible_level,
            copy_level=supervision.responsible_level.up(), due_at=due.due_at,
            why=f"{event.kind} deadline missed",
        ),
        NotifyLeader(grid_level=supervision.responsible_level, why="supervision ticket"),
    ]
    supervised = with_deadlines(supervised, due)
    return Change(supervised, f"{event.kind}_deadline_missed", tuple(effects))


def _climb(
    current: Supervision | None,
    incident: Incident,
    event: DeadlineMissed,
    policy: DeadlinePolicy,
    floor: Level | None,
) -> Supervision:
    start = policy.supervision_starts[incident.colour]
    cause = current.cause if event.kind is K.SUPERVISION and current is not None else event.kind
    if current is None:
        supervision = Supervision(
            colour=start.colour, responsible_level=start.responsible_level,
            opened_at=event.at, cause=cause,
        )
    else:
        colour = current.colour
        for _ in range(start.colour_steps):
            colour = colour_up(colour)
        supervision = current.model_copy(
            update={
                "colour": colour,
                "responsible_level": current.responsible_level.up(),
                "escalations": current.escalations + 1,
                "cause": cause,
                "active": True,
            }
        )
    if floor is None:
        return supervision
    return supervision.model_copy(update={"colour": most_severe(supervision.colour, floor)})


def _redispatch(incident: Incident, why: str) -> Redispatch:
    return Redispatch(
        exclude=refused_responders(incident), next_candidate=next_candidate(incident), why=why
    )


_ACTIONS = {
    K.CLAIM: _claim,
    K.VERIFY: _verify,
    K.DISPATCH: _dispatch,
    K.ACKNOWLEDGE: _acknowledge,
    K.CHECK: _check,
    K.ARRIVE: _supervise,
    K.HANDLE: _supervise,
    K.FEEDBACK: _supervise,
    K.CLOSE: _supervise,
    K.SUPERVISION: _supervise,
}
