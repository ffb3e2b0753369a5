"""Builders shared by the lifecycle tests: actors, a clock in seconds, and a runner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hub.contracts import Level
from hub.lifecycle import (
    Actor,
    Claim,
    DeadlineKind,
    DeadlinePolicy,
    Dispatch,
    Event,
    Incident,
    IncidentState,
    Outcome,
    Queue,
    Role,
    Verify,
    open_incident,
    step,
)

T0 = datetime(2025, 5, 1, 8, 0, tzinfo=UTC)
SYSTEM = Actor.system()
OPERATOR = Actor(id="op-li", role=Role.OPERATOR)
SUPERVISOR = Actor(id="sup-wang", role=Role.SUPERVISOR)
POLICY = DeadlinePolicy()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def due_at(incident: Incident, kind: DeadlineKind, subject: str | None = None) -> datetime:
    """When the pending deadline of `kind` falls due (fails the test if none is pending)."""
    deadline = incident.deadline(kind, subject)
    assert deadline is not None, f"no pending {kind} deadline"
    return deadline.due_at


def responder(responder_id: str) -> Actor:
    return Actor(id=responder_id, role=Role.RESPONDER)


def new_incident(colour: Level = Level.YELLOW, ring_min: Any = None) -> Incident:
    return open_incident(
        "inc-1", kind="crowd_gathering", colour=colour, at=T0, ring_min=ring_min,
        grid_cell="cell-7", alert_id="alert-1",
    )


def in_state(state: IncidentState, colour: Level = Level.YELLOW) -> Incident:
    """An incident forced into `state`, for transition-table tests."""
    return new_incident(colour).model_copy(update={"state": state})


class Runner:
    """Feeds events one by one (now = the event's time) and keeps every outcome."""

    def __init__(self, incident: Incident, policy: DeadlinePolicy = POLICY) -> None:
        self.incident = incident
        self.policy = policy
        self.outcomes: list[Outcome] = []

    def __call__(self, event: Event) -> Outcome:
        outcome = step(self.incident, event, event.at, self.policy)
        self.incident = outcome.incident
        self.outcomes.append(outcome)
        return outcome

    @property
    def trail(self) -> list[tuple[str, str, str, str]]:
        """(event, from, to, why) of every audit record so far."""
        return [
            (r.event, r.from_state.value, r.to_state.value, r.why)
            for outcome in self.outcomes
            for r in outcome.audit
        ]


def reviewing(colour: Level = Level.YELLOW) -> Runner:
    run = Runner(new_incident(colour))
    run(Queue(actor=SYSTEM, at=at(0)))
    run(Claim(actor=OPERATOR, at=at(10)))
    return run


def dispatched(colour: Level = Level.YELLOW, ring_min: int | None = None) -> Runner:
    run = Runner(new_incident(colour, ring_min))
    run(Queue(actor=SYSTEM, at=at(0)))
    run(Claim(actor=OPERATOR, at=at(10)))
    run(Verify(actor=OPERATOR, at=at(20)))
    run(Dispatch(actor=OPERATOR, at=at(30), responder_id="r-zhang"))
    return run
