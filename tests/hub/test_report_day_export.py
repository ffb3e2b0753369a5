"""The daily report's day (local midnight to midnight), and its JSON and CSV forms."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest

from hub.lifecycle import MarkFalse
from hub.reports import DailyReport, Stage, daily_report, day_bounds
from tests.hub.lifecycle_builders import OPERATOR, T0
from tests.hub.test_reports import DAY, after, claimed, make_incident, report, responded, stage_row


def test_day_runs_from_local_midnight_in_asia_shanghai() -> None:
    start, end = day_bounds(DAY, "Asia/Shanghai")
    assert (start, end) == (
        datetime(2025, 4, 30, 16, tzinfo=UTC),
        datetime(2025, 5, 1, 16, tzinfo=UTC),
    )


def test_incident_at_2359_local_counts_on_that_day_and_0001_on_the_next() -> None:
    # Both are on 1 May in UTC; only the local day tells them apart.
    before = claimed(make_incident("late", created=datetime(2025, 5, 1, 15, 59, tzinfo=UTC)), 120)
    after_midnight = claimed(
        make_incident("early", created=datetime(2025, 5, 1, 16, 1, tzinfo=UTC)), 120
    )

    first_day = report(before, after_midnight, day=date(2025, 5, 1))
    next_day = report(before, after_midnight, day=date(2025, 5, 2))

    assert (first_day.counts.new, next_day.counts.new) == (1, 1)
    assert first_day.counts.new_by_colour == {"red": 1, "orange": 0, "yellow": 0, "blue": 0}
    assert (first_day.counts.open_at_end, next_day.counts.open_at_end) == (1, 2)
    # The 23:59 incident was claimed at 00:01: its claim time counts on the day it ended.
    assert [r for r in first_day.stages if r.stage is Stage.CLAIM] == []
    assert stage_row(next_day, Stage.CLAIM).count == 2


def test_unknown_timezone_is_refused_without_echoing_it() -> None:
    for tz in ["Mars/Olympus_Mons", "../../etc/passwd", ""]:
        with pytest.raises(ValueError, match="unknown timezone") as refused:
            daily_report([], [], day=DAY, tz=tz)
        assert tz == "" or tz not in str(refused.value)


def two_arrivals() -> DailyReport:
    late = responded(make_incident("inc-1", ring=3), ack_s=120, arrive_s=300)
    on_time = responded(make_incident("inc-2", ring=3), ack_s=120, arrive_s=250)
    return report(late, on_time, detected_at={"inc-1": T0 - timedelta(seconds=4.25)})


def test_json_round_trips_to_an_equal_report() -> None:
    rep = two_arrivals()

    assert DailyReport.model_validate_json(rep.to_json()) == rep
    parsed = json.loads(rep.to_json())
    assert parsed["day"] == "2025-05-01" and parsed["start"] == "2025-05-01T00:00:00+08:00"


def test_csv_parses_back_to_the_report_rows() -> None:
    rep = two_arrivals()

    reader = csv.DictReader(io.StringIO(rep.to_csv()))
    rows = list(reader)

    assert reader.fieldnames == ["metric", "group_by", "group", "count", "p50_s", "p90_s", "rate"]
    by_key = {(r["metric"], r["group_by"], r["group"]): r for r in rows}
    assert len(by_key) == len(rows)  # one row per metric x group
    assert by_key[("new", "all", "all")]["count"] == "2"
    assert by_key[("new", "colour", "red")]["p50_s"] == ""
    assert by_key[("on_time_arrival", "ring", "3")]["rate"] == "0.5"
    assert by_key[("time_to_detect", "all", "all")]["p50_s"] == "4.25"
    for stage in rep.stages:
        row = by_key[(f"time_to_{stage.stage.value}", stage.group_by.value, stage.group)]
        assert int(row["count"]) == stage.count
        assert (float(row["p50_s"]), float(row["p90_s"])) == (stage.p50_s, stage.p90_s)
    arrive = by_key[("time_to_arrive", "all", "all")]
    assert (arrive["p50_s"], arrive["p90_s"]) == ("130.0", "180.0")


def test_csv_defuses_formula_injection_in_group_names() -> None:
    hostile = make_incident(
        "inc-1", grid='=HYPERLINK("http://evil/")', kind="+SUM(A1)", alert_id="al-1"
    )
    run = responded(hostile, responder_id="@evil")
    sources = {"al-1": ("-2+3", "=cmd|' /C calc'!A0")}
    run_false = claimed(make_incident("inc-2", alert_id="al-1"), 10)
    run_false(MarkFalse(actor=OPERATOR, at=after(run_false.incident, 20)))

    rep = report(run, run_false, alert_sources=sources)
    cells = [row for row in csv.reader(io.StringIO(rep.to_csv()))]

    text = [cell for row in cells for cell in row[:3]]
    assert not [cell for cell in text if cell[:1] in ("=", "+", "-", "@")]
    assert {'\'=HYPERLINK("http://evil/")', "'+SUM(A1)", "'@evil", "'-2+3"} <= set(text)
    assert "'=cmd|' /C calc'!A0" in text
    assert '"grid_cell"' in rep.to_json() and "+SUM(A1)" in rep.to_json()  # JSON keeps it as is
