"""Line crossing: direction, per-direction counts, debounce and the segment's ends."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from detection.rules import line_crossing
from detection.rules.events import RuleEvent
from hub.contracts import LineCrossingRuleSpec, LineSpec

# Drawn left to right across the middle: "in" is downwards on the image.
LINE = LineSpec(id="gate", a=(0.2, 0.5), b=(0.8, 0.5))
Path = list[tuple[float, dict[int, tuple[float, float]]]]


def run(rule: LineCrossingRuleSpec, path: Path) -> tuple[line_crossing.LineState, list[RuleEvent]]:
    state = line_crossing.LineState()
    events: list[RuleEvent] = []
    for at_s, anchors in path:
        state, new = line_crossing.step(rule, LINE, state, at_s, anchors)
        events.extend(new)
    return state, events


def walk(track: int, ys: list[float], x: float = 0.5, start_s: float = 0.0) -> Path:
    return [(start_s + i * 0.2, {track: (x, y)}) for i, y in enumerate(ys)]


@pytest.mark.parametrize(
    ("name", "direction", "path", "alerts", "totals"),
    [
        ("down is in", "in", walk(1, [0.3, 0.45, 0.55, 0.7]), ["in"], (1, 0)),
        ("up is out: counted, no alert", "in", walk(1, [0.7, 0.55, 0.45, 0.3]), [], (0, 1)),
        ("both directions alert", "both", walk(1, [0.7, 0.3]), ["out"], (0, 1)),
        ("out rule ignores in", "out", walk(1, [0.3, 0.7]), [], (1, 0)),
        ("approaching and turning back", "both", walk(1, [0.3, 0.45, 0.49, 0.4]), [], (0, 0)),
        ("passing beside the segment", "both", walk(1, [0.3, 0.7], x=0.9), [], (0, 0)),
        (
            "stopping on the line then going on counts once",
            "in",
            walk(1, [0.4, 0.5, 0.5, 0.6]),
            ["in"],
            (1, 0),
        ),
        (
            "swaying across within debounce_s counts once",
            "both",
            walk(1, [0.45, 0.55, 0.45, 0.55]),
            ["in"],
            (1, 0),
        ),
        (
            "two people crossing opposite ways",
            "both",
            [(0.0, {1: (0.4, 0.3), 2: (0.6, 0.7)}), (0.2, {1: (0.4, 0.7), 2: (0.6, 0.3)})],
            ["in", "out"],
            (1, 1),
        ),
    ],
)
def test_line_crossing_table(
    name: str, direction: str, path: Path, alerts: list[str], totals: tuple[int, int]
) -> None:
    fields = {"id": "r", "line_id": "gate", "direction": direction}
    rule = LineCrossingRuleSpec.model_validate(fields)
    state, events = run(rule, path)
    assert [event.direction for event in events] == alerts, name
    assert (state.in_total, state.out_total) == totals, name
    assert all(event.type == "crossed" and event.revision == 0 for event in events)


def test_crossing_again_after_debounce_counts_again() -> None:
    rule = LineCrossingRuleSpec(id="r", line_id="gate", direction="both", debounce_s=1.0)
    path = walk(1, [0.4, 0.6]) + walk(1, [0.4], start_s=2.0)
    _state, events = run(rule, path)
    assert [e.direction for e in events] == ["in", "out"]
    assert events[-1].totals == (1, 1)


def test_cooldown_limits_alerts_not_counts() -> None:
    rule = LineCrossingRuleSpec(id="r", line_id="gate", direction="in", cooldown_s=10)
    path = [(0.0, {1: (0.4, 0.3), 2: (0.6, 0.3)}), (0.2, {1: (0.4, 0.7), 2: (0.6, 0.7)})]
    state, events = run(rule, path)
    assert [e.track_id for e in events] == [1]
    assert state.in_total == 2


def test_a_track_unseen_for_long_starts_a_new_path() -> None:
    rule = LineCrossingRuleSpec(id="r", line_id="gate", direction="both")
    path = walk(1, [0.3]) + walk(1, [0.7], start_s=line_crossing.FORGET_S + 1)
    _, events = run(rule, path)
    assert events == []


@given(
    st.floats(0.21, 0.79), st.floats(0.0, 0.49), st.floats(0.51, 1.0), st.booleans()
)
def test_any_straight_crossing_between_the_ends_is_seen(
    x: float, above: float, below: float, downwards: bool
) -> None:
    start, end = ((x, above), (x, below)) if downwards else ((x, below), (x, above))
    assert line_crossing.crossing(LINE, start, end) == ("in" if downwards else "out")
