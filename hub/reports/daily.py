"""The daily report (日报) for one local day [00:00, next 00:00) in a timezone, as JSON and CSV.

What counts on the day: new incidents by `created_at`; closures, false alarms, missed deadlines
and supervision tickets by their audit record's time; a stage duration on the day the stage
ended; an on-time verdict on the day of the arrival (or of the missed deadline that made it
late); a false-alarm verdict on the day of the last review decision. So each measure lands on
exactly one day and a past day's report never changes.

`audit` must hold the incidents' trails from their creation, not only the day's records: "first"
milestones and stage starts may lie on earlier days. Records of incidents not passed are ignored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field

from hub.lifecycle.model import OPEN_STATES, SEVERITY, AuditRecord, DeadlineKind, Incident
from hub.lifecycle.policy import DeadlinePolicy
from hub.reports.export import Cell, count_rows, rate_rows, stage_rows, to_csv
from hub.reports.rates import (
    RateRow,
    arrival_outcome,
    false_alarm_rates,
    on_time_rates,
    review_outcome,
)
from hub.reports.stages import stage_samples
from hub.reports.stats import Row, StageRow, aggregate
from hub.reports.trail import SUPERVISED, Trail, build_trails, closes, closes_false, missed_kind

DEFAULT_TZ = "Asia/Shanghai"


class DailyCounts(Row):
    new: int = Field(ge=0, description="Incidents created on the day")
    new_by_colour: dict[str, int] = Field(description="New incidents per (current) colour")
    closed: int = Field(ge=0, description="Incidents that entered a closed state, false included")
    open_at_end: int = Field(ge=0, description="Created before the day's end and open at it")
    false_alarms: int = Field(ge=0, description="Incidents marked false or closed as false")
    supervision_tickets: int = Field(ge=0, description="督办单 opened (first supervised miss)")
    missed_deadlines: dict[str, int] = Field(description="deadline_missed records per kind")


class DailyReport(Row):
    day: date
    tz: str
    start: datetime = Field(description="Local midnight opening the day (inclusive)")
    end: datetime = Field(description="Local midnight closing the day (exclusive)")
    counts: DailyCounts
    stages: list[StageRow] = Field(description="Stage durations: count, P50, P90 per group")
    on_time_arrival: list[RateRow] = Field(description="All and per ring (1, 3, 5, none)")
    false_alarm: list[RateRow] = Field(description="All, per rule and per camera")

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    def to_csv(self) -> str:
        counts = self.counts
        rows: list[list[Cell]] = [
            *count_rows("new", "all", {"all": counts.new}),
            *count_rows("new", "colour", counts.new_by_colour),
            *count_rows("closed", "all", {"all": counts.closed}),
            *count_rows("open_at_end", "all", {"all": counts.open_at_end}),
            *count_rows("false_alarms", "all", {"all": counts.false_alarms}),
            *count_rows("supervision_tickets", "all", {"all": counts.supervision_tickets}),
            *count_rows("missed_deadlines", "kind", counts.missed_deadlines),
            *stage_rows(self.stages),
            *rate_rows(self.on_time_arrival),
            *rate_rows(self.false_alarm),
        ]
        return to_csv(rows)


def day_bounds(day: date, tz: str = DEFAULT_TZ) -> tuple[datetime, datetime]:
    """Local midnight to the next local midnight (23 or 25 hours on a DST change)."""
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as error:
        raise ValueError("unknown timezone: use an IANA name such as Asia/Shanghai") from error
    start = datetime.combine(day, time(), tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)


def daily_report(
    audit: Iterable[AuditRecord],
    incidents: Iterable[Incident],
    *,
    day: date,
    tz: str = DEFAULT_TZ,
    policy: DeadlinePolicy | None = None,
    alert_sources: Mapping[str, tuple[str, str]] | None = None,
    detected_at: Mapping[str, datetime] | None = None,
) -> DailyReport:
    """The report of `day` in `tz`. `alert_sources`: alert id -> (camera id, rule id);
    `detected_at`: incident id -> its first alert's `started_at` (for time to detect)."""
    start, end = day_bounds(day, tz)
    policy = policy or DeadlinePolicy()
    detected = detected_at or {}
    trails = build_trails(audit, incidents)

    def today(moment: datetime) -> bool:
        return start <= moment < end

    samples = [
        sample
        for trail in trails
        for sample in stage_samples(trail, detected.get(trail.incident.id))
        if today(sample.ended_at)
    ]
    arrivals = [arrival_outcome(trail, policy) for trail in trails]
    reviews = [review_outcome(trail) for trail in trails]
    return DailyReport(
        day=day,
        tz=tz,
        start=start,
        end=end,
        counts=daily_counts(trails, start, end),
        stages=aggregate(samples),
        on_time_arrival=on_time_rates(a for a in arrivals if a and today(a.decided_at)),
        false_alarm=false_alarm_rates(
            (r for r in reviews if r and today(r.decided_at)), alert_sources or {}
        ),
    )


def daily_counts(trails: Iterable[Trail], start: datetime, end: datetime) -> DailyCounts:
    trails = list(trails)
    records = [r for trail in trails for r in trail.records if start <= r.at < end]
    new = [t.incident for t in trails if start <= t.incident.created_at < end]
    by_colour = Counter(incident.colour.value for incident in new)
    missed = Counter(kind for r in records if (kind := missed_kind(r)) is not None)
    opened = [_supervision_opened(trail) for trail in trails]
    return DailyCounts(
        new=len(new),
        new_by_colour={colour.value: by_colour[colour.value] for colour in SEVERITY},
        closed=len({r.incident_id for r in records if closes(r)}),
        open_at_end=sum(
            1 for t in trails if t.incident.created_at < end and t.state_at(end) in OPEN_STATES
        ),
        false_alarms=len({r.incident_id for r in records if closes_false(r)}),
        supervision_tickets=sum(1 for r in opened if r is not None and start <= r.at < end),
        missed_deadlines={kind.value: missed[kind] for kind in DeadlineKind},
    )


def _supervision_opened(trail: Trail) -> AuditRecord | None:
    """The first miss that opens a 督办单; later ones climb the same ticket."""
    return trail.first_where(lambda record: missed_kind(record) in SUPERVISED)
