"""Crowd rule options: a density gate (people per m² of zone) and a fast-growth trigger."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from detection.analyzer import CameraAnalyzer
from detection.detections import ClassMap, Detections
from detection.rules import crowd
from detection.rules.filters import RuleConfigError
from hub.contracts import CameraSpec, CrowdRuleSpec


def spec(**overrides: Any) -> CrowdRuleSpec:
    values: dict[str, Any] = {
        "id": "r", "zone_id": "z", "min_people": 5, "hold_s": 3.0, "miss_tolerance_s": 1.0,
        "clear_ratio": 0.6, "clear_s": 2.0, "report_interval_s": 100.0, "cooldown_s": 5.0,
    }  # fmt: skip
    values.update(overrides)
    return CrowdRuleSpec(**values)


def run(
    rule: CrowdRuleSpec, counts: list[int], area_m2: float | None = None
) -> list[tuple[Any, ...]]:
    """One sample per second; events as (type, at_s, started_s, count, density, trigger)."""
    state = crowd.CrowdState()
    events = []
    for at_s, count in enumerate(counts):
        state, event = crowd.step(rule, state, at_s, count, area_m2)
        if event is not None:
            events.append((event.type, event.at_s, event.started_s, event.count,
                           event.density_per_m2, event.trigger))  # fmt: skip
    return events


DENSE = {"min_density_per_m2": 2.0}  # on 4 m²: 8 people


@pytest.mark.parametrize(
    ("overrides", "area_m2", "counts", "expected"),
    [
        # Gate off, area unknown: as before, no density on the events.
        ({}, None, [5, 5, 5, 5], [("started", 3, 0, 5, None, "hold")]),
        # Gate off, area known: fires on the count alone, reports the density.
        ({}, 4.0, [5, 5, 5, 5], [("started", 3, 0, 5, 1.25, "hold")]),
        # Gate on: enough people but too sparse (7 / 4 m² = 1.75) never fires.
        (DENSE, 4.0, [7] * 12, []),
        # Gate on and dense enough: the hold starts with the first dense sample.
        (DENSE, 4.0, [7, 8, 8, 8, 8], [("started", 4, 1, 8, 2.0, "hold")]),
        # Dense on a small zone but below min_people: the count still has to be reached.
        (DENSE, 1.0, [4] * 6, []),
        # Active: clears once the density stays below clear_ratio * 2 = 1.2 p/m² for clear_s,
        # although 4 people are still above the count's clear threshold (3).
        (DENSE, 4.0, [8, 8, 8, 8, 4, 4, 4],
         [("started", 3, 0, 8, 2.0, "hold"), ("ended", 5, 0, 4, 1.0, "hold")]),
        # The same samples without the gate stay active.
        ({}, 4.0, [8, 8, 8, 8, 4, 4, 4], [("started", 3, 0, 8, 2.0, "hold")]),
    ],
)  # fmt: skip
def test_density_gate(
    overrides: dict[str, Any], area_m2: float | None, counts: list[int],
    expected: list[tuple[Any, ...]],
) -> None:  # fmt: skip
    assert run(spec(**overrides), counts, area_m2) == expected


def test_a_density_rule_without_an_area_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="needs the zone's area"):
        crowd.step(spec(**DENSE), crowd.CrowdState(), 0.0, 10)


GROW = {"hold_s": 30.0, "growth_people": 4, "growth_window_s": 5.0}


@pytest.mark.parametrize(
    ("overrides", "counts", "expected"),
    [
        # From 0 to 6 in 3 s: raised at once, long before hold_s.
        (GROW, [0, 0, 2, 6], [("started", 3, 3, 6, None, "growth")]),
        # Holding from 0 with 5 people; 9 two seconds later: raised, the alert starts at 0.
        (GROW, [5, 5, 9], [("started", 2, 0, 9, None, "growth")]),
        # Fast growth below min_people does not fire.
        (GROW, [0, 0, 4, 4, 4], []),
        # One more person every 2 s: never 4 within 5 s, so only the hold raises it (at 4 + 6).
        ({**GROW, "hold_s": 6.0}, [3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8],
         [("started", 10, 4, 8, None, "hold")]),
        # The same slow growth with hold_s 30 raises nothing within 12 s.
        (GROW, [3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8], []),
        # A rise of 4 spread over 6 s is outside a 5 s window.
        (GROW, [2, 3, 3, 4, 4, 5, 6, 6], []),
        # The first sample has nothing to grow from: 20 people at once wait for hold_s.
        ({**GROW, "hold_s": 2.0}, [20, 20, 20], [("started", 2, 0, 20, None, "hold")]),
        # Re-reports and the end keep the trigger that raised the alert.
        ({**GROW, "report_interval_s": 2.0}, [0, 6, 6, 6, 0, 0, 0],
         [("started", 1, 1, 6, None, "growth"), ("updated", 3, 1, 6, None, "growth"),
          ("ended", 5, 1, 0, None, "growth")]),
        # Without growth_people the same samples wait for hold_s as before.
        ({"hold_s": 30.0}, [0, 0, 2, 6, 6], []),
    ],
)  # fmt: skip
def test_growth_trigger(
    overrides: dict[str, Any], counts: list[int], expected: list[tuple[Any, ...]]
) -> None:
    assert run(spec(**overrides), counts) == expected


def test_growth_never_overrides_the_cooldown() -> None:
    # Ends at 3 (below 3 people since 1, clear_s 2), cooldown until 8; the jump at 6 is ignored,
    # and at 8 the window (3..8: 0, 0, 0, 6, 6, 6) still shows the rise: raised at once.
    counts = [0, 6, 0, 0, 0, 0, 6, 6, 6]
    events = run(spec(**{**GROW, "cooldown_s": 5.0}), counts)
    assert [(e[0], e[1], e[5]) for e in events] == [
        ("started", 1, "growth"), ("ended", 3, "growth"), ("started", 8, "growth"),
    ]  # fmt: skip


def test_growth_needs_the_density_too() -> None:
    rule = spec(**GROW, **DENSE)
    assert run(rule, [0, 0, 7, 7], area_m2=4.0) == []  # grew by 7, but 1.75 p/m²
    assert run(rule, [0, 0, 8], area_m2=4.0) == [("started", 2, 2, 8, 2.0, "growth")]


def test_history_is_trimmed_to_the_window_and_kept_only_for_growth_rules() -> None:
    rule = spec(growth_people=3, growth_window_s=3.0)
    state = crowd.CrowdState()
    for at_s in range(11):
        state, _ = crowd.step(rule, state, float(at_s), at_s % 4)
    assert state.history == ((7.0, 3), (8.0, 0), (9.0, 1), (10.0, 2))
    plain = crowd.CrowdState()
    for at_s in range(11):
        plain, _ = crowd.step(spec(), plain, float(at_s), 3)
    assert plain.history == ()


@given(st.lists(st.integers(min_value=0, max_value=15), max_size=60))
def test_a_known_area_alone_changes_no_event(counts: list[int]) -> None:
    """Without the new options (density colours off) the rule behaves as before; an area only
    adds densities. With density colours, see tests/detection/test_crowd_levels.py."""
    plain = run(spec(density_levels=[]), counts)
    with_area = run(spec(density_levels=[]), counts, area_m2=2.5)
    assert [e[:4] for e in with_area] == [e[:4] for e in plain]
    assert all(e[4] is None and e[5] == "hold" for e in plain)


# Through the analyzer: the bottom half of a 200 x 100 frame is calibrated as 20 m x 10 m.
WIDTH, HEIGHT = 200, 100
CLASSES = ClassMap({0: "person"}, frozenset({0}), frozenset())
BOTTOM_HALF = [[0.0, 0.5], [1.0, 0.5], [1.0, 1.0], [0.0, 1.0]]
CALIBRATION = {"image": BOTTOM_HALF, "ground_m": [[0, 10], [20, 10], [20, 0], [0, 0]]}


def camera(
    rule: dict[str, Any], zone: list[list[float]], calibration: dict[str, Any] = CALIBRATION
) -> CameraSpec:
    return CameraSpec.model_validate(
        {
            "id": "cam", "url": "x.mp4", "location": {"lat": 30.0, "lon": 104.0},
            "zones": [{"id": "z", "polygon": zone}], "rules": [rule],
            "ground_calibration": calibration,
        }
    )  # fmt: skip


def people(count: int) -> Detections:
    rows = [[10 + 20 * i, 50, 20 + 20 * i, 90, 0.9, 0] for i in range(count)]  # feet at y = 90
    array = np.array(rows, dtype=np.float32).reshape(count, 6)
    return Detections(array[:, :4], array[:, 4], array[:, 5].astype(np.int64))


def test_the_analyzer_measures_the_zone_on_the_ground() -> None:
    rule = {"id": "r", "zone_id": "z", "min_people": 1, "hold_s": 0, "min_density_per_m2": 0.014}
    analyzer = CameraAnalyzer(camera(rule, BOTTOM_HALF), CLASSES)  # 200 m²
    assert analyzer.observe(0, WIDTH, HEIGHT, people(2)) == []  # 0.01 p/m²
    [outcome] = analyzer.observe(1, WIDTH, HEIGHT, people(3))
    assert outcome.event.density_per_m2 == pytest.approx(3 / 200)


def test_a_density_rule_on_a_zone_past_the_horizon_is_refused() -> None:
    # A perspective calibration whose horizon crosses the frame at y = 0.15.
    tilted = {"image": [[0.2, 0.9], [0.8, 0.9], [0.6, 0.4], [0.4, 0.4]],
              "ground_m": [[0, 0], [10, 0], [10, 20], [0, 20]]}  # fmt: skip
    whole_frame = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
    rule = {"id": "r", "zone_id": "z", "min_density_per_m2": 1.0}
    # Refused where it is written (the hub answers 422), vertices 1 and 2 being in the sky ...
    with pytest.raises(ValidationError, match=r"zone 'z' \(vertices 1, 2\) reaches past the"):
        camera(rule, whole_frame, tilted)
    # ... and by the worker, should such a spec reach it anyway.
    unchecked = camera({"id": "r", "zone_id": "z"}, whole_frame, tilted)
    unchecked = unchecked.model_copy(
        update={"rules": [CrowdRuleSpec.model_validate(rule)]}  # model_copy skips validation
    )
    with pytest.raises(RuleConfigError, match="zone 'z' has no known ground area"):
        CameraAnalyzer(unchecked, CLASSES)
    # Without a density threshold the rule runs; its events just carry no density.
    CameraAnalyzer(camera({"id": "r", "zone_id": "z"}, whole_frame, tilted), CLASSES)
    # Below the horizon (y = 0.15) the same density rule is accepted and measured.
    below = [[0.0, 0.3], [1.0, 0.3], [1.0, 1.0], [0.0, 1.0]]
    CameraAnalyzer(camera(rule, below, tilted), CLASSES)
