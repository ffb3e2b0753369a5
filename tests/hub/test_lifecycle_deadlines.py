"""The deadline ladder: SLA defaults, rings, re-queues, re-dispatch and the 督办 climb."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub.contracts import Level
from hub.lifecycle import (
    Acknowledge,
    Arrive,
    Clear,
    DeadlineKind,
    DeadlineMissed,
    DeadlinePolicy,
    Decline,
    Dispatch,
    GridLevel,
    InvalidTransitionError,
    NotifyLeader,
    NotifyResponder,
    NotifyShiftLeader,
    Queue,
    RaiseSupervision,
    Redispatch,
    RequeueForReview,
    SubmitFeedback,
    TicketKind,
    deadlines_due,
    duration_s,
    missed,
    next_deadline,
    step,
)
from tests.hub.lifecycle_builders import (
    OPERATOR,
    POLICY,
    SYSTEM,
    Runner,
    at,
    dispatched,
    due_at,
    new_incident,
    responder,
    reviewing,
)

K = DeadlineKind
ZHANG = responder("r-zhang")


@pytest.mark.parametrize(
    ("kind", "colour", "ring_min", "seconds"),
    [
        (K.CLAIM, Level.RED, None, 30),
        (K.CLAIM, Level.YELLOW, None, 120),
        (K.CLAIM, Level.BLUE, None, 600),
        (K.VERIFY, Level.RED, None, 60),
        (K.ACKNOWLEDGE, Level.RED, None, 30),
        (K.ACKNOWLEDGE, Level.BLUE, None, 1800),
        (K.ARRIVE, Level.RED, None, 300),
        (K.ARRIVE, Level.RED, 1, 60),
        (K.ARRIVE, Level.ORANGE, 3, 180),
        (K.ARRIVE, Level.YELLOW, 5, 300),
        (K.ARRIVE, Level.YELLOW, None, 900),
        (K.ARRIVE, Level.BLUE, 1, 8 * 3600),  # rings do not apply to blue by default
        (K.FEEDBACK, Level.ORANGE, None, 3600),
        (K.CHECK, Level.RED, None, 900),
        (K.CLOSE, Level.RED, None, 4 * 3600),
        (K.CLOSE, Level.BLUE, None, 3 * 86_400),
    ],
)
def test_deadline_defaults_follow_the_sla_matrix_and_rings(
    kind: DeadlineKind, colour: Level, ring_min: int | None, seconds: float
) -> None:
    assert duration_s(POLICY, kind, colour, ring_min) == seconds


def test_policy_is_configuration_and_round_trips() -> None:
    policy = DeadlinePolicy.model_validate_json(
        '{"red": {"claim_s": 15}, "ring_arrive_s": {"1": 90}, "rings_apply_to": ["red", "blue"]}'
    )
    assert duration_s(policy, K.CLAIM, Level.RED, None) == 15
    assert duration_s(policy, K.VERIFY, Level.RED, None) == 60  # red's other defaults kept
    assert duration_s(policy, K.ARRIVE, Level.BLUE, 1) == 90
    assert duration_s(policy, K.ARRIVE, Level.RED, 3) == 300  # ring 3 not configured
    assert DeadlinePolicy.model_validate_json(policy.model_dump_json()) == policy
    with pytest.raises(ValueError, match="1, 3 or 5"):
        DeadlinePolicy.model_validate({"ring_arrive_s": {"2": 120}})
    with pytest.raises(ValueError, match="extra"):
        DeadlinePolicy.model_validate({"red": {"claim_seconds": 1}})


def test_missed_claim_requeues_and_rearms() -> None:
    run = Runner(new_incident(Level.RED))
    run(Queue(actor=SYSTEM, at=at(0)))
    (due,) = [d for d in deadlines_due(run.incident, at(31)) if d.kind is K.CLAIM]
    fired = run(missed(due, at(31)))
    assert fired.effects == [
        RequeueForReview(why="claim deadline missed"),
        NotifyShiftLeader(why="claim deadline missed"),
    ]
    assert fired.incident.review_escalations == 1
    assert due_at(fired.incident, K.CLAIM) == at(61)


def test_red_verify_miss_dispatches_on_suspicion() -> None:
    run = reviewing(Level.RED)
    due = run.incident.deadline(K.VERIFY)
    assert due is not None
    fired = run(missed(due, due.due_at))
    assert isinstance(fired.effects[1], Redispatch)
    sent = run(Dispatch(actor=SYSTEM, at=due.due_at, responder_id="r-zhang"))
    assert sent.incident.state.value == "dispatching" and sent.incident.confirmed is False


def test_a_timer_not_yet_due_is_refused_and_a_stale_one_ignored() -> None:
    run = dispatched()
    due = run.incident.deadline(K.ACKNOWLEDGE, "r-zhang")
    assert due is not None
    with pytest.raises(InvalidTransitionError, match="not due"):
        step(run.incident, missed(due, due.due_at - timedelta(seconds=1)), due.due_at)
    run(Acknowledge(actor=ZHANG, at=at(40), responder_id="r-zhang"))
    late = step(run.incident, missed(due, due.due_at), due.due_at)
    assert late.changed is False and late.incident == run.incident


def test_every_second_missed_ack_climbs_one_grid_level() -> None:
    run = dispatched(Level.RED)
    levels = []
    for index, name in enumerate(["r-zhang", "r-zhao", "r-sun", "r-qian"]):
        if index:
            run(Dispatch(actor=SYSTEM, at=at(100 * index), responder_id=name))
        due = run.incident.deadline(K.ACKNOWLEDGE, name)
        assert due is not None
        fired = run(missed(due, due.due_at))
        levels += [e.grid_level for e in fired.effects if isinstance(e, NotifyLeader)]
    assert levels == [GridLevel.GRID_CELL, GridLevel.COMMUNITY, GridLevel.COMMUNITY,
                      GridLevel.STREET]
    last = run.outcomes[-1].effects[0]
    assert isinstance(last, Redispatch)
    assert last.exclude == ["r-zhang", "r-zhao", "r-sun", "r-qian"]


def _fire(run: Runner, kind: DeadlineKind) -> list[object]:
    due = run.incident.deadline(kind)
    assert due is not None, kind
    return list(run(missed(due, due.due_at)).effects)


def test_missed_arrival_raises_a_supervision_that_climbs_to_the_city() -> None:
    run = dispatched(Level.BLUE)
    run(Acknowledge(actor=ZHANG, at=at(40), responder_id="r-zhang"))
    effects = _fire(run, K.ARRIVE)
    supervision = run.incident.supervision
    assert supervision is not None and supervision.active
    assert (supervision.colour, supervision.responsible_level) == (Level.YELLOW,
                                                                   GridLevel.COMMUNITY)
    assert TicketKind.SUPERVISION in run.incident.tickets
    assert run.incident.colour is Level.YELLOW  # the incident follows its supervision up
    due = run.incident.deadline(K.SUPERVISION)
    assert due is not None and effects[0] == RaiseSupervision(
        colour=Level.YELLOW, responsible_level=GridLevel.COMMUNITY, copy_level=GridLevel.STREET,
        due_at=due.due_at, why="arrive deadline missed",
    )
    climbed = []
    for _ in range(4):
        _fire(run, K.SUPERVISION)
        sup = run.incident.supervision
        assert sup is not None
        climbed.append((sup.colour, sup.responsible_level, sup.escalations))
    assert climbed == [
        (Level.ORANGE, GridLevel.STREET, 1),
        (Level.RED, GridLevel.DISTRICT, 2),
        (Level.RED, GridLevel.CITY, 3),
        (Level.RED, GridLevel.CITY, 4),
    ]
    final = run.incident
    assert final.colour is Level.RED
    # Arrival stops the climb; the ticket stays on record.
    arrived = run(Arrive(actor=ZHANG, at=run.incident.updated_at, responder_id="r-zhang"))
    assert arrived.incident.supervision is not None
    assert arrived.incident.supervision.active is False
    assert arrived.incident.deadline(K.SUPERVISION) is None


def test_red_supervision_starts_at_the_township_and_jumps_to_red() -> None:
    run = dispatched(Level.RED, ring_min=1)
    run(Acknowledge(actor=ZHANG, at=at(40), responder_id="r-zhang"))
    assert due_at(run.incident, K.ARRIVE) == at(100)
    _fire(run, K.ARRIVE)
    sup = run.incident.supervision
    assert sup is not None and (sup.colour, sup.responsible_level) == (Level.YELLOW,
                                                                       GridLevel.STREET)
    _fire(run, K.SUPERVISION)
    sup = run.incident.supervision
    assert sup is not None and (sup.colour, sup.responsible_level) == (Level.RED,
                                                                       GridLevel.DISTRICT)


def test_missed_handling_climbs_an_existing_supervision_and_feedback_reminds() -> None:
    run = dispatched(Level.YELLOW)
    run(Acknowledge(actor=ZHANG, at=at(40), responder_id="r-zhang"))
    _fire(run, K.ARRIVE)
    run(Arrive(actor=ZHANG, at=run.incident.updated_at, responder_id="r-zhang"))
    _fire(run, K.HANDLE)
    sup = run.incident.supervision
    assert sup is not None and sup.active and sup.cause is K.HANDLE
    assert (sup.colour, sup.responsible_level) == (Level.ORANGE, GridLevel.STREET)
    run(Clear(actor=ZHANG, at=run.incident.updated_at, responder_id="r-zhang"))
    assert run.incident.supervision is not None and not run.incident.supervision.active
    effects = _fire(run, K.FEEDBACK)  # nobody on scene any more: no reminder, one more climb
    assert not any(isinstance(e, NotifyResponder) for e in effects)
    assert run.incident.supervision is not None
    assert run.incident.supervision.colour is Level.RED


def test_next_deadline_is_the_earliest_pending() -> None:
    run = dispatched(Level.ORANGE)
    first = next_deadline(run.incident)
    assert first is not None and (first.kind, first.subject) == (K.ACKNOWLEDGE, "r-zhang")
    assert deadlines_due(run.incident, first.due_at - timedelta(seconds=1)) == []
    assert deadlines_due(run.incident, first.due_at) == [first]
    event = missed(first, first.due_at)
    assert isinstance(event, DeadlineMissed) and event.actor == SYSTEM
    assert OPERATOR != SYSTEM


def test_missed_check_reminds_the_shift_leader() -> None:
    run = dispatched(Level.RED)
    run(Acknowledge(actor=ZHANG, at=at(40), responder_id="r-zhang"))
    run(Arrive(actor=ZHANG, at=at(60), responder_id="r-zhang"))
    run(SubmitFeedback(actor=ZHANG, at=at(300), responder_id="r-zhang"))
    assert due_at(run.incident, K.CHECK) == at(1200)  # red: 15 min to check
    assert _fire(run, K.CHECK) == [NotifyShiftLeader(why="check overdue")]
    assert run.incident.state.value == "feedback_submitted"


def test_nobody_left_after_a_decline_or_missed_ack_rearms_the_dispatch_deadline() -> None:
    """A re-dispatch that finds nobody must not wait for the close deadline: the dispatch
    deadline runs again and its miss tells the shift leader."""
    declined = dispatched()
    assert declined.incident.deadline(K.DISPATCH) is None
    declined(Decline(actor=ZHANG, at=at(40), responder_id="r-zhang"))
    assert due_at(declined.incident, K.DISPATCH) == at(40) + timedelta(
        seconds=duration_s(POLICY, K.DISPATCH, Level.YELLOW, None)
    )
    lapsed = dispatched()
    ack_due = due_at(lapsed.incident, K.ACKNOWLEDGE, "r-zhang")
    lapsed(DeadlineMissed(actor=SYSTEM, at=ack_due, kind=K.ACKNOWLEDGE, subject="r-zhang",
                          due_at=ack_due))  # fmt: skip
    dispatch_due = due_at(lapsed.incident, K.DISPATCH)
    outcome = lapsed(DeadlineMissed(actor=SYSTEM, at=dispatch_due, kind=K.DISPATCH,
                                    due_at=dispatch_due))  # fmt: skip
    assert any(isinstance(effect, NotifyShiftLeader) for effect in outcome.effects)


def test_a_decline_while_another_responder_holds_it_arms_no_dispatch_deadline() -> None:
    run = dispatched()
    run(Dispatch(actor=OPERATOR, at=at(35), responder_id="r-li"))
    run(Decline(actor=ZHANG, at=at(40), responder_id="r-zhang"))
    assert run.incident.deadline(K.DISPATCH) is None
