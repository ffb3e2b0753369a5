"""Operator-side handlers: queue, claim, verify, false alarm, colours, merges, warning, check,
close, reopen and notes. Each takes (incident, event, policy, now) and returns a `Change` or None
(a no-op: nothing changes, nothing is audited)."""

from __future__ import annotations

from datetime import datetime, timedelta

from hub.lifecycle.changes import (
    Change,
    arm,
    close_incident,
    disarm,
    recolour,
    refuse,
    require_person,
    update,
)
from hub.lifecycle.effects import NotifyLeader
from hub.lifecycle.events import (
    Approve,
    Claim,
    Close,
    IssueWarning,
    LowerColour,
    MarkFalse,
    MergeAlert,
    Note,
    Queue,
    RaiseColour,
    Reopen,
    StartCheck,
    Verify,
)
from hub.lifecycle.model import (
    CloseReason,
    DeadlineKind,
    GridLevel,
    Incident,
    IncidentState,
    Role,
    is_more_severe,
    most_severe,
)
from hub.lifecycle.policy import DeadlinePolicy

S = IncidentState
K = DeadlineKind


def queue(incident: Incident, event: Queue, policy: DeadlinePolicy, now: datetime) -> Change:
    queued = update(incident, state=S.PENDING_REVIEW)
    if incident.deadline(K.CLAIM) is None and incident.claimed_by is None:
        queued = arm(queued, policy, K.CLAIM, event.at)
    if incident.deadline(K.CLOSE) is None:
        queued = arm(queued, policy, K.CLOSE, event.at)
    return Change(queued, "queued_for_review")


def claim(incident: Incident, event: Claim, policy: DeadlinePolicy, now: datetime) -> Change:
    require_person(incident, event)
    if incident.claimed_by is not None:
        raise refuse(incident, event, f"already claimed by {incident.claimed_by}")
    claimed = update(incident, state=S.PENDING_REVIEW, claimed_by=event.actor.id)
    if incident.deadline(K.CLOSE) is None:
        claimed = arm(claimed, policy, K.CLOSE, event.at)
    return Change(arm(disarm(claimed, K.CLAIM), policy, K.VERIFY, event.at), "claimed")


def verify(incident: Incident, event: Verify, policy: DeadlinePolicy, now: datetime) -> Change:
    require_person(incident, event)
    if incident.claimed_by is None:
        raise refuse(incident, event, "claim it first")
    if incident.confirmed:
        raise refuse(incident, event, "already confirmed")
    confirmed = disarm(update(incident, confirmed=True), K.VERIFY)
    return Change(arm(confirmed, policy, K.DISPATCH, event.at), "confirmed")


def mark_false(
    incident: Incident, event: MarkFalse, policy: DeadlinePolicy, now: datetime
) -> Change:
    require_person(incident, event)
    closed, effects = close_incident(incident, S.FALSE_ALARM, CloseReason.FALSE, event.at)
    return Change(closed, "false_alarm", tuple(effects))


def raise_colour(
    incident: Incident, event: RaiseColour, policy: DeadlinePolicy, now: datetime
) -> Change | None:
    if not is_more_severe(event.colour, incident.colour):
        return None  # equal or lower: colours never go down by this road
    return Change(recolour(incident, event.colour, policy), "colour_raised")


def lower_colour(
    incident: Incident, event: LowerColour, policy: DeadlinePolicy, now: datetime
) -> Change:
    require_person(incident, event)
    if not is_more_severe(incident.colour, event.colour):
        raise refuse(incident, event, f"{event.colour} is not below {incident.colour}")
    # Pending deadlines stay as they are: lowering never buys time retroactively.
    return Change(update(incident, colour=event.colour), "colour_lowered")


def merge_alert(
    incident: Incident, event: MergeAlert, policy: DeadlinePolicy, now: datetime
) -> Change | None:
    if incident.alerts.get(event.alert_id, -1) >= event.revision:
        return None  # already merged this report: replays change nothing
    merged = update(incident, alerts={**incident.alerts, event.alert_id: event.revision})
    colour = most_severe(incident.colour, event.colour)
    why = "alert_merged_colour_raised" if colour != incident.colour else "alert_merged"
    return Change(recolour(merged, colour, policy), why)


def issue_warning(
    incident: Incident, event: IssueWarning, policy: DeadlinePolicy, now: datetime
) -> Change:
    require_person(incident, event)
    if not incident.confirmed:
        raise refuse(incident, event, "verify it first")
    warned = update(incident, state=S.WARNING_ISSUED, warning_issued_at=event.at)
    notify = NotifyLeader(grid_level=GridLevel.GRID_CELL, why="warning ticket issued")
    return Change(disarm(warned, K.DISPATCH), "warning_issued", (notify,))


def start_check(
    incident: Incident, event: StartCheck, policy: DeadlinePolicy, now: datetime
) -> Change:
    if event.actor.role is Role.RESPONDER:
        raise refuse(incident, event, "a responder does not check their own feedback")
    return Change(update(incident, state=S.VERIFYING), "check_started")


def approve(incident: Incident, event: Approve, policy: DeadlinePolicy, now: datetime) -> Change:
    require_person(incident, event)
    closed, effects = close_incident(incident, S.CLOSED, CloseReason.RESOLVED, event.at)
    return Change(closed, "check_passed_resolved", tuple(effects))


def close(incident: Incident, event: Close, policy: DeadlinePolicy, now: datetime) -> Change:
    reason = event.close_reason
    if reason is CloseReason.RESOLVED and incident.state is not S.WARNING_ISSUED:
        raise refuse(incident, event, "resolved needs a passed check (approve)")
    if event.actor.role is Role.RESPONDER:
        raise refuse(incident, event, "a responder does not close incidents")
    closed, effects = close_incident(incident, S.CLOSED, reason, event.at)
    return Change(closed, f"closed_{reason.value}", tuple(effects))


def reopen(incident: Incident, event: Reopen, policy: DeadlinePolicy, now: datetime) -> Change:
    if event.actor.role is Role.RESPONDER:
        raise refuse(incident, event, "a responder does not reopen incidents")
    closed_at = incident.closed_at or incident.updated_at
    if event.actor.role is Role.SYSTEM and now - closed_at > timedelta(
        seconds=policy.reopen_window_s
    ):
        raise refuse(incident, event, "closed too long ago to reopen automatically")
    reopened = update(
        incident, state=S.REOPENED, close_reason=None, closed_at=None, claimed_by=None,
        confirmed=False,
    )
    reopened = arm(arm(reopened, policy, K.CLAIM, event.at), policy, K.CLOSE, event.at)
    return Change(reopened, "reopened")


def note(incident: Incident, event: Note, policy: DeadlinePolicy, now: datetime) -> Change:
    """Only the audit record changes (and the version, so readers see a new record)."""
    require_person(incident, event)
    return Change(incident, f"note: {event.text}")
