"""The patrol cycle, shifts, routes and coverage as tables (hub/patrol_plan.py, pure).

`CYCLE` is also run through web/static/patrol-cycle.js by tests/web/test_browser_patrol.py, so
the page and the hub are held to the same answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.contracts.schedule import Schedule, ScheduleWindow
from hub.patrol_models import PlanStep, Stop
from hub.patrol_plan import (
    CameraInfo,
    Viewed,
    anchor_for,
    coverage,
    on_shift,
    position,
    resolve_route,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ROUTE = [Stop(camera_id="a", name="A", dwell_s=10), Stop(camera_id="b", name="B", dwell_s=5),
         Stop(camera_id="c", name="C", dwell_s=15)]  # fmt: skip  (a lap is 30 s)

# (milliseconds after the anchor, index, lap, step start ms, next switch ms)
CYCLE = [
    (-5000, 0, 0, 0, 10_000),  # before the anchor: the first stop waits for it
    (0, 0, 0, 0, 10_000),
    (9_999, 0, 0, 0, 10_000),
    (10_000, 1, 0, 10_000, 15_000),  # a switch belongs to the next stop
    (14_999, 1, 0, 10_000, 15_000),
    (15_000, 2, 0, 15_000, 30_000),
    (29_999, 2, 0, 15_000, 30_000),
    (30_000, 0, 1, 30_000, 40_000),  # the second lap
    (71_500, 1, 2, 70_000, 75_000),
    (3_600_000 + 16_000, 2, 120, 3_615_000, 3_630_000),  # an hour on: no drift
]


def ms(value: int) -> timedelta:
    return timedelta(milliseconds=value)


@pytest.mark.parametrize(("after_ms", "index", "lap", "start_ms", "switch_ms"), CYCLE)
def test_position_follows_the_dwell_times(
    after_ms: int, index: int, lap: int, start_ms: int, switch_ms: int
) -> None:
    found = position(ROUTE, T0, T0 + ms(after_ms))
    assert found is not None
    assert (found.index, found.camera_id, found.lap) == (index, ROUTE[index].camera_id, lap)
    assert (found.step_started_at, found.next_switch_at) == (T0 + ms(start_ms), T0 + ms(switch_ms))


def test_empty_route_has_no_position() -> None:
    assert position([], T0, T0) is None


@pytest.mark.parametrize(("index", "shown"), [(0, "a"), (1, "b"), (2, "c"), (3, "a"), (-1, "c")])
def test_anchor_for_puts_the_chosen_stop_on_screen_from_now(index: int, shown: str) -> None:
    now = T0 + timedelta(minutes=7, seconds=3)
    anchor = anchor_for(ROUTE, index, now)
    found = position(ROUTE, anchor, now)
    assert found is not None and found.camera_id == shown
    assert found.step_started_at == now  # a full dwell ahead of it


CAMERAS = [
    CameraInfo("cam-3", "Gate", ("plaza",), True),
    CameraInfo("cam-1", "", ("plaza", "metro"), True),
    CameraInfo("cam-2", "Off", ("plaza",), False),  # disabled: never on a route
]


def test_route_expands_tags_in_id_order_and_keeps_step_dwell() -> None:
    steps = [PlanStep(camera_id="cam-3", dwell_s=30), PlanStep(tag="plaza"),
             PlanStep(camera_id="gone"), PlanStep(tag="metro", dwell_s=2)]  # fmt: skip
    route = resolve_route(steps, 8, CAMERAS)
    assert [(s.camera_id, s.name, s.dwell_s) for s in route] == [
        ("cam-3", "Gate", 30), ("cam-1", "cam-1", 8), ("cam-3", "Gate", 8), ("cam-1", "cam-1", 2),
    ]  # fmt: skip


def test_step_names_a_camera_or_a_tag() -> None:
    with pytest.raises(ValueError, match="either camera_id or tag"):
        PlanStep(camera_id="a", tag="b")
    with pytest.raises(ValueError, match="either camera_id or tag"):
        PlanStep()


NIGHT = Schedule(timezone="Asia/Shanghai",
                 windows=[ScheduleWindow(days=[1], start="22:00", end="06:00")])  # fmt: skip


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ("2026-03-02T21:59", False),  # Monday evening, before the shift
        ("2026-03-02T22:00", True),
        ("2026-03-03T05:59", True),  # Tuesday morning: Monday's night shift still runs
        ("2026-03-03T06:00", False),
        ("2026-03-03T22:30", False),  # Tuesday night: no shift that day
        ("2026-03-02T05:00", False),  # Monday morning: Sunday had none
    ],
)
def test_shift_windows_run_past_midnight(local: str, expected: bool) -> None:
    at = datetime.fromisoformat(local + "+08:00")
    assert on_shift(NIGHT, at) is expected
    assert on_shift(None, at) is True


def test_day_shift_and_whole_day_windows() -> None:
    day = Schedule(windows=[ScheduleWindow(start="08:00", end="20:00")])
    assert on_shift(day, datetime.fromisoformat("2026-03-04T08:00+08:00"))
    assert not on_shift(day, datetime.fromisoformat("2026-03-04T20:00+08:00"))
    assert on_shift(day, datetime.fromisoformat("2026-03-04T01:00Z"))  # 09:00 in Shanghai
    whole = Schedule(windows=[ScheduleWindow(days=[6, 7])])
    assert on_shift(whole, datetime.fromisoformat("2026-03-07T03:00+08:00"))  # Saturday
    assert not on_shift(whole, datetime.fromisoformat("2026-03-06T23:59+08:00"))


def test_coverage_counts_distinct_route_cameras() -> None:
    views = [Viewed("a", 10), Viewed("a", 4), Viewed("c", 0.0), Viewed("zz", 50), Viewed("b", 2)]
    figure = coverage([*ROUTE, ROUTE[0]], views)
    assert (figure.planned, figure.viewed, figure.ratio) == (3, 2, 0.6667)
    assert figure.missed == ["c"]  # a zero-second view saw nothing
    assert figure.seconds_viewed == 16  # the camera off the route counts for nothing
    assert coverage([], views).ratio == 0.0
