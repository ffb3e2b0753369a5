"""Crowd-gathering rule tables: (time, count) samples in, events out."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from detection.rules import crowd
from hub.contracts import CrowdRuleSpec, Level, LevelStep

YEL, ORA, RED = Level.YELLOW, Level.ORANGE, Level.RED


def spec(**overrides: Any) -> CrowdRuleSpec:
    values: dict[str, Any] = {
        "id": "r",
        "zone_id": "z",
        "min_people": 5,
        "hold_s": 3.0,
        "miss_tolerance_s": 1.0,
        "clear_ratio": 0.6,  # clears below 3 people
        "clear_s": 2.0,
        "report_interval_s": 10.0,
        "cooldown_s": 5.0,
        "levels": [LevelStep(min_people=1, level=YEL), LevelStep(min_people=8, level=ORA)],
    }
    values.update(overrides)
    return CrowdRuleSpec(**values)


def run(rule: CrowdRuleSpec, counts: list[int], start_s: float = 0.0) -> list[tuple[Any, ...]]:
    """One sample per second; events as (type, at_s, started_s, count, peak, level, revision)."""
    state = crowd.CrowdState()
    events = []
    for index, count in enumerate(counts):
        state, event = crowd.step(rule, state, start_s + index, count)
        if event is not None:
            events.append(
                (event.type, event.at_s, event.started_s, event.count, event.peak, event.level,
                 event.revision)
            )
    return events


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        # Never reaches min_people.
        ([4, 4, 4, 4, 4, 4], []),
        # Reaches it for less than hold_s.
        ([5, 5, 5, 0, 0, 0], []),
        # Holds 3 s: raised at t=3, started at t=0.
        ([5, 5, 6, 5, 5], [("started", 3, 0, 5, 6, YEL, 0)]),
        # A one-sample miss is tolerated (miss_tolerance_s=1) ...
        ([5, 4, 5, 5], [("started", 3, 0, 5, 5, YEL, 0)]),
        # ... a two-sample miss restarts the hold.
        ([5, 4, 4, 5, 5, 5, 5], [("started", 6, 3, 5, 5, YEL, 0)]),
        # Hysteresis: 3 and 4 people keep it active (>= 0.6 * 5), below 3 for 2 s ends it.
        (
            [5, 5, 5, 5, 4, 3, 2, 2, 2],
            [("started", 3, 0, 5, 5, YEL, 0), ("ended", 7, 0, 2, 5, YEL, 1)],
        ),
        # A brief dip below the clear threshold does not end it.
        ([5, 5, 5, 5, 2, 5, 2, 5], [("started", 3, 0, 5, 5, YEL, 0)]),
        # Colour rises with size at once (an update), and is never lowered automatically.
        (
            [5, 5, 5, 5, 9, 5, 5],
            [("started", 3, 0, 5, 5, YEL, 0), ("updated", 4, 0, 9, 9, ORA, 1)],
        ),
    ],
)
def test_crowd_rule(counts: list[int], expected: list[tuple[Any, ...]]) -> None:
    assert run(spec(), counts) == expected


def test_re_reports_every_interval_with_the_current_count() -> None:
    events = run(spec(report_interval_s=4.0), [5, 5, 5, 5, 6, 6, 6, 7, 7, 7, 7, 6])
    assert [(e[0], e[1], e[3], e[6]) for e in events] == [
        ("started", 3, 5, 0),
        ("updated", 7, 7, 1),
        ("updated", 11, 6, 2),
    ]


def test_cooldown_blocks_a_new_alert_then_allows_it() -> None:
    counts = [5, 5, 5, 5, 0, 0, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5]
    events = run(spec(cooldown_s=5.0), counts)
    # Last above the clear threshold at t=3, so ended at t=5 -> cooldown until 10 (the samples
    # at 6..9 are ignored) -> holding from 10 -> raised at 13.
    assert [(e[0], e[1], e[2]) for e in events] == [
        ("started", 3, 0),
        ("ended", 5, 0),
        ("started", 13, 10),
    ]


def test_zero_hold_raises_on_the_first_sample() -> None:
    assert run(spec(hold_s=0.0), [5]) == [("started", 0, 0, 5, 5, YEL, 0)]


def test_end_of_input_ends_an_active_alert_only() -> None:
    rule = spec()
    state = crowd.CrowdState()
    for t in range(4):
        state, _ = crowd.step(rule, state, t, 6)
    state, event = crowd.end(rule, state, 4.5)
    assert event is not None and (event.type, event.at_s, event.revision) == ("ended", 4.5, 1)
    assert crowd.end(rule, crowd.CrowdState(), 1.0)[1] is None


@pytest.mark.parametrize(
    ("count", "level"), [(0, YEL), (1, YEL), (7, YEL), (8, ORA), (20, RED), (100, RED)]
)
def test_level_for_count(count: int, level: Level) -> None:
    rule = spec(
        levels=[
            LevelStep(min_people=20, level=RED),
            LevelStep(min_people=1, level=YEL),
            LevelStep(min_people=8, level=ORA),
        ]
    )
    assert crowd.level_for(rule, count) == level


@given(st.lists(st.integers(min_value=0, max_value=15), max_size=80))
def test_events_form_well_ordered_episodes(counts: list[int]) -> None:
    """Any sample sequence: each alert starts once, revisions count up, ends at most once."""
    events = run(spec(), counts)
    open_started: float | None = None
    revision = -1
    for kind, at_s, started_s, *_, rev in events:
        if kind == "started":
            assert open_started is None and rev == 0
            open_started, revision = started_s, 0
        else:
            assert open_started == started_s and rev == revision + 1
            revision = rev
            if kind == "ended":
                open_started = None
        assert started_s <= at_s
