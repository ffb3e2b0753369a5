"""Incident lifecycle: the scripted crowd scenario, the transition table, colours and guards."""

from __future__ import annotations

import pytest

from hub.contracts import Level
from hub.lifecycle import (
    ALLOWED,
    EVENT_ADAPTER,
    Acknowledge,
    Approve,
    Arrive,
    AssignmentState,
    CancelAssignment,
    Claim,
    Clear,
    Close,
    CloseReason,
    DeadlineKind,
    Decline,
    Depart,
    Dispatch,
    Event,
    GridLevel,
    Incident,
    IncidentState,
    InvalidTransitionError,
    IssueWarning,
    LowerColour,
    MarkFalse,
    MergeAlert,
    Note,
    NotifyLeader,
    NotifyResponder,
    Queue,
    RaiseColour,
    Recommend,
    Redispatch,
    RejectFeedback,
    Reopen,
    StartCheck,
    SubmitFeedback,
    TicketKind,
    Verify,
    due_events,
    next_deadline,
    step,
)
from tests.hub.lifecycle_builders import (
    OPERATOR,
    POLICY,
    SUPERVISOR,
    SYSTEM,
    Runner,
    at,
    dispatched,
    due_at,
    in_state,
    new_incident,
    responder,
    reviewing,
)

S = IncidentState
A = AssignmentState
K = DeadlineKind
ZHANG, ZHAO = responder("r-zhang"), responder("r-zhao")


def test_missed_ack_redispatches_and_escalates() -> None:
    """A crowd alert: claim, dispatch, missed ack, re-dispatch, arrival, feedback, check, close."""
    run = Runner(new_incident(Level.ORANGE, ring_min=3))
    assert run(Queue(actor=SYSTEM, at=at(0))).incident.state is S.PENDING_REVIEW
    assert due_at(run.incident, K.CLAIM) == at(120)
    run(Claim(actor=OPERATOR, at=at(20)))
    run(Verify(actor=OPERATOR, at=at(50), evidence=["frame-881"]))
    run(Recommend(actor=SYSTEM, at=at(51), responder_id="r-zhang", reasons=["in grid", "180 m"]))
    run(Recommend(actor=SYSTEM, at=at(51), responder_id="r-zhao", reasons=["in grid", "420 m"]))
    sent = run(Dispatch(actor=OPERATOR, at=at(60), responder_id="r-zhang"))
    assert sent.incident.state is S.DISPATCHING
    assert sent.effects == [
        NotifyResponder(
            responder_id="r-zhang", ticket=TicketKind.ASSIGNMENT, why="assignment ticket"
        )
    ]
    ack_due = sent.incident.deadline(K.ACKNOWLEDGE, "r-zhang")
    assert ack_due is not None and ack_due.due_at == at(180)  # orange: 2 min to acknowledge

    # Nobody acknowledges: the scheduler fires the deadline.
    assert due_events(run.incident, at(179)) == []
    (missed,) = due_events(run.incident, at(181))
    lapsed = run(missed)
    assert lapsed.incident.state is S.DISPATCHING
    assert lapsed.incident.assignment("r-zhang").state is A.TIMED_OUT  # type: ignore[union-attr]
    assert lapsed.effects == [
        Redispatch(exclude=["r-zhang"], next_candidate="r-zhao",
                   why="acknowledgement deadline missed"),
        NotifyLeader(grid_level=GridLevel.GRID_CELL, why="1 missed acknowledgement(s)"),
    ]
    assert run(missed).changed is False  # the same timer again: no-op

    # The shell re-dispatches to the next candidate, who acknowledges, departs and arrives.
    run(Dispatch(actor=SYSTEM, at=at(182), responder_id="r-zhao"))
    assigned = run(Acknowledge(actor=ZHAO, at=at(200), responder_id="r-zhao"))
    assert assigned.incident.state is S.ASSIGNED
    assert due_at(assigned.incident, K.ARRIVE) == at(380)
    run(Depart(actor=ZHAO, at=at(210), responder_id="r-zhao"))
    on_scene = run(Arrive(actor=ZHAO, at=at(350), responder_id="r-zhao", evidence=["gps:fix-1"]))
    assert on_scene.incident.state is S.ON_SCENE
    assert {d.kind for d in on_scene.set_deadlines} == {K.HANDLE, K.FEEDBACK}
    run(Clear(actor=ZHAO, at=at(900), responder_id="r-zhao"))
    fed = run(SubmitFeedback(actor=ZHAO, at=at(1000), responder_id="r-zhao",
                             evidence=["photo-3.jpg"]))
    assert fed.incident.state is S.FEEDBACK_SUBMITTED
    run(StartCheck(actor=OPERATOR, at=at(1100)))
    closed = run(Approve(actor=OPERATOR, at=at(1200), reason="crowd dispersed on camera"))

    incident = closed.incident
    assert (incident.state, incident.close_reason, incident.closed_at) == (
        S.CLOSED, CloseReason.RESOLVED, at(1200)
    )
    assert incident.deadlines == [] and next_deadline(incident) is None
    assert incident.supervision is None and incident.ack_misses == 1
    assert [(a.responder_id, a.state) for a in incident.assignments] == [
        ("r-zhang", A.TIMED_OUT), ("r-zhao", A.CLEARED)
    ]
    assert run.trail == [
        ("queue", "detected", "pending_review", "queued_for_review"),
        ("claim", "pending_review", "pending_review", "claimed"),
        ("verify", "pending_review", "pending_review", "confirmed"),
        ("recommend", "pending_review", "pending_review", "recommended"),
        ("recommend", "pending_review", "pending_review", "recommended"),
        ("dispatch", "pending_review", "dispatching", "dispatched"),
        ("deadline_missed", "dispatching", "dispatching", "ack_deadline_missed"),
        ("dispatch", "dispatching", "dispatching", "dispatched"),
        ("acknowledge", "dispatching", "assigned", "acknowledged"),
        ("depart", "assigned", "assigned", "departed"),
        ("arrive", "assigned", "on_scene", "arrived"),
        ("clear", "on_scene", "on_scene", "cleared"),
        ("submit_feedback", "on_scene", "feedback_submitted", "feedback_submitted"),
        ("start_check", "feedback_submitted", "verifying", "check_started"),
        ("approve", "verifying", "closed", "check_passed_resolved: crowd dispersed on camera"),
    ]
    records = [r for outcome in run.outcomes for r in outcome.audit]
    assert [r.seq for r in records] == list(range(1, 16))
    assert records[6].actor == SYSTEM and records[6].responder_id == "r-zhang"
    assert (records[6].assignment_from, records[6].assignment_to) == (A.NOTIFIED, A.TIMED_OUT)
    assert records[10].evidence == ["gps:fix-1"]


def _sample_events() -> list[Event]:
    """One event of every type, for the transition table."""
    return [
        Queue(actor=SYSTEM, at=at(1)),
        Claim(actor=OPERATOR, at=at(1)),
        Verify(actor=OPERATOR, at=at(1)),
        MarkFalse(actor=OPERATOR, at=at(1)),
        RaiseColour(actor=SYSTEM, at=at(1), colour=Level.RED),
        LowerColour(actor=OPERATOR, at=at(1), colour=Level.BLUE, reason="r"),
        MergeAlert(actor=SYSTEM, at=at(1), alert_id="a2", colour=Level.RED),
        IssueWarning(actor=OPERATOR, at=at(1)),
        Recommend(actor=SYSTEM, at=at(1), responder_id="r-zhang"),
        Dispatch(actor=OPERATOR, at=at(1), responder_id="r-zhang"),
        Acknowledge(actor=ZHANG, at=at(1), responder_id="r-zhang"),
        Decline(actor=ZHANG, at=at(1), responder_id="r-zhang"),
        Depart(actor=ZHANG, at=at(1), responder_id="r-zhang"),
        Arrive(actor=ZHANG, at=at(1), responder_id="r-zhang"),
        Clear(actor=ZHANG, at=at(1), responder_id="r-zhang"),
        SubmitFeedback(actor=ZHANG, at=at(1), responder_id="r-zhang"),
        StartCheck(actor=OPERATOR, at=at(1)),
        Approve(actor=OPERATOR, at=at(1)),
        RejectFeedback(actor=OPERATOR, at=at(1), reason="photo shows crowd"),
        Close(actor=OPERATOR, at=at(1), close_reason=CloseReason.DUPLICATE),
        Reopen(actor=OPERATOR, at=at(1), reason="it is back"),
        Note(actor=OPERATOR, at=at(1), text="called the site manager"),
    ]


def test_every_event_type_is_in_the_table() -> None:
    assert {event.type for event in _sample_events()} | {"deadline_missed"} == set(ALLOWED)


_REFUSED = [
    pytest.param(state, event, id=f"{state.value}-{event.type}")
    for state in IncidentState
    for event in _sample_events()
    if state not in ALLOWED[event.type]
]


@pytest.mark.parametrize(("state", "event"), _REFUSED)
def test_events_outside_the_table_are_refused_naming_state_and_event(
    state: IncidentState, event: Event
) -> None:
    with pytest.raises(InvalidTransitionError) as refused:
        step(in_state(state), event, at(2), POLICY)
    assert f"'{event.type}'" in str(refused.value) and f"'{state.value}'" in str(refused.value)


@pytest.mark.parametrize("state", [S.CLOSED, S.FALSE_ALARM])
def test_a_closed_incident_accepts_only_reopen_and_notes(state: IncidentState) -> None:
    accepting = [e.type for e in _sample_events() if state in ALLOWED[e.type]]
    assert accepting == ["reopen", "note"]
    reopened = step(in_state(state), Reopen(actor=OPERATOR, at=at(5), reason="recurred"), at(5))
    assert reopened.incident.state is S.REOPENED
    assert {d.kind for d in reopened.incident.deadlines} == {K.CLAIM, K.CLOSE}


def test_merging_a_bigger_alert_raises_the_colour_and_pulls_deadlines_in() -> None:
    run = reviewing(Level.YELLOW)
    assert due_at(run.incident, K.VERIFY) == at(190)
    merged = run(MergeAlert(actor=SYSTEM, at=at(20), alert_id="alert-2", colour=Level.RED))
    assert merged.incident.colour is Level.RED
    assert merged.audit[0].why == "alert_merged_colour_raised"
    assert (merged.audit[0].colour_from, merged.audit[0].colour_to) == (Level.YELLOW, Level.RED)
    assert due_at(merged.incident, K.VERIFY) == at(70)  # red: 60 s from the claim
    assert due_at(merged.incident, K.CLOSE) == at(4 * 3600)
    again = run(MergeAlert(actor=SYSTEM, at=at(21), alert_id="alert-2", colour=Level.RED))
    assert again.changed is False and again.incident == merged.incident


def test_colours_never_go_down_automatically() -> None:
    run = reviewing(Level.ORANGE)
    smaller = run(MergeAlert(actor=SYSTEM, at=at(20), alert_id="alert-2", colour=Level.BLUE))
    assert smaller.incident.colour is Level.ORANGE and smaller.audit[0].why == "alert_merged"
    assert run(RaiseColour(actor=SYSTEM, at=at(21), colour=Level.BLUE)).changed is False
    with pytest.raises(InvalidTransitionError, match="operator or supervisor"):
        run(LowerColour(actor=SYSTEM, at=at(22), colour=Level.BLUE, reason="auto"))
    lowered = run(LowerColour(actor=SUPERVISOR, at=at(23), colour=Level.BLUE, reason="queue"))
    assert lowered.incident.colour is Level.BLUE
    assert lowered.audit[0].why == "colour_lowered: queue"
    assert lowered.audit[0].actor == SUPERVISOR
    assert lowered.incident.deadlines == run.outcomes[-2].incident.deadlines  # no time bought
    with pytest.raises(InvalidTransitionError, match="not below"):
        run(LowerColour(actor=SUPERVISOR, at=at(24), colour=Level.RED, reason="up"))


def test_verify_before_claim_and_dispatch_before_verify_are_refused() -> None:
    run = Runner(new_incident())
    run(Queue(actor=SYSTEM, at=at(0)))
    with pytest.raises(InvalidTransitionError, match="claim it first"):
        run(Verify(actor=OPERATOR, at=at(1)))
    run(Claim(actor=OPERATOR, at=at(2)))
    with pytest.raises(InvalidTransitionError, match="already claimed"):
        run(Claim(actor=SUPERVISOR, at=at(3)))
    with pytest.raises(InvalidTransitionError, match="verify it first"):
        run(Dispatch(actor=OPERATOR, at=at(3), responder_id="r-zhang"))


def test_false_alarm_closes_at_review() -> None:
    run = reviewing()
    closed = run(MarkFalse(actor=OPERATOR, at=at(30), reason="shadows"))
    incident = closed.incident
    assert (incident.state, incident.close_reason) == (S.FALSE_ALARM, CloseReason.FALSE)
    assert incident.deadlines == [] and {d.kind for d in closed.cleared_deadlines} == {
        K.VERIFY, K.CLOSE
    }


def test_warning_ticket_then_resolved_close() -> None:
    run = reviewing(Level.BLUE)
    run(Verify(actor=OPERATOR, at=at(20)))
    warned = run(IssueWarning(actor=OPERATOR, at=at(30)))
    assert warned.incident.state is S.WARNING_ISSUED
    assert warned.incident.tickets == [TicketKind.WARNING]
    assert warned.effects == [NotifyLeader(grid_level=GridLevel.GRID_CELL,
                                           why="warning ticket issued")]
    closed = run(Close(actor=OPERATOR, at=at(900), close_reason=CloseReason.RESOLVED))
    assert closed.incident.close_reason is CloseReason.RESOLVED


def test_resolved_needs_a_passed_check() -> None:
    run = reviewing()
    with pytest.raises(InvalidTransitionError, match="passed check"):
        run(Close(actor=OPERATOR, at=at(20), close_reason=CloseReason.RESOLVED))


def test_decline_asks_for_another_responder() -> None:
    run = dispatched()
    declined = run(Decline(actor=ZHANG, at=at(40), responder_id="r-zhang", reason="off duty"))
    assert declined.incident.assignment("r-zhang").state is A.DECLINED  # type: ignore[union-attr]
    assert declined.effects == [
        Redispatch(exclude=["r-zhang"], next_candidate=None, why="responder declined")
    ]
    assert declined.incident.deadline(K.ACKNOWLEDGE, "r-zhang") is None


def test_a_responder_acts_only_for_themselves() -> None:
    run = dispatched()
    with pytest.raises(InvalidTransitionError, match="only for themselves"):
        run(Acknowledge(actor=ZHAO, at=at(40), responder_id="r-zhang"))
    # An operator may key it in for them (radio).
    assert run(Acknowledge(actor=OPERATOR, at=at(41), responder_id="r-zhang")).changed


def test_dispatching_someone_already_on_it_is_refused() -> None:
    run = dispatched()
    with pytest.raises(InvalidTransitionError, match="already notified"):
        run(Dispatch(actor=OPERATOR, at=at(31), responder_id="r-zhang"))


def test_rejected_feedback_sends_the_worker_back() -> None:
    run = dispatched()
    run(Acknowledge(actor=ZHANG, at=at(40), responder_id="r-zhang"))
    run(Arrive(actor=ZHANG, at=at(200), responder_id="r-zhang"))
    run(SubmitFeedback(actor=ZHANG, at=at(600), responder_id="r-zhang"))
    rework = run(RejectFeedback(actor=OPERATOR, at=at(700), reason="crowd still there"))
    assert (rework.incident.state, rework.incident.rework_count) == (S.DISPATCHING, 1)
    assert rework.effects == [
        Redispatch(exclude=[], next_candidate="r-zhang", why="rework: feedback rejected")
    ]
    again = run(Dispatch(actor=OPERATOR, at=at(710), responder_id="r-zhang"))
    assert [a.state for a in again.incident.assignments] == [A.CLEARED, A.NOTIFIED]


def test_closing_cancels_responders_still_on_the_way() -> None:
    run = dispatched()
    run(Acknowledge(actor=ZHANG, at=at(40), responder_id="r-zhang"))
    closed = run(Close(actor=OPERATOR, at=at(50), close_reason=CloseReason.TRANSFERRED))
    assert closed.incident.assignment("r-zhang").state is A.CANCELLED  # type: ignore[union-attr]
    assert closed.effects == [
        CancelAssignment(responder_id="r-zhang", why="incident closed (transferred)")
    ]


def test_the_system_reopens_only_within_the_window() -> None:
    run = reviewing()
    run(MarkFalse(actor=OPERATOR, at=at(20)))
    late = at(20 + POLICY.reopen_window_s + 1)
    with pytest.raises(InvalidTransitionError, match="too long ago"):
        step(run.incident, Reopen(actor=SYSTEM, at=late, reason="recurred"), late)
    assert step(run.incident, Reopen(actor=OPERATOR, at=late, reason="called in"), late).changed


def test_events_from_the_future_are_refused() -> None:
    with pytest.raises(InvalidTransitionError, match="after now"):
        step(new_incident(), Queue(actor=SYSTEM, at=at(10)), at(9))


def test_incident_and_events_round_trip_as_json() -> None:
    run = dispatched(Level.RED, ring_min=1)
    run(Acknowledge(actor=ZHANG, at=at(40), responder_id="r-zhang"))
    stored = run.incident.model_dump_json()
    assert Incident.model_validate_json(stored) == run.incident
    for event in [*_sample_events(), *due_events(run.incident, at(10_000))]:
        assert EVENT_ADAPTER.validate_json(EVENT_ADAPTER.dump_json(event)) == event
