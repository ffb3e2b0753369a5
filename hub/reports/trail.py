"""An incident's audit trail read as milestones (first claim, first dispatch, ...).

The audit trail is the source of truth for every metric; the incident adds only its static
attributes (id, kind, colour, grid cell, ring, created_at, alerts). Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from hub.lifecycle.model import (
    CLOSED_STATES,
    AuditRecord,
    DeadlineKind,
    Incident,
    IncidentState,
)

# Misses of these open the 督办单 (supervision ticket); later misses only climb it.
SUPERVISED = frozenset(
    {DeadlineKind.ARRIVE, DeadlineKind.HANDLE, DeadlineKind.FEEDBACK, DeadlineKind.CLOSE}
)


def reason_code(record: AuditRecord) -> str:
    """The machine writes `why` as a reason code, then ": " and the actor's words, if any."""
    return record.why.split(": ", 1)[0]


def missed_kind(record: AuditRecord) -> DeadlineKind | None:
    """The deadline a `deadline_missed` record is about (None for any other record)."""
    if record.event != "deadline_missed":
        return None
    code = reason_code(record).removesuffix("_deadline_missed")
    code = "acknowledge" if code == "ack" else code  # escalation writes `ack_deadline_missed`
    try:
        return DeadlineKind(code)
    except ValueError:
        return None


def closes(record: AuditRecord) -> bool:
    """The record moves an open incident into a closed state (false alarm included)."""
    return record.to_state in CLOSED_STATES and record.from_state not in CLOSED_STATES


def closes_false(record: AuditRecord) -> bool:
    """Marked false at review, or closed with reason `false` later on."""
    if not closes(record):
        return False
    false_close = record.to_state is IncidentState.CLOSED and reason_code(record) == "closed_false"
    return record.to_state is IncidentState.FALSE_ALARM or false_close


@dataclass(frozen=True)
class Trail:
    """One incident and its audit records in `seq` order."""

    incident: Incident
    records: tuple[AuditRecord, ...]

    def first(self, *events: str) -> AuditRecord | None:
        return self.first_where(lambda record: record.event in events)

    def first_where(self, accept: Callable[[AuditRecord], bool]) -> AuditRecord | None:
        return next((record for record in self.records if accept(record)), None)

    def state_at(self, moment: datetime) -> IncidentState:
        """The state just before `moment`: the last record earlier than it, else `detected`."""
        state = IncidentState.DETECTED
        for record in self.records:
            if record.at < moment:
                state = record.to_state
        return state


def build_trails(audit: Iterable[AuditRecord], incidents: Iterable[Incident]) -> list[Trail]:
    """One trail per incident, oldest incident first.

    Records of incidents not given are ignored (their static attributes are unknown); a record
    given twice (same incident and seq) counts once.
    """
    by_id = {incident.id: incident for incident in incidents}
    records: dict[str, dict[int, AuditRecord]] = {incident_id: {} for incident_id in by_id}
    for record in audit:
        if record.incident_id in records:
            records[record.incident_id][record.seq] = record
    trails = [
        Trail(by_id[incident_id], tuple(found[seq] for seq in sorted(found)))
        for incident_id, found in records.items()
    ]
    return sorted(trails, key=lambda trail: (trail.incident.created_at, trail.incident.id))
