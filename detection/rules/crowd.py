"""Crowd gathering: at least `min_people` in a zone for `hold_s`, cleared with hysteresis.

Pure: `step(spec, state, at_s, count, area_m2)` returns the next state and at most one event.
Time is stream time in seconds, taken from the frames, never from a clock.

Optional parts of the condition (a rule without them behaves as before they existed):

- Density: with `min_density_per_m2`, a sample meets the condition only when also
  count / area_m2 >= min_density_per_m2 (`area_m2`: the zone's ground area from the camera's
  calibration). The same `clear_ratio` applies to it: an active alert clears once the count or
  the density stays below its share for `clear_s`. Events carry the density whenever the area
  is known, threshold or not.
- Growth: with `growth_people` and/or `growth_ratio`, a sample that meets the condition raises
  the alert at once, without waiting for `hold_s`, when the rise over the smallest count
  sampled within the last `growth_window_s` (this sample included) is at least growth_people,
  and at least growth_ratio times that smallest count (both when both are set: the ratio keeps
  a few people more in a large crowd from counting, the people count keeps 2 -> 3 from
  counting as +50 %); from an empty zone any rise is a growth by ratio. A crowd forming fast
  is what operators must see early. The first sample after a gap in history never counts as
  growth (nothing to compare with). Growth only shortcuts the hold: it never overrides the
  cooldown, and on an active alert colours still follow the levels. Events say why the alert
  was raised (`trigger`: "hold" or "growth"); the (at_s, count) history it needs is kept in the
  state, trimmed to the window, and only for rules that watch growth.
- Colour: the more severe of the count's step in `levels` and, when the zone's area is known,
  the density's step in `density_levels`, and `growth_level` for an alert a growth raised;
  raised at once on an active alert, never lowered.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from detection.rules.events import RuleEvent, Trigger
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
    last_met_s: float = 0.0  # last sample meeting the condition (HOLDING)
    last_above_clear_s: float = 0.0  # last sample above the clear thresholds (ACTIVE)
    last_report_s: float = 0.0
    reports: int = 0  # reports emitted for the current alert
    peak: int = 0
    level: Level = Level.BLUE
    cooldown_until_s: float = 0.0
    trigger: Trigger = "hold"  # why the current alert was raised
    history: tuple[tuple[float, int], ...] = ()  # (at_s, count) within growth_window_s


@dataclass(frozen=True)
class Sample:
    at_s: float
    count: int
    density_per_m2: float | None  # None: the zone's ground area is not known


CrowdEvent = RuleEvent


def is_more_severe(a: Level, b: Level) -> bool:
    return SEVERITY.index(a) < SEVERITY.index(b)


def level_for(spec: CrowdRuleSpec, count: int, density_per_m2: float | None = None) -> Level:
    """The count's step with the largest `min_people` not above `count` (the lowest step
    otherwise), raised to the density's highest step reached when the density is known."""
    steps = sorted(spec.levels, key=lambda step: step.min_people)
    reached = [step for step in steps if step.min_people <= count]
    level = (reached[-1] if reached else steps[0]).level
    if density_per_m2 is None:
        return level
    for dense in spec.density_levels:
        if density_per_m2 >= dense.min_density_per_m2 and is_more_severe(dense.level, level):
            level = dense.level
    return level


def step(
    spec: CrowdRuleSpec, state: CrowdState, at_s: float, count: int, area_m2: float | None = None
) -> tuple[CrowdState, CrowdEvent | None]:
    """Feed one sample (people in the zone at stream time `at_s`; the zone's area if known)."""
    if area_m2 is not None and area_m2 <= 0:
        raise ValueError(f"rule {spec.id!r}: zone area must be positive, got {area_m2} m²")
    if spec.min_density_per_m2 is not None and area_m2 is None:
        raise ValueError(f"rule {spec.id!r}: min_density_per_m2 needs the zone's area in m²")
    sample = Sample(at_s, count, None if area_m2 is None else count / area_m2)
    history = _recent(spec, state.history, sample)
    state, event = _step(spec, state, sample, _grew(spec, history, count))
    return replace(state, history=history), event


def _step(
    spec: CrowdRuleSpec, state: CrowdState, sample: Sample, grew: bool
) -> tuple[CrowdState, CrowdEvent | None]:
    at_s, count = sample.at_s, sample.count
    if state.phase is Phase.COOLDOWN and at_s >= state.cooldown_until_s:
        state = CrowdState()
    if state.phase is Phase.IDLE:
        if not _meets(spec, sample):
            return state, None
        state = CrowdState(Phase.HOLDING, since_s=at_s, last_met_s=at_s, peak=count)
        return _confirm(spec, state, sample, grew)
    if state.phase is Phase.HOLDING:
        if _meets(spec, sample):
            state = replace(state, last_met_s=at_s, peak=max(state.peak, count))
            return _confirm(spec, state, sample, grew)
        if at_s - state.last_met_s > spec.miss_tolerance_s:
            return CrowdState(), None
        return state, None
    if state.phase is Phase.ACTIVE:
        return _while_active(spec, state, sample)
    return state, None  # COOLDOWN


def _meets(spec: CrowdRuleSpec, sample: Sample) -> bool:
    return sample.count >= spec.min_people and _dense(spec, sample, 1.0)


def _dense(spec: CrowdRuleSpec, sample: Sample, ratio: float) -> bool:
    """Density at least `ratio` times the threshold (always true without a threshold)."""
    if spec.min_density_per_m2 is None:
        return True
    return sample.density_per_m2 is not None and (
        sample.density_per_m2 >= ratio * spec.min_density_per_m2
    )


def _recent(
    spec: CrowdRuleSpec, history: tuple[tuple[float, int], ...], sample: Sample
) -> tuple[tuple[float, int], ...]:
    """The samples within the growth window, this one included (none without growth)."""
    if not spec.watches_growth:
        return ()
    oldest_s = sample.at_s - spec.growth_window_s
    kept = tuple(item for item in history if oldest_s <= item[0] <= sample.at_s)
    return (*kept, (sample.at_s, sample.count))


def _grew(spec: CrowdRuleSpec, history: tuple[tuple[float, int], ...], count: int) -> bool:
    if not spec.watches_growth or not history:
        return False
    smallest = min(seen for _, seen in history)
    rise = count - smallest
    if rise <= 0:
        return False
    by_people = spec.growth_people is None or rise >= spec.growth_people
    by_ratio = spec.growth_ratio is None or rise >= spec.growth_ratio * smallest
    return by_people and by_ratio


def _confirm(
    spec: CrowdRuleSpec, state: CrowdState, sample: Sample, grew: bool
) -> tuple[CrowdState, CrowdEvent | None]:
    held = sample.at_s - state.since_s >= spec.hold_s
    if not held and not grew:
        return state, None
    trigger: Trigger = "hold" if held else "growth"
    level = level_for(spec, sample.count, sample.density_per_m2)
    if trigger == "growth" and spec.growth_level and is_more_severe(spec.growth_level, level):
        level = spec.growth_level  # a crowd forming fast is the reference's red case
    active = replace(
        state,
        phase=Phase.ACTIVE,
        last_above_clear_s=sample.at_s,
        last_report_s=sample.at_s,
        reports=1,
        level=level,
        trigger=trigger,
    )
    event = CrowdEvent("started", sample.at_s, state.since_s, sample.count, state.peak, level, 0,
                       density_per_m2=sample.density_per_m2, trigger=trigger)  # fmt: skip
    return active, event


def _while_active(
    spec: CrowdRuleSpec, state: CrowdState, sample: Sample
) -> tuple[CrowdState, CrowdEvent | None]:
    at_s, count = sample.at_s, sample.count
    peak = max(state.peak, count)
    if count >= spec.clear_below and _dense(spec, sample, spec.clear_ratio):
        state = replace(state, last_above_clear_s=at_s, peak=peak)
    elif at_s - state.last_above_clear_s >= spec.clear_s:
        return _end(spec, replace(state, peak=peak), sample)
    else:
        state = replace(state, peak=peak)
    level = level_for(spec, count, sample.density_per_m2)
    raised = is_more_severe(level, state.level)
    if not raised and at_s - state.last_report_s < spec.report_interval_s:
        return state, None
    level = level if raised else state.level  # never lowered automatically
    reported = replace(state, last_report_s=at_s, reports=state.reports + 1, level=level)
    event = CrowdEvent("updated", at_s, state.since_s, count, peak, level, state.reports,
                       density_per_m2=sample.density_per_m2, trigger=state.trigger)  # fmt: skip
    return reported, event


def end(
    spec: CrowdRuleSpec, state: CrowdState, at_s: float, count: int = 0
) -> tuple[CrowdState, CrowdEvent | None]:
    """End an active alert now (the input ended, or the rule was disarmed); no-op otherwise.

    The count is unknown here, so the event carries no density."""
    return _end(spec, state, Sample(at_s, count, None))


def _end(
    spec: CrowdRuleSpec, state: CrowdState, sample: Sample
) -> tuple[CrowdState, CrowdEvent | None]:
    if state.phase is not Phase.ACTIVE:
        return CrowdState(), None
    event = CrowdEvent("ended", sample.at_s, state.since_s, sample.count, state.peak, state.level,
                       state.reports, density_per_m2=sample.density_per_m2,
                       trigger=state.trigger)  # fmt: skip
    cooldown = CrowdState(Phase.COOLDOWN, cooldown_until_s=sample.at_s + spec.cooldown_s)
    return cooldown, event
