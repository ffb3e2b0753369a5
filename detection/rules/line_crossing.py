"""Line crossing (tripwire) with direction and per-direction counts (pure).

A track crosses when the segment between two of its consecutive anchors (relative image
coordinates) intersects the line with its ends on opposite sides. "in" is from the left of
a->b to its right as seen on the image (`LineSpec`). A track crossing again within
`debounce_s` is not counted: a person standing on the line and swaying is one crossing at most.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from detection.rules.events import Direction, RuleEvent
from hub.contracts import LineCrossingRuleSpec, LineSpec

Point = tuple[float, float]

# A track unseen this long is forgotten: its next anchor starts a new path.
FORGET_S = 5.0


@dataclass(frozen=True)
class Seen:
    at_s: float
    anchor: Point  # the last anchor off the line (an anchor on it decides nothing)


@dataclass(frozen=True)
class LineState:
    seen: Mapping[int, Seen] = field(default_factory=dict)
    last_crossed_s: Mapping[int, float] = field(default_factory=dict)
    in_total: int = 0
    out_total: int = 0
    last_alert_s: float | None = None


def side(line: LineSpec, point: Point) -> float:
    """> 0 right of a->b on the image (y down), < 0 left, 0 on the line's extension."""
    (ax, ay), (bx, by) = line.a, line.b
    return (bx - ax) * (point[1] - ay) - (by - ay) * (point[0] - ax)


def crossing(line: LineSpec, start: Point, end: Point) -> Direction | None:
    """The direction `start` -> `end` crosses the segment, or None."""
    before, after = side(line, start), side(line, end)
    if before == 0 or after == 0 or (before > 0) == (after > 0):
        return None
    # The path crosses the line's extension; it must cross between a and b.
    a_side = _orientation(start, end, line.a)
    b_side = _orientation(start, end, line.b)
    if a_side != 0 and b_side != 0 and (a_side > 0) == (b_side > 0):
        return None
    return "in" if before < 0 else "out"


def _orientation(start: Point, end: Point, point: Point) -> float:
    return (end[0] - start[0]) * (point[1] - start[1]) - (end[1] - start[1]) * (point[0] - start[0])


def step(
    rule: LineCrossingRuleSpec, line: LineSpec, state: LineState, at_s: float,
    anchors: Mapping[int, Point],
) -> tuple[LineState, list[RuleEvent]]:  # fmt: skip
    """`anchors`: this sample's tracked anchors (track id -> relative point)."""
    seen = {t: s for t, s in state.seen.items() if at_s - s.at_s <= FORGET_S}
    keep_s = max(FORGET_S, rule.debounce_s)
    crossed = {t: c for t, c in state.last_crossed_s.items() if at_s - c <= keep_s}
    totals = [state.in_total, state.out_total]
    last_alert_s = state.last_alert_s
    events: list[RuleEvent] = []
    for track, anchor in sorted(anchors.items()):
        previous = seen.get(track)
        if side(line, anchor) != 0:
            seen[track] = Seen(at_s, anchor)
        elif previous is not None:
            seen[track] = Seen(at_s, previous.anchor)
        if previous is None:
            continue
        direction = crossing(line, previous.anchor, anchor)
        if direction is None:
            continue
        if track in crossed and at_s - crossed[track] < rule.debounce_s:
            continue
        crossed[track] = at_s
        totals[0 if direction == "in" else 1] += 1
        if rule.direction not in (direction, "both"):
            continue
        if last_alert_s is not None and at_s - last_alert_s < rule.cooldown_s:
            continue
        last_alert_s = at_s
        events.append(
            RuleEvent(
                "crossed", at_s, at_s, count=len(anchors), peak=len(anchors), level=rule.level,
                revision=0, track_id=track, direction=direction, totals=(totals[0], totals[1]),
            )
        )
    return LineState(seen, crossed, totals[0], totals[1], last_alert_s), events
