"""Crowd growth by share: `growth_ratio` (the reference's "count growth >= 50 % in 60 s")."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from detection.rules import crowd
from hub.contracts import CrowdRuleSpec


def spec(**overrides: Any) -> CrowdRuleSpec:
    values: dict[str, Any] = {
        "id": "r", "zone_id": "z", "min_people": 5, "hold_s": 30.0, "miss_tolerance_s": 1.0,
        "clear_ratio": 0.6, "clear_s": 2.0, "report_interval_s": 100.0, "cooldown_s": 5.0,
        "growth_window_s": 5.0,
    }  # fmt: skip
    values.update(overrides)
    return CrowdRuleSpec(**values)


def run(rule: CrowdRuleSpec, counts: list[int]) -> list[tuple[Any, ...]]:
    """One sample per second; events as (type, at_s, started_s, count, trigger)."""
    state = crowd.CrowdState()
    events = []
    for at_s, count in enumerate(counts):
        state, event = crowd.step(rule, state, at_s, count)
        if event is not None:
            events.append((event.type, event.at_s, event.started_s, event.count, event.trigger))
    return events


HALF = {"growth_ratio": 0.5}


@pytest.mark.parametrize(
    ("overrides", "counts", "expected"),
    [
        # 6 -> 9 within 5 s is +50 %: raised at once (the hold started at 0).
        (HALF, [6, 6, 9], [("started", 2, 0, 9, "growth")]),
        # 6 -> 8 is +33 %: waits for the hold.
        (HALF, [6, 6, 8, 8, 8], []),
        # Large crowd: 40 -> 60 is +50 %, although the same +20 from 100 would not be.
        (HALF, [40, 50, 60], [("started", 2, 0, 60, "growth")]),
        (HALF, [100, 110, 120], []),
        # From an empty zone any rise is a growth by share (once min_people is reached).
        (HALF, [0, 0, 5], [("started", 2, 2, 5, "growth")]),
        # The rise is measured from the smallest count in the window: 4 (at 1, a miss the hold
        # tolerates) makes 6 at 6 a rise of 50 %; the alert starts with the hold, at 0.
        (HALF, [8, 4, 5, 5, 5, 5, 6], [("started", 6, 0, 6, "growth")]),
        # ... but a 4 at 0 has left the 5 s window by 6: 5 -> 6 is only +20 %.
        (HALF, [4, 5, 5, 5, 5, 5, 6], []),
        # Spread over more than the window: never +50 % within 5 s, no alert before the hold.
        (HALF, [6, 6, 6, 7, 7, 7, 8, 8, 8, 9, 9, 9], []),
        # Both set: both must hold. 6 -> 9 is +50 % but only +3 people, short of 4 ...
        ({**HALF, "growth_people": 4}, [6, 6, 9], []),
        # ... 100 -> 110 is +10 people but +10 % ...
        ({"growth_ratio": 0.5, "growth_people": 4}, [100, 110], []),
        # ... 6 -> 10 is both.
        ({**HALF, "growth_people": 4}, [6, 6, 10], [("started", 2, 0, 10, "growth")]),
        # A lower count never counts as growth, whatever the ratio.
        ({"growth_ratio": 0.01}, [9, 8, 7, 6, 5], []),
    ],
)  # fmt: skip
def test_growth_ratio(
    overrides: dict[str, Any], counts: list[int], expected: list[tuple[Any, ...]]
) -> None:
    assert run(spec(**overrides), counts) == expected


def test_growth_ratio_alone_keeps_the_history_it_needs() -> None:
    rule = spec(growth_ratio=0.5, growth_window_s=2.0)
    state = crowd.CrowdState()
    for at_s in range(6):
        state, _ = crowd.step(rule, state, float(at_s), at_s)
    assert state.history == ((3.0, 3), (4.0, 4), (5.0, 5))


@given(
    st.lists(st.integers(min_value=0, max_value=30), max_size=50),
    st.floats(min_value=0.05, max_value=3.0),
)
def test_growth_only_ever_raises_the_first_alert_earlier(counts: list[int], ratio: float) -> None:
    """Up to the plain rule's first alert both machines are in the same state unless growth
    raised it already: the growth rule alerts no later, and never without a rise that big."""
    plain = run(spec(hold_s=3.0), counts)
    grown = run(spec(hold_s=3.0, growth_ratio=ratio), counts)
    if plain:
        assert grown and grown[0][1] <= plain[0][1]
    for event in grown:
        if event[0] == "started" and event[4] == "growth":
            at_s = int(event[1])
            window = counts[max(0, at_s - 5) : at_s + 1]
            assert event[3] - min(window) >= ratio * min(window) and event[3] > min(window)


@pytest.mark.parametrize(
    ("growth_level", "counts", "expected"),
    [
        # A growth raises the alert straight to the growth colour ...
        ("red", [6, 6, 9], "red"),
        # ... unless its size already says more (never lower than the size's colour).
        ("yellow", [40, 50, 60], "red"),
        # Without growth_level, the colour is the size's.
        (None, [6, 6, 9], "blue"),
        # A hold-raised alert keeps the size's colour, growth_level or not.
        ("red", [6] * 31, "blue"),
    ],
)
def test_an_alert_raised_by_growth_takes_the_growth_colour(
    growth_level: str | None, counts: list[int], expected: str
) -> None:
    levels = [{"min_people": 1, "level": "blue"}, {"min_people": 50, "level": "red"}]
    rule = spec(**HALF, growth_level=growth_level, levels=levels)
    state, started = crowd.CrowdState(), None
    for at_s, count in enumerate(counts):
        state, event = crowd.step(rule, state, at_s, count)
        started = started or event
    assert started is not None and started.type == "started"
    assert started.level.value == expected
