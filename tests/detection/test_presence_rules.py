"""Per-track presence (loitering, intrusion, falls), driven by tables of samples."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from detection.rules import presence
from detection.rules.events import RuleEvent
from hub.contracts import FallRuleSpec, IntrusionRuleSpec, Level, LoiteringRuleSpec


@dataclass(frozen=True)
class Sample:
    at_s: float
    meeting: frozenset[int]
    count: int = -1  # objects in the zone; -1: as many as meeting


def run(params: presence.PresenceParams, samples: list[Sample]) -> list[tuple[str, float, int]]:
    """(event type, at_s, track) for every event, in order."""
    state = presence.PresenceState()
    seen: list[RuleEvent] = []
    for sample in samples:
        count = len(sample.meeting) if sample.count < 0 else sample.count
        state, events = presence.step(params, state, sample.at_s, sample.meeting, count)
        seen.extend(events)
    return [(event.type, event.at_s, event.track_id or 0) for event in seen]


def every(step_s: float, until_s: float, *tracks: int, start_s: float = 0.0) -> list[Sample]:
    count = round((until_s - start_s) / step_s) + 1
    return [Sample(start_s + i * step_s, frozenset(tracks)) for i in range(count)]


LOITER = presence.PresenceParams.of(
    LoiteringRuleSpec(id="l", zone_id="z", dwell_s=10, miss_tolerance_s=3, cooldown_s=30,
                      report_interval_s=20)
)  # fmt: skip


@pytest.mark.parametrize(
    ("name", "samples", "expected"),
    [
        ("shorter than dwell: nothing", every(1, 9, 7), []),
        ("dwell reached: one alert", every(1, 10, 7), [("started", 10, 7)]),
        (
            "gap within tolerance keeps the time running",
            every(1, 4, 7) + every(1, 10, 7, start_s=7),
            [("started", 10, 7)],
        ),
        (
            "gap beyond tolerance starts over",
            every(1, 4, 7) + every(1, 8, start_s=5) + every(1, 13, 7, start_s=9),
            [],
        ),
        (
            "no samples at all (a stall) neither confirms nor breaks the stay",
            every(1, 4, 7) + every(1, 10, 7, start_s=8),
            [("started", 10, 7)],
        ),
        (
            "two people, each their own alert",
            every(1, 10, 1, 2),
            [("started", 10, 1), ("started", 10, 2)],
        ),
        (
            "leaving ends the alert after the tolerance",
            [*every(1, 12, 7), Sample(14, frozenset()), Sample(16, frozenset())],
            [("started", 10, 7), ("ended", 16, 7)],
        ),
        (
            "still there: re-reported every report_interval_s",
            every(1, 31, 7),
            [("started", 10, 7), ("updated", 30, 7)],
        ),
        (
            "coming back within the cooldown: no new alert",
            [*every(1, 12, 7), Sample(16, frozenset()), *every(1, 40, 7, start_s=17)],
            [("started", 10, 7), ("ended", 16, 7)],
        ),
        (
            "coming back after the cooldown: a new alert",
            [*every(1, 12, 7), Sample(16, frozenset()), *every(1, 60, 7, start_s=47)],
            [("started", 10, 7), ("ended", 16, 7), ("started", 57, 7)],
        ),
    ],
)
def test_loitering_table(
    name: str, samples: list[Sample], expected: list[tuple[str, float, int]]
) -> None:
    assert run(LOITER, samples) == expected, name


def test_intrusion_needs_min_inside_s_and_is_orange_by_default() -> None:
    params = presence.PresenceParams.of(IntrusionRuleSpec(id="i", zone_id="z", min_inside_s=2))
    assert params.level is Level.ORANGE
    assert run(params, every(1, 1, 3)) == []
    assert run(params, every(1, 2, 3)) == [("started", 2, 3)]


def test_fall_needs_consecutive_frames_so_a_one_frame_mislabel_never_alerts() -> None:
    params = presence.PresenceParams.of(
        FallRuleSpec(id="f", zone_id="z", min_frames=3, lying_s=0.4)
    )
    flicker = [Sample(t / 5, frozenset({4} if t % 2 else set())) for t in range(20)]
    assert run(params, flicker) == [], "every other frame fallen: never 3 in a row"
    lying = every(0.2, 0.4, 4)
    assert run(params, lying) == [("started", 0.4, 4)]


def test_fall_with_min_frames_but_too_short_waits_for_lying_s() -> None:
    params = presence.PresenceParams.of(FallRuleSpec(id="f", zone_id="z", min_frames=2, lying_s=3))
    assert run(params, every(1, 2, 4)) == []
    assert run(params, every(1, 3, 4)) == [("started", 3, 4)]


def test_event_carries_start_peak_revision_and_track() -> None:
    state = presence.PresenceState()
    events: list[RuleEvent] = []
    for at_s, count in [(0, 1), (5, 4), (10, 2), (30, 1)]:
        state, new = presence.step(LOITER, state, at_s, frozenset({9}), count)
        events.extend(new)
    state, ended = presence.finish(LOITER, state, 31)
    first, update = events
    assert (first.type, first.started_s, first.peak, first.revision) == ("started", 0, 4, 0)
    assert (update.type, update.revision, update.level) == ("updated", 1, Level.YELLOW)
    assert [(e.type, e.revision, e.track_id, e.at_s) for e in ended] == [("ended", 2, 9, 31)]
    assert state == presence.PresenceState()


def test_finish_ends_only_active_alerts() -> None:
    state, _ = presence.step(LOITER, presence.PresenceState(), 0, frozenset({1}), 1)
    state, events = presence.finish(LOITER, state, 5)
    assert events == []
