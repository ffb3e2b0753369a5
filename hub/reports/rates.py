"""On-time arrival per ring and false-alarm rate per rule and camera, from audit trails (pure).

On time: the first arrival came within the arrival deadline the machine armed at the first
acknowledgement (`duration_s(policy, ARRIVE, colour, ring)`, from the same start), and no
`arrive` deadline_missed record came before it. The deadline is due at its instant (as
`deadlines_due` reads it), so an arrival exactly then is late. A colour raised between the
acknowledgement and the arrival tightens that deadline in the machine, so the most severe colour
of that window counts here too. An incident acknowledged and neither arrived nor late yet is not
counted.

False alarm: of the incidents reviewed (verified, marked false, or closed as false), those whose
last review decision was false. An incident counts once for each camera and each rule among its
alerts (`alert_sources`: alert id -> (camera id, rule id); unknown alerts group as `unknown`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from pydantic import Field

from hub.lifecycle.model import AuditRecord, DeadlineKind, Incident
from hub.lifecycle.policy import DeadlinePolicy, duration_s
from hub.reports.stats import GroupBy, Row
from hub.reports.trail import Trail, closes_false, missed_kind

UNKNOWN = "unknown"


class RateRow(Row):
    metric: str = Field(description="on_time_arrival or false_alarm")
    group_by: GroupBy
    group: str
    count: int = Field(ge=1, description="Incidents judged: arrivals, or reviews")
    rate: float = Field(ge=0, le=1, description="On time, or false, over `count`")


@dataclass(frozen=True)
class ArrivalOutcome:
    incident: Incident
    on_time: bool
    decided_at: datetime  # the arrival, or the missed deadline that made it late
    deadline_s: float

    @property
    def ring(self) -> str:
        ring_min = self.incident.ring_min
        return str(ring_min) if ring_min is not None else "none"


@dataclass(frozen=True)
class ReviewOutcome:
    incident: Incident
    false: bool
    decided_at: datetime


def arrival_outcome(trail: Trail, policy: DeadlinePolicy) -> ArrivalOutcome | None:
    """On time or late for the first arrival; None while it is not decided (or never asked)."""
    ack = trail.first("acknowledge")
    if ack is None:
        return None
    arrive = trail.first("arrive")
    end_seq = arrive.seq if arrive is not None else None
    window = [r for r in trail.records if r.seq >= ack.seq and (end_seq is None or r.seq < end_seq)]
    incident = trail.incident
    deadline_s = min(
        duration_s(policy, DeadlineKind.ARRIVE, record.colour_to, incident.ring_min)
        for record in window
    )
    miss = next((r for r in window if missed_kind(r) is DeadlineKind.ARRIVE), None)
    if miss is not None:
        return ArrivalOutcome(incident, False, miss.at, deadline_s)
    if arrive is None:
        return None
    on_time = (arrive.at - ack.at).total_seconds() < deadline_s
    return ArrivalOutcome(incident, on_time, arrive.at, deadline_s)


def review_outcome(trail: Trail) -> ReviewOutcome | None:
    """The last review decision (verify, or a false close); None if never reviewed."""
    decisions = [r for r in trail.records if r.event == "verify" or closes_false(r)]
    if not decisions:
        return None
    last: AuditRecord = decisions[-1]
    return ReviewOutcome(trail.incident, closes_false(last), last.at)


def on_time_rates(outcomes: Iterable[ArrivalOutcome]) -> list[RateRow]:
    """Rate of on-time first arrivals, for all and per ring (1, 3, 5 or none)."""
    judged: dict[tuple[GroupBy, str], list[bool]] = defaultdict(list)
    for outcome in outcomes:
        judged[(GroupBy.ALL, "all")].append(outcome.on_time)
        judged[(GroupBy.RING, outcome.ring)].append(outcome.on_time)
    return _rows("on_time_arrival", judged)


def false_alarm_rates(
    reviews: Iterable[ReviewOutcome], alert_sources: Mapping[str, tuple[str, str]]
) -> list[RateRow]:
    """False over reviewed, for all, per rule and per camera."""
    judged: dict[tuple[GroupBy, str], list[bool]] = defaultdict(list)
    for review in reviews:
        sources = [
            alert_sources.get(alert_id, (UNKNOWN, UNKNOWN)) for alert_id in review.incident.alerts
        ]
        sources = sources or [(UNKNOWN, UNKNOWN)]
        judged[(GroupBy.ALL, "all")].append(review.false)
        for camera_id in sorted({camera for camera, _ in sources}):
            judged[(GroupBy.CAMERA, camera_id)].append(review.false)
        for rule_id in sorted({rule for _, rule in sources}):
            judged[(GroupBy.RULE, rule_id)].append(review.false)
    return _rows("false_alarm", judged)


def _rows(metric: str, judged: Mapping[tuple[GroupBy, str], list[bool]]) -> list[RateRow]:
    order = list(GroupBy)
    keys = sorted(judged, key=lambda key: (order.index(key[0]), key[1]))
    return [
        RateRow(
            metric=metric,
            group_by=group_by,
            group=group,
            count=len(judged[(group_by, group)]),
            rate=sum(judged[(group_by, group)]) / len(judged[(group_by, group)]),
        )
        for group_by, group in keys
    ]
