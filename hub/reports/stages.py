"""Stage durations of one incident, in seconds, from its audit trail.

Each stage runs between two milestones and is measured only when both exist and the end comes
after the start in the trail. "First" means the first such record in the trail, so a reopened
incident keeps the times of its first cycle. A sample keeps when the stage ended (`ended_at`),
which decides the day it is reported on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from hub.lifecycle.model import AssignmentState, AuditRecord, Incident, IncidentState
from hub.reports.trail import Trail, closes


class Stage(StrEnum):
    DETECT = "detect"  # first alert started -> incident created (caller-supplied start)
    CLAIM = "claim"  # created -> first claim
    VERIFY = "verify"  # first claim -> first verify or mark_false
    DISPATCH = "dispatch"  # first verify -> first dispatch
    ACKNOWLEDGE = "acknowledge"  # first dispatch -> first acknowledge
    ACKNOWLEDGE_ASSIGNMENT = "acknowledge_assignment"  # notified -> acknowledged, per responder
    ARRIVE = "arrive"  # first acknowledge -> first arrive
    DETECTED_TO_ARRIVE = "detected_to_arrive"  # created -> first arrive
    CLOSE = "close"  # created -> first close or approve into `closed`


# Stages a responder's own speed decides: they are also grouped per responder.
RESPONDER_STAGES = frozenset({Stage.ACKNOWLEDGE, Stage.ACKNOWLEDGE_ASSIGNMENT, Stage.ARRIVE})


@dataclass(frozen=True)
class Sample:
    stage: Stage
    incident: Incident
    seconds: float
    ended_at: datetime
    responder_id: str | None = None


def stage_samples(trail: Trail, detected_at: datetime | None = None) -> list[Sample]:
    """Every stage of the incident that has both its milestones; `detected_at` is when its first
    alert started (timezone-aware), for the detection delay."""
    incident = trail.incident
    claim = trail.first("claim")
    verify = trail.first("verify")
    dispatch = trail.first("dispatch")
    ack = trail.first("acknowledge")
    arrive = trail.first("arrive")
    spans: list[tuple[Stage, AuditRecord | None, AuditRecord | None]] = [
        (Stage.CLAIM, None, claim),
        (Stage.VERIFY, claim, trail.first("verify", "mark_false")),
        (Stage.DISPATCH, verify, dispatch),
        (Stage.ACKNOWLEDGE, dispatch, ack),
        (Stage.ARRIVE, ack, arrive),
        (Stage.DETECTED_TO_ARRIVE, None, arrive),
        (Stage.CLOSE, None, trail.first_where(_enters_closed)),
    ]
    samples = [_detect(incident, detected_at)] if detected_at is not None else []
    for stage, start, end in spans:
        sample = _span(stage, incident, start, end)
        if sample is not None:
            samples.append(sample)
    return samples + assignment_acks(trail)


def assignment_acks(trail: Trail) -> list[Sample]:
    """Notified -> acknowledged for each assignment, grouped by its responder."""
    notified_at: dict[str, datetime] = {}
    samples: list[Sample] = []
    for record in trail.records:
        responder_id = record.responder_id
        if responder_id is None or record.assignment_to is None:
            continue
        started = notified_at.pop(responder_id, None)
        if record.assignment_to is AssignmentState.NOTIFIED:
            notified_at[responder_id] = record.at
        elif record.assignment_to is AssignmentState.ACKNOWLEDGED and started is not None:
            seconds = (record.at - started).total_seconds()
            samples.append(
                Sample(
                    Stage.ACKNOWLEDGE_ASSIGNMENT, trail.incident, seconds, record.at, responder_id
                )
            )
    return samples


def _enters_closed(record: AuditRecord) -> bool:
    return closes(record) and record.to_state is IncidentState.CLOSED


def _detect(incident: Incident, detected_at: datetime) -> Sample:
    if detected_at.tzinfo is None:
        raise ValueError(f"detected_at of {incident.id} must carry a timezone")
    seconds = (incident.created_at - detected_at).total_seconds()
    return Sample(Stage.DETECT, incident, seconds, incident.created_at)


def _span(
    stage: Stage, incident: Incident, start: AuditRecord | None, end: AuditRecord | None
) -> Sample | None:
    """`start` None means the incident's creation."""
    if end is None or (start is not None and start.seq >= end.seq):
        return None
    started_at = incident.created_at if start is None else start.at
    responder_id = end.responder_id if stage in RESPONDER_STAGES else None
    seconds = (end.at - started_at).total_seconds()
    return Sample(stage, incident, seconds, end.at, responder_id)
