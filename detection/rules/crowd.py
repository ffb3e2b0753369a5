"""Crowd gathering: at least `min_people` in a zone for `hold_s`, cleared with hysteresis.

Pure: `step(spec, state, at_s, count)` returns the next state and at most one event. Time is stream
time in seconds, taken from the frames, never from a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from detection.rules.events import RuleEvent
from hub.contracts import CrowdRuleSpec, Level

# Most severe first: a level is "raised" when it moves towards the front.
SEVERITY = (Level.RED, Level.ORANGE, Level.YELLOW, Level.BLUE)


class Phase(StrEnum):
    IDLE = "idle"
    HOLDING = "holding"  # condition met, waiting for hold_s
    ACTIVE = "active"  # alert raised
    COOLDOWN = "cooldown"  # alert ended, no new one before cooldown_until_s


@dataclass(frozen=True)
class CrowdState:
    phase: Phase = Phase.IDLE
    since_s: float = 0.0  # when the condition started holding (the alert's start)
    last_met_s: float = 0.0  # last sample with count >= min_people (HOLDING)
    last_above_clear_s: float = 0.0  # last sample with count >= clear threshold (ACTIVE)
    last_report_s: float = 0.0
    reports: int = 0  # reports emitted for the current alert
    peak: int = 0
    level: Level = Level.BLUE
    cooldown_until_s: float = 0.0


CrowdEvent = RuleEvent


def is_more_severe(a: Level, b: Level) -> bool:
    return SEVERITY.index(a) < SEVERITY.index(b)


def level_for(spec: CrowdRuleSpec, count: int) -> Level:
    """The step with the largest `min_people` not above `count` (the lowest step otherwise)."""
    steps = sorted(spec.levels, key=lambda step: step.min_people)
    reached = [step for step in steps if step.min_people <= count]
    return (reached[-1] if reached else steps[0]).level


def step(
    spec: CrowdRuleSpec, state: CrowdState, at_s: float, count: int
) -> tuple[CrowdState, CrowdEvent | None]:
    """Feed one sample (people in the zone at stream time `at_s`)."""
    if state.phase is Phase.COOLDOWN and at_s >= state.cooldown_until_s:
        state = CrowdState()
    if state.phase is Phase.IDLE:
        if count < spec.min_people:
            return state, None
        state = CrowdState(Phase.HOLDING, since_s=at_s, last_met_s=at_s, peak=count)
        return _confirm(spec, state, at_s, count)
    if state.phase is Phase.HOLDING:
        if count >= spec.min_people:
            state = replace(state, last_met_s=at_s, peak=max(state.peak, count))
            return _confirm(spec, state, at_s, count)
        if at_s - state.last_met_s > spec.miss_tolerance_s:
            return CrowdState(), None
        return state, None
    if state.phase is Phase.ACTIVE:
        return _while_active(spec, state, at_s, count)
    return state, None  # COOLDOWN


def _confirm(
    spec: CrowdRuleSpec, state: CrowdState, at_s: float, count: int
) -> tuple[CrowdState, CrowdEvent | None]:
    if at_s - state.since_s < spec.hold_s:
        return state, None
    level = level_for(spec, count)
    active = replace(
        state,
        phase=Phase.ACTIVE,
        last_above_clear_s=at_s,
        last_report_s=at_s,
        reports=1,
        level=level,
    )
    return active, CrowdEvent("started", at_s, state.since_s, count, state.peak, level, 0)


def _while_active(
    spec: CrowdRuleSpec, state: CrowdState, at_s: float, count: int
) -> tuple[CrowdState, CrowdEvent | None]:
    peak = max(state.peak, count)
    if count >= spec.clear_below:
        state = replace(state, last_above_clear_s=at_s, peak=peak)
    elif at_s - state.last_above_clear_s >= spec.clear_s:
        return end(spec, replace(state, peak=peak), at_s, count)
    else:
        state = replace(state, peak=peak)
    level = level_for(spec, count)
    raised = is_more_severe(level, state.level)
    if not raised and at_s - state.last_report_s < spec.report_interval_s:
        return state, None
    level = level if raised else state.level  # never lowered automatically
    reported = replace(state, last_report_s=at_s, reports=state.reports + 1, level=level)
    event = CrowdEvent("updated", at_s, state.since_s, count, peak, level, state.reports)
    return reported, event


def end(
    spec: CrowdRuleSpec, state: CrowdState, at_s: float, count: int = 0
) -> tuple[CrowdState, CrowdEvent | None]:
    """End an active alert now (condition cleared, or the input ended); no-op otherwise."""
    if state.phase is not Phase.ACTIVE:
        return CrowdState(), None
    event = CrowdEvent("ended", at_s, state.since_s, count, state.peak, state.level, state.reports)
    cooldown = CrowdState(Phase.COOLDOWN, cooldown_until_s=at_s + spec.cooldown_s)
    return cooldown, event
