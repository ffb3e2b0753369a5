"""`step(incident, event, now, policy) -> Outcome`: the incident state machine in one function.

Pure: no I/O, no clock. `ALLOWED` is the transition table (event type -> states that take it);
the handlers in `review`, `responders` and `escalation` guard the rest and return a `Change`, which
`step` turns into the new incident (version +1), exactly one audit record, the deadline changes
and the effects for the shell to perform. A handler returning None is a no-op (a replayed merge,
a stale timer, a colour that is not higher): nothing changes and nothing is audited.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import Field

from hub.lifecycle import escalation, responders, review
from hub.lifecycle.changes import Change, update
from hub.lifecycle.effects import Effect
from hub.lifecycle.errors import InvalidTransitionError
from hub.lifecycle.events import Event, Note
from hub.lifecycle.model import (
    CLOSED_STATES,
    OPEN_STATES,
    AuditRecord,
    Deadline,
    Incident,
    IncidentState,
    Value,
)
from hub.lifecycle.policy import DeadlinePolicy

S = IncidentState
_REVIEW = frozenset({S.PENDING_REVIEW, S.REOPENED})
_DISPATCHABLE = frozenset(
    {S.PENDING_REVIEW, S.WARNING_ISSUED, S.DISPATCHING, S.ASSIGNED, S.ON_SCENE}
)
_WITH_RESPONDERS = frozenset({S.DISPATCHING, S.ASSIGNED, S.ON_SCENE})

# Event type -> the incident states that accept it. Anything else raises InvalidTransitionError.
ALLOWED: dict[str, frozenset[IncidentState]] = {
    "queue": frozenset({S.DETECTED, S.REOPENED}),
    "claim": _REVIEW,
    "verify": frozenset({S.PENDING_REVIEW}),
    "mark_false": _REVIEW,
    "raise_colour": OPEN_STATES,
    "lower_colour": OPEN_STATES,
    "merge_alert": OPEN_STATES,
    "issue_warning": frozenset({S.PENDING_REVIEW}),
    "recommend": _DISPATCHABLE,
    "dispatch": _DISPATCHABLE,
    "acknowledge": _WITH_RESPONDERS,
    "decline": _WITH_RESPONDERS,
    "depart": frozenset({S.ASSIGNED, S.ON_SCENE}),
    "arrive": frozenset({S.ASSIGNED, S.ON_SCENE}),
    "clear": frozenset({S.ON_SCENE}),
    "submit_feedback": frozenset({S.ON_SCENE}),
    "start_check": frozenset({S.FEEDBACK_SUBMITTED}),
    "approve": frozenset({S.VERIFYING}),
    "reject_feedback": frozenset({S.FEEDBACK_SUBMITTED, S.VERIFYING}),
    "close": OPEN_STATES,
    "reopen": CLOSED_STATES,
    "note": frozenset(IncidentState),  # a note never moves the incident, closed ones included
    # Timers may fire late, after the incident closed: a stale one is a no-op, never an error.
    "deadline_missed": frozenset(IncidentState),
}

_Handler = Callable[[Incident, Any, DeadlinePolicy, datetime], Change | None]
_HANDLERS: dict[str, _Handler] = {
    "queue": review.queue,
    "claim": review.claim,
    "verify": review.verify,
    "mark_false": review.mark_false,
    "raise_colour": review.raise_colour,
    "lower_colour": review.lower_colour,
    "merge_alert": review.merge_alert,
    "issue_warning": review.issue_warning,
    "recommend": responders.recommend,
    "dispatch": responders.dispatch,
    "acknowledge": responders.acknowledge,
    "decline": responders.decline,
    "depart": responders.depart,
    "arrive": responders.arrive,
    "clear": responders.clear,
    "submit_feedback": responders.submit_feedback,
    "start_check": review.start_check,
    "approve": review.approve,
    "reject_feedback": responders.reject_feedback,
    "close": review.close,
    "reopen": review.reopen,
    "note": review.note,
    "deadline_missed": escalation.deadline_missed,
}


class Outcome(Value):
    """What one event did. `audit` holds exactly one record, or none for a no-op."""

    incident: Incident
    audit: list[AuditRecord] = Field(default_factory=list)
    set_deadlines: list[Deadline] = Field(default_factory=list)
    cleared_deadlines: list[Deadline] = Field(default_factory=list)
    effects: list[Effect] = Field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.audit)


def step(
    incident: Incident, event: Event, now: datetime, policy: DeadlinePolicy | None = None
) -> Outcome:
    """Apply one event at `now` (UTC); InvalidTransitionError names the state and the event."""
    policy = policy or DeadlinePolicy()
    if event.at > now:
        detail = f"event at {event.at} is after now"
        raise InvalidTransitionError(incident.state, event.type, detail)
    if incident.state not in ALLOWED[event.type]:
        raise InvalidTransitionError(incident.state, event.type)
    change = _HANDLERS[event.type](incident, event, policy, now)
    if change is None:
        return Outcome(incident=incident)
    after = update(
        change.incident, version=incident.version + 1, updated_at=max(incident.updated_at, event.at)
    )
    set_deadlines = [item for item in after.deadlines if item not in incident.deadlines]
    cleared = [item for item in incident.deadlines if item not in after.deadlines]
    return Outcome(
        incident=after,
        audit=[_record(incident, after, event, change)],
        set_deadlines=set_deadlines,
        cleared_deadlines=cleared,
        effects=list(change.effects),
    )


def _record(before: Incident, after: Incident, event: Event, change: Change) -> AuditRecord:
    why = f"{change.why}: {event.reason}" if event.reason else change.why
    return AuditRecord(
        incident_id=before.id, seq=after.version, at=event.at, actor=event.actor, event=event.type,
        from_state=before.state, to_state=after.state, colour_from=before.colour,
        colour_to=after.colour, responder_id=change.responder_id,
        assignment_from=change.assignment_from, assignment_to=change.assignment_to,
        why=why[:500], evidence=list(event.evidence),
        note=event.text if isinstance(event, Note) else None,
    )
