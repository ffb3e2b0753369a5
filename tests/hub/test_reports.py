"""Response-time metrics and the daily report, from real audit records made by `step`."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from hub.contracts import Level
from hub.lifecycle import (
    Acknowledge,
    Approve,
    Arrive,
    AuditRecord,
    Claim,
    Close,
    CloseReason,
    DeadlineKind,
    DeadlinePolicy,
    Dispatch,
    Incident,
    MarkFalse,
    MergeAlert,
    Queue,
    RaiseColour,
    StartCheck,
    SubmitFeedback,
    Verify,
    missed,
    open_incident,
)
from hub.lifecycle.model import Ring
from hub.reports import (
    DailyReport,
    GroupBy,
    RateRow,
    Stage,
    StageRow,
    Trail,
    arrival_outcome,
    build_trails,
    daily_report,
    percentile,
    stage_samples,
)
from tests.hub.lifecycle_builders import OPERATOR, POLICY, SYSTEM, T0, Runner, responder

K = DeadlineKind
DAY = date(2025, 5, 1)  # T0 is 2025-05-01 08:00 UTC, 16:00 in Asia/Shanghai


def make_incident(
    incident_id: str,
    *,
    colour: Level = Level.RED,
    ring: Ring | None = None,
    created: datetime = T0,
    grid: str = "cell-7",
    kind: str = "crowd_gathering",
    alert_id: str = "alert-1",
) -> Incident:
    return open_incident(
        incident_id,
        kind=kind,
        colour=colour,
        at=created,
        ring_min=ring,
        grid_cell=grid,
        alert_id=alert_id,
    )


def responded(
    incident: Incident,
    *,
    claim_s: float = 30,
    dispatch_s: float = 90,
    ack_s: float = 120,
    arrive_s: float | None = 300,
    responder_id: str = "r-zhang",
) -> Runner:
    """Queued at creation, claimed, verified halfway to dispatch, acknowledged, arrived."""
    run = Runner(incident)
    who = responder(responder_id)
    run(Queue(actor=SYSTEM, at=incident.created_at))
    run(Claim(actor=OPERATOR, at=after(incident, claim_s)))
    run(Verify(actor=OPERATOR, at=after(incident, (claim_s + dispatch_s) / 2)))
    run(Dispatch(actor=OPERATOR, at=after(incident, dispatch_s), responder_id=responder_id))
    run(Acknowledge(actor=who, at=after(incident, ack_s), responder_id=responder_id))
    if arrive_s is not None:
        run(Arrive(actor=who, at=after(incident, arrive_s), responder_id=responder_id))
    return run


def after(incident: Incident, seconds: float) -> datetime:
    return incident.created_at + timedelta(seconds=seconds)


def audit(*runs: Runner) -> list[AuditRecord]:
    return [record for run in runs for outcome in run.outcomes for record in outcome.audit]


def report(
    *runs: Runner,
    day: date = DAY,
    alert_sources: dict[str, tuple[str, str]] | None = None,
    detected_at: dict[str, datetime] | None = None,
) -> DailyReport:
    return daily_report(
        audit(*runs),
        [run.incident for run in runs],
        day=day,
        tz="Asia/Shanghai",
        policy=POLICY,
        alert_sources=alert_sources or {},
        detected_at=detected_at or {},
    )


def stage_row(
    rep: DailyReport, stage: Stage, group_by: GroupBy = GroupBy.ALL, group: str = "all"
) -> StageRow:
    found = [r for r in rep.stages if (r.stage, r.group_by, r.group) == (stage, group_by, group)]
    assert len(found) == 1, f"no single {stage} row for {group_by}={group}"
    return found[0]


def rate(rows: list[RateRow], group_by: GroupBy, group: str) -> tuple[int, float]:
    (row,) = [r for r in rows if (r.group_by, r.group) == (group_by, group)]
    return row.count, row.rate


def trail_of(run: Runner) -> Trail:
    (trail,) = build_trails(audit(run), [run.incident])
    return trail


def claimed(incident: Incident, claim_s: float) -> Runner:
    run = Runner(incident)
    run(Queue(actor=SYSTEM, at=incident.created_at))
    run(Claim(actor=OPERATOR, at=after(incident, claim_s)))
    return run


# -- stage durations ---------------------------------------------------------------------------


def test_stage_durations_of_a_crowd_alert_come_from_its_audit() -> None:
    incident = make_incident("inc-1", ring=3)
    run = responded(incident, claim_s=30, dispatch_s=90, ack_s=120, arrive_s=300)
    zhang = responder("r-zhang")
    run(SubmitFeedback(actor=zhang, at=after(incident, 600), responder_id="r-zhang"))
    run(StartCheck(actor=OPERATOR, at=after(incident, 700)))
    run(Approve(actor=OPERATOR, at=after(incident, 1000)))
    trail = trail_of(run)

    samples = stage_samples(trail, detected_at=T0 - timedelta(seconds=12))

    assert {(s.stage, s.seconds, s.responder_id) for s in samples} == {
        (Stage.DETECT, 12, None),
        (Stage.CLAIM, 30, None),
        (Stage.VERIFY, 30, None),  # claim +30 -> verify +60
        (Stage.DISPATCH, 30, None),  # verify +60 -> dispatch +90
        (Stage.ACKNOWLEDGE, 30, "r-zhang"),
        (Stage.ACKNOWLEDGE_ASSIGNMENT, 30, "r-zhang"),
        (Stage.ARRIVE, 180, "r-zhang"),
        (Stage.DETECTED_TO_ARRIVE, 300, None),
        (Stage.CLOSE, 1000, None),
    }


def test_acknowledgement_per_assignment_skips_the_one_that_timed_out() -> None:
    run = Runner(make_incident("inc-1"))
    run(Queue(actor=SYSTEM, at=after(run.incident, 0)))
    run(Claim(actor=OPERATOR, at=after(run.incident, 10)))
    run(Verify(actor=OPERATOR, at=after(run.incident, 20)))
    run(Dispatch(actor=OPERATOR, at=after(run.incident, 30), responder_id="r-zhang"))
    run(Dispatch(actor=OPERATOR, at=after(run.incident, 40), responder_id="r-wang"))
    zhang_ack = run.incident.deadline(K.ACKNOWLEDGE, "r-zhang")
    assert zhang_ack is not None  # red: 30 s to acknowledge, due at +60
    run(missed(zhang_ack, zhang_ack.due_at))
    wang = responder("r-wang")
    run(Acknowledge(actor=wang, at=after(run.incident, 100), responder_id="r-wang"))

    rep = report(run)

    assert stage_row(rep, Stage.ACKNOWLEDGE).p50_s == 70  # first dispatch -> first ack
    per_assignment = [r for r in rep.stages if r.stage is Stage.ACKNOWLEDGE_ASSIGNMENT]
    responders = {r.group: r.p50_s for r in per_assignment if r.group_by is GroupBy.RESPONDER}
    assert responders == {"r-wang": 60}
    assert rep.counts.missed_deadlines["acknowledge"] == 1


def test_aggregates_group_by_colour_kind_grid_and_responder() -> None:
    runs = [
        claimed(make_incident("a", colour=Level.RED), 10),
        claimed(make_incident("b", colour=Level.RED), 20),
        claimed(make_incident("c", colour=Level.YELLOW, grid="cell-9", kind="loitering"), 40),
        responded(make_incident("d", colour=Level.YELLOW, grid="cell-9"), claim_s=50),
    ]

    rep = report(*runs)

    claim = stage_row(rep, Stage.CLAIM)
    assert (claim.count, claim.p50_s, claim.p90_s) == (4, 20, 50)
    red = stage_row(rep, Stage.CLAIM, GroupBy.COLOUR, "red")
    assert (red.count, red.p50_s, red.p90_s) == (2, 10, 20)
    assert stage_row(rep, Stage.CLAIM, GroupBy.KIND, "loitering").p50_s == 40
    assert stage_row(rep, Stage.CLAIM, GroupBy.GRID_CELL, "cell-9").count == 2
    assert stage_row(rep, Stage.ARRIVE, GroupBy.RESPONDER, "r-zhang").p50_s == 180
    claim_groups = {r.group_by for r in rep.stages if r.stage is Stage.CLAIM}
    assert GroupBy.RESPONDER not in claim_groups  # an operator-side stage


@pytest.mark.parametrize(
    ("values", "p50", "p90"),
    [
        ([7.0], 7, 7),
        ([1.0, 2.0, 3.0, 4.0], 2, 4),
        ([float(v) for v in range(1, 11)], 5, 9),
        ([300.0, 30.0, 120.0, 60.0, 90.0], 90, 300),  # any order
        ([5.0, 5.0, 1.0], 5, 5),
    ],
)
def test_nearest_rank_percentiles_on_known_lists(
    values: list[float], p50: float, p90: float
) -> None:
    assert (percentile(values, 50), percentile(values, 90)) == (p50, p90)


@pytest.mark.parametrize("p", [0, -5, 100.5])
def test_percentile_outside_range_is_refused(p: float) -> None:
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0], p)


def test_records_given_twice_or_of_unknown_incidents_change_nothing() -> None:
    run = responded(make_incident("inc-1", ring=3))
    stranger = responded(make_incident("inc-2", ring=3), claim_s=99)
    records = audit(run)

    once = report(run)
    noisy = daily_report(
        [*records, *reversed(records), *audit(stranger)], [run.incident], day=DAY, policy=POLICY
    )

    assert noisy == once
    assert stage_row(noisy, Stage.CLAIM).count == 1


def test_detection_delay_needs_an_aware_start() -> None:
    run = claimed(make_incident("inc-1"), 10)
    trail = trail_of(run)
    with pytest.raises(ValueError, match="timezone"):
        stage_samples(trail, detected_at=datetime(2025, 5, 1, 8, 0))


# -- on-time arrival ---------------------------------------------------------------------------


def test_arrival_after_ring_counts_late() -> None:
    # Claimed +30, dispatched +90, acknowledged +120, arrived +300: 180 s in a 3-minute ring.
    late = responded(make_incident("inc-1", ring=3), ack_s=120, arrive_s=300)

    rep = report(late)

    assert stage_row(rep, Stage.CLAIM).p50_s == 30
    assert stage_row(rep, Stage.ACKNOWLEDGE).p50_s == 30
    assert rate(rep.on_time_arrival, GroupBy.RING, "3") == (1, 0.0)


def test_one_late_and_one_on_time_arrival_give_half() -> None:
    late = responded(make_incident("inc-1", ring=3), ack_s=120, arrive_s=300)
    on_time = responded(make_incident("inc-2", ring=3), ack_s=120, arrive_s=250)
    no_ring = responded(make_incident("inc-3"), ack_s=120, arrive_s=400)  # red: 300 s, on time

    rep = report(late, on_time, no_ring)

    assert rate(rep.on_time_arrival, GroupBy.RING, "3") == (2, 0.5)
    assert rate(rep.on_time_arrival, GroupBy.RING, "none") == (1, 1.0)
    assert rate(rep.on_time_arrival, GroupBy.ALL, "all") == (3, 2 / 3)


@pytest.mark.parametrize(
    ("colour", "ring"),
    [
        (Level.RED, None),
        (Level.RED, 1),
        (Level.ORANGE, 5),
        (Level.YELLOW, 3),
        (Level.BLUE, 1),  # rings do not apply to blue: it keeps its own arrival deadline
        (Level.BLUE, None),
    ],
)
def test_arrival_deadline_is_the_one_the_machine_armed(colour: Level, ring: Ring | None) -> None:
    waiting = responded(make_incident("inc-1", colour=colour, ring=ring), arrive_s=None)
    armed = waiting.incident.deadline(K.ARRIVE)
    assert armed is not None
    assert arrival_outcome(trail_of(waiting), POLICY) is None

    for offset_s, on_time in [(-1, True), (0, False)]:
        run = responded(make_incident("inc-1", colour=colour, ring=ring), arrive_s=None)
        arrive_at = armed.due_at + timedelta(seconds=offset_s)
        zhang = responder("r-zhang")
        run(Arrive(actor=zhang, at=arrive_at, responder_id="r-zhang"))
        outcome = arrival_outcome(trail_of(run), POLICY)
        assert outcome is not None
        assert outcome.deadline_s == (armed.due_at - armed.started_at).total_seconds()
        assert outcome.on_time is on_time


def test_colour_raised_after_acknowledgement_tightens_the_arrival_deadline() -> None:
    run = responded(make_incident("inc-1", colour=Level.YELLOW), ack_s=120, arrive_s=None)
    run(RaiseColour(actor=SYSTEM, at=after(run.incident, 130), colour=Level.RED))
    assert run.incident.deadline(K.ARRIVE) is not None
    assert run.incident.deadline(K.ARRIVE).due_at == after(run.incident, 120 + 300)  # type: ignore[union-attr]
    run(Arrive(actor=responder("r-zhang"), at=after(run.incident, 500), responder_id="r-zhang"))

    outcome = arrival_outcome(trail_of(run), POLICY)

    assert outcome is not None and (outcome.deadline_s, outcome.on_time) == (300, False)


def test_missed_arrival_deadline_counts_late_and_opens_one_supervision_ticket() -> None:
    run = responded(make_incident("inc-1", ring=1), ack_s=120, arrive_s=None)
    arrive_due = run.incident.deadline(K.ARRIVE)
    assert arrive_due is not None
    run(missed(arrive_due, arrive_due.due_at))
    supervision_due = run.incident.deadline(K.SUPERVISION)
    assert supervision_due is not None
    run(missed(supervision_due, supervision_due.due_at))  # climbs the same ticket
    # With the policy's ring made generous, only the missed-deadline record can make it late.
    lenient = DeadlinePolicy(ring_arrive_s={1: 3600.0})
    run(Arrive(actor=responder("r-zhang"), at=after(run.incident, 900), responder_id="r-zhang"))

    outcome = arrival_outcome(trail_of(run), lenient)
    rep = report(run)

    assert outcome is not None and not outcome.on_time
    assert outcome.decided_at == arrive_due.due_at
    assert rate(rep.on_time_arrival, GroupBy.RING, "1") == (1, 0.0)
    assert rep.counts.supervision_tickets == 1
    assert (rep.counts.missed_deadlines["arrive"], rep.counts.missed_deadlines["supervision"]) == (
        1,
        1,
    )


# -- false alarms ------------------------------------------------------------------------------


def test_false_alarm_rate_per_rule_and_camera() -> None:
    marked = claimed(make_incident("a", alert_id="al-a"), 10)
    marked(MarkFalse(actor=OPERATOR, at=after(marked.incident, 20)))
    real = claimed(make_incident("b", alert_id="al-b"), 10)
    real(Verify(actor=OPERATOR, at=after(real.incident, 20)))
    closed_false = claimed(make_incident("c", alert_id="al-c"), 10)
    closed_false(Verify(actor=OPERATOR, at=after(closed_false.incident, 20)))
    closed_false(
        MergeAlert(
            actor=SYSTEM, at=after(closed_false.incident, 25), alert_id="al-c2", colour=Level.RED
        )
    )
    closed_false(
        Close(
            actor=OPERATOR,
            at=after(closed_false.incident, 30),
            close_reason=CloseReason.FALSE,
            reason="a queue for a bus",
        )
    )
    unknown = claimed(make_incident("d", alert_id="al-x"), 10)
    unknown(MarkFalse(actor=OPERATOR, at=after(unknown.incident, 20)))
    unreviewed = claimed(make_incident("e", alert_id="al-e"), 10)
    sources = {
        "al-a": ("cam-1", "crowd"),
        "al-b": ("cam-1", "crowd"),
        "al-c": ("cam-2", "loiter"),
        "al-c2": ("cam-2", "crowd"),
        "al-e": ("cam-3", "crowd"),
    }

    rep = report(marked, real, closed_false, unknown, unreviewed, alert_sources=sources)

    rows = rep.false_alarm
    assert rate(rows, GroupBy.ALL, "all") == (4, 0.75)
    assert rate(rows, GroupBy.CAMERA, "cam-1") == (2, 0.5)
    assert rate(rows, GroupBy.CAMERA, "cam-2") == (1, 1.0)  # two alerts, one incident
    assert rate(rows, GroupBy.CAMERA, "unknown") == (1, 1.0)
    assert rate(rows, GroupBy.RULE, "crowd") == (3, 2 / 3)
    assert rate(rows, GroupBy.RULE, "loiter") == (1, 1.0)
    assert "cam-3" not in {row.group for row in rows}  # never reviewed
    counts = rep.counts
    assert (counts.new, counts.closed, counts.false_alarms, counts.open_at_end) == (5, 3, 3, 2)
