"""Crowd colours: by count (`levels`) and, where the zone's area is known, by density."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from detection.rules import crowd
from hub.contracts import CrowdRuleSpec, DensityLevelStep, Level, LevelStep

YEL, ORA, RED = Level.YELLOW, Level.ORANGE, Level.RED


def spec(**overrides: Any) -> CrowdRuleSpec:
    values: dict[str, Any] = {
        "id": "r", "zone_id": "z", "min_people": 5, "hold_s": 2.0, "clear_ratio": 0.6,
        "clear_s": 2.0, "report_interval_s": 100.0, "cooldown_s": 5.0,
        "levels": [LevelStep(min_people=1, level=YEL), LevelStep(min_people=30, level=RED)],
    }  # fmt: skip
    values.update(overrides)
    return CrowdRuleSpec(**values)


def run(rule: CrowdRuleSpec, counts: list[int], area_m2: float | None) -> list[tuple[Any, ...]]:
    """One sample per second; events as (type, at_s, started_s, count, level)."""
    state = crowd.CrowdState()
    events = []
    for at_s, count in enumerate(counts):
        state, event = crowd.step(rule, state, at_s, count, area_m2)
        if event is not None:
            events.append((event.type, event.at_s, event.started_s, event.count, event.level))
    return events


def test_the_defaults_are_the_references_density_colours() -> None:
    assert spec().density_levels == [
        DensityLevelStep(min_density_per_m2=2.0, level=ORA),
        DensityLevelStep(min_density_per_m2=4.0, level=RED),
    ]


@pytest.mark.parametrize(
    ("count", "density", "level"),
    [
        (10, None, YEL),  # area unknown: by count only
        (10, 1.99, YEL),
        (10, 2.0, ORA),  # crowded (6.2: orange at 2 p/m²)
        (10, 3.99, ORA),
        (10, 4.0, RED),  # dangerous (6.2: red at 4 p/m²)
        (30, 0.5, RED),  # the count's colour is the more severe: it wins
        (30, None, RED),
        (0, 5.0, RED),
    ],
)
def test_level_is_the_more_severe_of_count_and_density(
    count: int, density: float | None, level: Level
) -> None:
    assert crowd.level_for(spec(), count, density) == level


def test_density_steps_may_be_configured_or_switched_off() -> None:
    custom = spec(density_levels=[DensityLevelStep(min_density_per_m2=1.0, level=RED)])
    assert crowd.level_for(custom, 10, 1.0) == RED
    assert crowd.level_for(custom, 10, 0.9) == YEL
    assert crowd.level_for(spec(density_levels=[]), 10, 9.0) == YEL
    # A density step less severe than the count's never lowers it.
    blue = spec(density_levels=[DensityLevelStep(min_density_per_m2=0.1, level=Level.BLUE)])
    assert crowd.level_for(blue, 10, 1.0) == YEL


@pytest.mark.parametrize(
    ("counts", "area_m2", "expected"),
    [
        # 10 m²: 6 people are 0.6 p/m² (yellow); 25 are 2.5 (orange: re-reported at once); 45
        # are 4.5 (red); fewer again never lower the colour.
        ([6, 6, 6, 25, 25, 45, 20], 10.0,
         [("started", 2, 0, 6, YEL), ("updated", 3, 0, 25, ORA), ("updated", 5, 0, 45, RED)]),
        # Dense from the start: the first report is already orange.
        ([25, 25, 25], 10.0, [("started", 2, 0, 25, ORA)]),
        # Without an area the same counts stay yellow until the count's own red step (30).
        ([6, 6, 6, 25, 25, 45, 20], None,
         [("started", 2, 0, 6, YEL), ("updated", 5, 0, 45, RED)]),
    ],
)  # fmt: skip
def test_density_raises_the_colour_of_an_alert(
    counts: list[int], area_m2: float | None, expected: list[tuple[Any, ...]]
) -> None:
    assert run(spec(), counts, area_m2) == expected


@given(
    st.lists(st.integers(min_value=0, max_value=60), max_size=60),
    st.floats(min_value=1.0, max_value=40.0),
)
def test_density_colours_only_raise_levels(counts: list[int], area_m2: float) -> None:
    """Density colours never change when alerts start or end, only make them more severe
    (re-reported at once when raised)."""
    plain = run(spec(density_levels=[]), counts, area_m2)
    dense = run(spec(), counts, area_m2)
    edges = [e for e in dense if e[0] != "updated"]
    assert [e[:4] for e in edges] == [e[:4] for e in plain if e[0] != "updated"]
    plain_at = {e[1]: e for e in plain}
    for event in dense:
        before = plain_at.get(event[1])
        if before is not None:
            assert not crowd.is_more_severe(before[4], event[4])
        else:
            assert event[0] == "updated"  # an extra report: the colour was raised
