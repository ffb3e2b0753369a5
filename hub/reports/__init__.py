"""Response-time metrics and the daily report (日报), computed only from the audit trail.

Pure: no I/O, no clock; the shell passes the audit records, the incidents (for their static
attributes), the deadline policy and two caller-supplied maps (alert -> camera and rule, incident
-> first alert's start). Stage durations in `stages`, percentiles and groups in `stats`, on-time
and false-alarm rates in `rates`, the day's report and its CSV in `daily` and `export`.
"""

from hub.reports.daily import DEFAULT_TZ, DailyCounts, DailyReport, daily_report, day_bounds
from hub.reports.export import defuse
from hub.reports.rates import (
    ArrivalOutcome,
    RateRow,
    ReviewOutcome,
    arrival_outcome,
    false_alarm_rates,
    on_time_rates,
    review_outcome,
)
from hub.reports.stages import Sample, Stage, assignment_acks, stage_samples
from hub.reports.stats import GroupBy, StageRow, aggregate, percentile
from hub.reports.trail import Trail, build_trails

__all__ = [
    "DEFAULT_TZ",
    "ArrivalOutcome",
    "DailyCounts",
    "DailyReport",
    "GroupBy",
    "RateRow",
    "ReviewOutcome",
    "Sample",
    "Stage",
    "StageRow",
    "Trail",
    "aggregate",
    "arrival_outcome",
    "assignment_acks",
    "build_trails",
    "daily_report",
    "day_bounds",
    "defuse",
    "false_alarm_rates",
    "on_time_rates",
    "percentile",
    "review_outcome",
    "stage_samples",
]
