"""Values of the incident lifecycle: states, actors, assignments, supervision, deadlines, audit.

All pydantic, frozen, `extra="forbid"`: the shell stores them as JSON and gets them back equal.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from hub.contracts import GeoPoint, Level
from hub.grid import GridLevel as GridLevel  # one set of tiers for grid and lifecycle

# Most severe first: a colour is "raised" when it moves towards the front.
SEVERITY = (Level.RED, Level.ORANGE, Level.YELLOW, Level.BLUE)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is UTC:  # most values: copies of ones converted already
        return value
    if value.tzinfo is None:
        raise ValueError("timestamps must carry a timezone")
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
Text = Annotated[str, Field(max_length=500)]
Ref = Annotated[str, Field(min_length=1, max_length=256)]
Id = Annotated[str, Field(min_length=1, max_length=64)]
NOTE_MAX_CHARS = 2000  # an operator's note: a paragraph or two, not a report
Ring = Literal[1, 3, 5]  # minutes: the place's 1-3-5 rapid-response ring


class Value(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def is_more_severe(a: Level, b: Level) -> bool:
    return SEVERITY.index(a) < SEVERITY.index(b)


def most_severe(a: Level, b: Level) -> Level:
    return a if is_more_severe(a, b) else b


def colour_up(colour: Level) -> Level:
    """One step more severe (red stays red)."""
    return SEVERITY[max(SEVERITY.index(colour) - 1, 0)]


class IncidentState(StrEnum):
    DETECTED = "detected"
    PENDING_REVIEW = "pending_review"
    FALSE_ALARM = "false_alarm"  # closed at review as 误报 (close reason `false`)
    WARNING_ISSUED = "warning_issued"
    DISPATCHING = "dispatching"
    ASSIGNED = "assigned"
    ON_SCENE = "on_scene"
    FEEDBACK_SUBMITTED = "feedback_submitted"
    VERIFYING = "verifying"
    CLOSED = "closed"
    REOPENED = "reopened"


CLOSED_STATES = frozenset({IncidentState.CLOSED, IncidentState.FALSE_ALARM})
OPEN_STATES = frozenset(IncidentState) - CLOSED_STATES


class CloseReason(StrEnum):
    RESOLVED = "resolved"
    FALSE = "false"
    DUPLICATE = "duplicate"
    TRANSFERRED = "transferred"
    UNRESOLVABLE = "unresolvable"


class AssignmentState(StrEnum):
    RECOMMENDED = "recommended"
    NOTIFIED = "notified"
    ACKNOWLEDGED = "acknowledged"
    DECLINED = "declined"
    TIMED_OUT = "timed_out"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    CLEARED = "cleared"
    CANCELLED = "cancelled"


# Assignments that still hold a responder (cancelled when the incident closes).
ACTIVE_ASSIGNMENTS = frozenset(
    {
        AssignmentState.NOTIFIED,
        AssignmentState.ACKNOWLEDGED,
        AssignmentState.EN_ROUTE,
        AssignmentState.ON_SCENE,
    }
)
# Assignments whose responder will not be asked again for this incident.
REFUSED_ASSIGNMENTS = frozenset({AssignmentState.DECLINED, AssignmentState.TIMED_OUT})


class TicketKind(StrEnum):
    WARNING = "warning"  # 预警单: watch / prevent, no site visit
    ASSIGNMENT = "assignment"  # 交办单: go and handle, with deadlines
    SUPERVISION = "supervision"  # 督办单: a deadline was missed; climbs colour and grid level


class Role(StrEnum):
    SYSTEM = "system"
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    RESPONDER = "responder"


class Actor(Value):
    """Who did it: a person (id + role) or the system (timers, merges, automatic rules)."""

    id: Id
    role: Role

    @classmethod
    def system(cls) -> Actor:
        return cls(id="system", role=Role.SYSTEM)


class DeadlineKind(StrEnum):
    CLAIM = "claim"
    VERIFY = "verify"
    DISPATCH = "dispatch"
    ACKNOWLEDGE = "acknowledge"  # one per notified assignment (subject = responder id)
    ARRIVE = "arrive"
    HANDLE = "handle"
    FEEDBACK = "feedback"
    CHECK = "check"
    CLOSE = "close"
    SUPERVISION = "supervision"


class Deadline(Value):
    """A pending timer, stored by the shell so a scheduler can fire it after a restart."""

    kind: DeadlineKind
    subject: Id | None = Field(default=None, description="Responder id for `acknowledge`")
    started_at: UtcDatetime = Field(description="The event that set it")
    due_at: UtcDatetime

    @property
    def key(self) -> tuple[DeadlineKind, str | None]:
        return (self.kind, self.subject)


class Assignment(Value):
    responder_id: Id
    state: AssignmentState
    since: UtcDatetime = Field(description="When it entered `state`")
    reasons: list[Text] = Field(default_factory=list, description="Why it was recommended")


class Supervision(Value):
    """The 督办单 overlay: its own colour and responsible grid level, both only ever climbing."""

    colour: Level
    responsible_level: GridLevel
    opened_at: UtcDatetime
    escalations: int = Field(default=0, ge=0, description="Climbs after the first issue")
    cause: DeadlineKind = Field(description="The deadline whose miss raised or last climbed it")
    active: bool = Field(default=True, description="False once the cause is met; kept on record")


class Incident(Value):
    id: Id
    kind: Id = Field(description="Alert kind, e.g. crowd_gathering")
    colour: Level
    state: IncidentState = IncidentState.DETECTED
    close_reason: CloseReason | None = None
    ring_min: Ring | None = Field(default=None, description="Place's rapid-response ring")
    grid_cell: Id | None = None
    location: GeoPoint | None = Field(default=None, description="Where the first alert was")
    created_at: UtcDatetime
    updated_at: UtcDatetime
    closed_at: UtcDatetime | None = None
    version: int = Field(default=0, ge=0, description="+1 per accepted event (audit seq)")
    alerts: dict[Id, int] = Field(default_factory=dict, description="Alert id -> revision seen")
    claimed_by: Id | None = None
    confirmed: bool = False
    review_escalations: int = Field(default=0, ge=0, description="Missed claims (re-queued)")
    ack_misses: int = Field(default=0, ge=0)
    rework_count: int = Field(default=0, ge=0)
    warning_issued_at: UtcDatetime | None = None
    assignment_issued_at: UtcDatetime | None = None
    assignments: list[Assignment] = Field(default_factory=list)
    supervision: Supervision | None = None
    deadlines: list[Deadline] = Field(default_factory=list)

    @property
    def is_closed(self) -> bool:
        return self.state in CLOSED_STATES

    @property
    def tickets(self) -> list[TicketKind]:
        issued = [
            (self.warning_issued_at, TicketKind.WARNING),
            (self.assignment_issued_at, TicketKind.ASSIGNMENT),
            (self.supervision and self.supervision.opened_at, TicketKind.SUPERVISION),
        ]
        return [kind for at, kind in issued if at is not None]

    def assignment(self, responder_id: str) -> Assignment | None:
        """The responder's latest assignment (a responder may be dispatched again for rework)."""
        found = [item for item in self.assignments if item.responder_id == responder_id]
        return found[-1] if found else None

    def deadline(self, kind: DeadlineKind, subject: str | None = None) -> Deadline | None:
        return next((item for item in self.deadlines if item.key == (kind, subject)), None)


class AuditRecord(Value):
    """One per accepted event: who, when, from, to, why, evidence. Append-only in the store."""

    incident_id: Id
    seq: int = Field(ge=1, description="The incident's version after the event")
    at: UtcDatetime
    actor: Actor
    event: Id = Field(description="Event type, e.g. acknowledge")
    from_state: IncidentState
    to_state: IncidentState
    colour_from: Level
    colour_to: Level
    responder_id: Id | None = None
    assignment_from: AssignmentState | None = None
    assignment_to: AssignmentState | None = None
    why: Text = Field(description="Reason code, then the actor's words if any")
    evidence: list[Ref] = Field(default_factory=list)
    note: str | None = Field(
        default=None, max_length=NOTE_MAX_CHARS, description="A `note` event's whole text "
        "(`why` keeps only its start)",
    )


def open_incident(
    incident_id: str,
    *,
    kind: str,
    colour: Level,
    at: datetime,
    ring_min: Ring | None = None,
    grid_cell: str | None = None,
    alert_id: str | None = None,
    location: GeoPoint | None = None,
) -> Incident:
    """A new incident in `detected`; the shell then sends `queue` (or `close(duplicate)`)."""
    alerts = {alert_id: 0} if alert_id else {}
    return Incident(
        id=incident_id, kind=kind, colour=colour, ring_min=ring_min, grid_cell=grid_cell,
        location=location, created_at=at, updated_at=at, alerts=alerts,
    )
