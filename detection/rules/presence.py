"""Per-track presence: one tracked object meeting a condition in a zone for long enough.

Loitering (in the zone for `dwell_s`), intrusion (in the zone for `min_inside_s`) and falls
(fallen and lying on `min_frames` consecutive samples over `lying_s`) are this one machine with
different conditions and parameters. Pure: `step` takes the tracks that meet the condition on a
sample at stream time `at_s` and returns the next state and the events, one alert per track.

Gaps are judged on samples: a track is gone when a sample without it comes more than
`miss_tolerance_s` after its last sighting (0: it must meet the condition on every sample). A
stretch with no samples at all (a stream stall) neither confirms nor breaks a stay.

Loitering may also ask that the track went nowhere (`max_displacement_ratio`): `step` then
takes each meeting track's foot point, keeps a trail of the last `hold_s` until the alert, and
holds the alert back while net displacement / path over that trail is above the ratio. A
walker who stops is reported once the walk has left the window; the alert starts at entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from detection.rules import displacement
from detection.rules.events import EventType, RuleEvent
from hub.contracts import FallRuleSpec, Level, LoiteringRuleSpec, TrackRule

Point = tuple[float, float]

# Stream times are sums of frame periods: 1.0 + 0.2 + 0.2 is not quite 1.4.
_EPSILON_S = 1e-6


@dataclass(frozen=True)
class PresenceParams:
    hold_s: float  # the condition holds this long before the alert ...
    min_frames: int  # ... and on at least this many samples
    miss_tolerance_s: float  # a track not meeting it for longer is gone
    report_interval_s: float
    cooldown_s: float  # a track whose alert ended raises no new one for this long
    level: Level
    max_displacement_ratio: float | None = None  # went nowhere over hold_s (None: not asked)

    @classmethod
    def of(cls, rule: TrackRule) -> PresenceParams:
        min_frames = rule.min_frames if isinstance(rule, FallRuleSpec) else 1
        ratio = rule.max_displacement_ratio if isinstance(rule, LoiteringRuleSpec) else None
        return cls(
            rule.hold_s, min_frames, rule.miss_tolerance_s, rule.report_interval_s,
            rule.cooldown_s, rule.level, ratio,
        )  # fmt: skip

    @property
    def needs_positions(self) -> bool:
        return self.max_displacement_ratio is not None


@dataclass(frozen=True)
class TrackPresence:
    since_s: float  # the condition started holding (the alert's start)
    last_s: float  # the last sample on which it held
    frames: int = 1
    active: bool = False
    last_report_s: float = 0.0
    reports: int = 0
    peak: int = 0
    trail: displacement.Trail = ()  # foot points over the last hold_s, until the alert


@dataclass(frozen=True)
class PresenceState:
    tracks: Mapping[int, TrackPresence] = field(default_factory=dict)
    cooling_until_s: Mapping[int, float] = field(default_factory=dict)


def step(
    params: PresenceParams, state: PresenceState, at_s: float, meeting: frozenset[int],
    count: int, positions: Mapping[int, Point] | None = None,
) -> tuple[PresenceState, list[RuleEvent]]:  # fmt: skip
    """`meeting`: the tracks meeting the condition on this sample; `count`: objects in the zone;
    `positions`: each meeting track's foot point (only when `params.needs_positions`)."""
    if params.needs_positions and (positions is None or not meeting <= positions.keys()):
        raise ValueError("max_displacement_ratio needs the foot point of every meeting track")
    cooling = {track: until for track, until in state.cooling_until_s.items() if until > at_s}
    tracks: dict[int, TrackPresence] = {}
    events: list[RuleEvent] = []
    for track, presence in state.tracks.items():
        if track in meeting:
            continue
        if at_s - presence.last_s <= params.miss_tolerance_s:
            tracks[track] = presence
        elif presence.active:
            events.append(_event("ended", at_s, track, presence, count, params))
            cooling[track] = at_s + params.cooldown_s
    for track in sorted(meeting):
        if track in cooling:
            continue
        previous = state.tracks.get(track)
        presence = _seen(previous, at_s, count)
        if params.needs_positions and not presence.active:
            assert positions is not None
            trail = displacement.extend(presence.trail, at_s, positions[track], params.hold_s)
            presence = replace(presence, trail=trail)
        presence, event = _report(params, presence, at_s, track, count)
        tracks[track] = presence
        if event is not None:
            events.append(event)
    return PresenceState(tracks, cooling), events


def finish(
    params: PresenceParams, state: PresenceState, at_s: float
) -> tuple[PresenceState, list[RuleEvent]]:
    """End every active alert now (the input ended, or the rule's schedule disarmed it)."""
    events = [
        _event("ended", at_s, track, presence, 0, params)
        for track, presence in sorted(state.tracks.items())
        if presence.active
    ]
    return PresenceState(), events


def _seen(previous: TrackPresence | None, at_s: float, count: int) -> TrackPresence:
    if previous is None:
        return TrackPresence(since_s=at_s, last_s=at_s, peak=count)
    return replace(
        previous, last_s=at_s, frames=previous.frames + 1, peak=max(previous.peak, count)
    )


def _report(
    params: PresenceParams, presence: TrackPresence, at_s: float, track: int, count: int
) -> tuple[TrackPresence, RuleEvent | None]:
    if not presence.active:
        held_s = at_s - presence.since_s + _EPSILON_S
        held = held_s >= params.hold_s and presence.frames >= params.min_frames
        if not held or not _went_nowhere(params, presence):
            return presence, None
        presence = replace(presence, active=True, last_report_s=at_s, reports=1, trail=())
        return presence, _event("started", at_s, track, presence, count, params, revision=0)
    if at_s - presence.last_report_s < params.report_interval_s:
        return presence, None
    reported = replace(presence, last_report_s=at_s, reports=presence.reports + 1)
    return reported, _event("updated", at_s, track, presence, count, params)


def _went_nowhere(params: PresenceParams, presence: TrackPresence) -> bool:
    limit = params.max_displacement_ratio
    return limit is None or displacement.ratio(presence.trail) <= limit


def _event(
    kind: EventType, at_s: float, track: int, presence: TrackPresence, count: int,
    params: PresenceParams, revision: int | None = None,
) -> RuleEvent:  # fmt: skip
    return RuleEvent(
        type=kind,
        at_s=at_s,
        started_s=presence.since_s,
        count=count,
        peak=presence.peak,
        level=params.level,
        revision=presence.reports if revision is None else revision,
        track_id=track,
    )
