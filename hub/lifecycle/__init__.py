"""The incident lifecycle (pure core): states, assignments, supervision and the deadline ladder.

No I/O, no clock, no asyncio: time is an argument. The shell loads an `Incident`, feeds one event
to `step(incident, event, now, policy)`, stores the new incident and the audit record, stores or
drops the deadlines the outcome names, and performs its effects. A scheduler reads stored deadlines
and feeds `deadline_missed` events back (`due_events`).
"""

from hub.lifecycle.deadlines import deadlines_due, due_events, missed, next_deadline
from hub.lifecycle.effects import (
    CancelAssignment,
    Effect,
    NotifyLeader,
    NotifyResponder,
    NotifyShiftLeader,
    RaiseSupervision,
    Redispatch,
    RequeueForReview,
)
from hub.lifecycle.errors import InvalidTransitionError, LifecycleError
from hub.lifecycle.events import (
    EVENT_ADAPTER,
    Acknowledge,
    Approve,
    Arrive,
    Claim,
    Clear,
    Close,
    DeadlineMissed,
    Decline,
    Depart,
    Dispatch,
    Event,
    IssueWarning,
    LowerColour,
    MarkFalse,
    MergeAlert,
    Note,
    Queue,
    RaiseColour,
    Recommend,
    RejectFeedback,
    Reopen,
    StartCheck,
    SubmitFeedback,
    Verify,
)
from hub.lifecycle.machine import ALLOWED, Outcome, step
from hub.lifecycle.model import (
    Actor,
    Assignment,
    AssignmentState,
    AuditRecord,
    CloseReason,
    Deadline,
    DeadlineKind,
    GridLevel,
    Incident,
    IncidentState,
    Role,
    Supervision,
    TicketKind,
    open_incident,
)
from hub.lifecycle.policy import ColourDeadlines, DeadlinePolicy, SupervisionStart, duration_s

__all__ = [
    "ALLOWED", "EVENT_ADAPTER", "Acknowledge", "Actor", "Approve", "Arrive", "Assignment",
    "AssignmentState", "AuditRecord", "CancelAssignment", "Claim", "Clear", "Close",
    "CloseReason", "ColourDeadlines", "Deadline", "DeadlineKind", "DeadlineMissed",
    "DeadlinePolicy", "Decline", "Depart", "Dispatch", "Effect", "Event", "GridLevel", "Incident",
    "IncidentState", "InvalidTransitionError", "IssueWarning", "LifecycleError", "LowerColour",
    "MarkFalse", "MergeAlert", "Note", "NotifyLeader", "NotifyResponder", "NotifyShiftLeader",
    "Outcome", "Queue", "RaiseColour", "RaiseSupervision", "Recommend", "Redispatch",
    "RejectFeedback", "Reopen", "RequeueForReview", "Role", "StartCheck", "SubmitFeedback",
    "Supervision", "SupervisionStart", "TicketKind", "Verify", "deadlines_due", "due_events",
    "duration_s", "missed", "next_deadline", "open_incident", "step",
]
