"""Invariants of the lifecycle over random event sequences (hypothesis).

Each run feeds up to 60 events, drawn from every type with random actors, responders, colours
and time gaps, plus the incident's own due deadlines; refused events are skipped. After every
accepted event: one audit record naming who, when, from and to; the colour only goes down by a
person's `lower_colour`; new deadlines fall after the event that set them; a replay of the same
event is refused or changes nothing; closed incidents hold no timers or responders; the incident
survives JSON unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.contracts import Level
from hub.lifecycle import (
    Acknowledge,
    Actor,
    Approve,
    Arrive,
    Claim,
    Clear,
    Close,
    CloseReason,
    Decline,
    Depart,
    Dispatch,
    Event,
    Incident,
    InvalidTransitionError,
    IssueWarning,
    LowerColour,
    MarkFalse,
    MergeAlert,
    Queue,
    RaiseColour,
    Recommend,
    RejectFeedback,
    Reopen,
    Role,
    StartCheck,
    SubmitFeedback,
    Verify,
    missed,
    step,
)
from hub.lifecycle.model import ACTIVE_ASSIGNMENTS, is_more_severe
from tests.hub.lifecycle_builders import OPERATOR, POLICY, SUPERVISOR, SYSTEM, new_incident

RESPONDERS = ["r-1", "r-2", "r-3"]
ACTORS = [SYSTEM, OPERATOR, SUPERVISOR, *(Actor(id=r, role=Role.RESPONDER) for r in RESPONDERS)]
KINDS = [
    "queue", "claim", "verify", "mark_false", "raise", "lower", "merge", "warn", "recommend",
    "dispatch", "ack", "decline", "depart", "arrive", "clear", "feedback", "check", "approve",
    "reject", "close", "reopen", "deadline", "deadline", "deadline",
]


# Events that move each state along, drawn half the time so runs reach the later states.
ONWARD = {
    "detected": ["queue"],
    "pending_review": ["claim", "verify", "verify", "dispatch", "dispatch", "warn", "mark_false"],
    "reopened": ["queue", "claim"],
    "warning_issued": ["dispatch", "close"],
    "dispatching": ["ack", "ack", "dispatch", "decline", "deadline"],
    "assigned": ["depart", "arrive", "arrive", "deadline", "dispatch"],
    "on_scene": ["clear", "feedback", "feedback", "deadline", "merge"],
    "feedback_submitted": ["check", "reject"],
    "verifying": ["approve", "approve", "reject", "deadline"],
    "closed": ["reopen"],
    "false_alarm": ["reopen"],
}
RESPONDER_KINDS = {"ack", "decline", "depart", "arrive", "clear", "feedback"}


def _event(data: st.DataObject, incident: Incident, now_s: float) -> tuple[Event, float]:
    onward = data.draw(st.booleans(), label="onward")
    pool = ONWARD[incident.state.value] if onward else KINDS
    kind = data.draw(st.sampled_from(pool), label="kind")
    if kind == "deadline" and incident.deadlines:
        deadline = data.draw(st.sampled_from(incident.deadlines), label="deadline")
        now = max(incident.updated_at, deadline.due_at)
        return missed(deadline, now), (now - incident.created_at).total_seconds()
    now_s += data.draw(st.integers(0, 4000), label="gap_s")
    when = incident.created_at + timedelta(seconds=now_s)
    actor = data.draw(st.sampled_from(ACTORS), label="actor")
    responder_id = data.draw(st.sampled_from(RESPONDERS), label="responder")
    if onward:  # the right person for the step
        actor = Actor(id=responder_id, role=Role.RESPONDER) if kind in RESPONDER_KINDS else OPERATOR
    colour = data.draw(st.sampled_from(list(Level)), label="colour")
    common = {"actor": actor, "at": when}
    who = {**common, "responder_id": responder_id}
    builders: dict[str, Callable[[], Event]] = {
        "queue": lambda: Queue(**common),
        "claim": lambda: Claim(**common),
        "verify": lambda: Verify(**common),
        "mark_false": lambda: MarkFalse(**common),
        "raise": lambda: RaiseColour(**common, colour=colour),
        "lower": lambda: LowerColour(**common, colour=colour, reason="seen on camera"),
        "merge": lambda: MergeAlert(
            **common, alert_id=f"a-{responder_id}", revision=data.draw(st.integers(0, 2)),
            colour=colour,
        ),
        "warn": lambda: IssueWarning(**common),
        "recommend": lambda: Recommend(**who, reasons=["near"]),
        "dispatch": lambda: Dispatch(**who),
        "ack": lambda: Acknowledge(**who),
        "decline": lambda: Decline(**who),
        "depart": lambda: Depart(**who),
        "arrive": lambda: Arrive(**who),
        "clear": lambda: Clear(**who),
        "feedback": lambda: SubmitFeedback(**who, evidence=["photo.jpg"]),
        "check": lambda: StartCheck(**common),
        "approve": lambda: Approve(**common),
        "reject": lambda: RejectFeedback(**common, reason="still crowded"),
        "close": lambda: Close(
            **common, close_reason=data.draw(st.sampled_from(list(CloseReason)))
        ),
        "reopen": lambda: Reopen(**common, reason="recurred"),
        "deadline": lambda: Queue(**common),
    }
    return builders[kind](), now_s



def _check_outcome(before: Incident, event: Event) -> Incident:
    outcome = step(before, event, event.at, POLICY)
    after = outcome.incident
    if not outcome.changed:
        assert after == before and not outcome.effects and not outcome.set_deadlines
        return after
    (record,) = outcome.audit
    assert (record.actor, record.at, record.event) == (event.actor, event.at, event.type)
    assert (record.from_state, record.to_state) == (before.state, after.state)
    assert (record.colour_from, record.colour_to) == (before.colour, after.colour)
    assert record.why and record.seq == after.version == before.version + 1
    if is_more_severe(before.colour, after.colour):
        assert event.type == "lower_colour" and event.actor.role is not Role.SYSTEM
    if before.is_closed:
        assert event.type == "reopen"
    old_keys = {d.key for d in before.deadlines}
    for deadline in outcome.set_deadlines:
        assert deadline.due_at > deadline.started_at
        assert deadline.started_at <= event.at
        if deadline.key not in old_keys:
            assert deadline.started_at == event.at
    if after.is_closed:
        assert after.deadlines == [] and after.closed_at is not None
        assert not any(a.state in ACTIVE_ASSIGNMENTS for a in after.assignments)
    assert Incident.model_validate_json(after.model_dump_json()) == after
    _check_replay(after, event)
    return after


def _check_replay(incident: Incident, event: Event) -> None:
    """The same event again is refused or a no-op: never a second transition."""
    try:
        again = step(incident, event, event.at, POLICY)
    except InvalidTransitionError:
        return
    assert not again.changed and again.incident == incident


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from(list(Level)), st.sampled_from([None, 1, 3, 5]))
def test_random_event_sequences_keep_the_invariants(
    data: st.DataObject, colour: Level, ring_min: int | None
) -> None:
    incident = new_incident(colour, ring_min)
    now_s = 0.0
    accepted = 0
    for _ in range(60):
        event, now_s = _event(data, incident, now_s)
        try:
            incident = _check_outcome(incident, event)
        except InvalidTransitionError:
            continue
        accepted += 1
    assert incident.version <= accepted
