"""Nearest-responder ranking for an incident: pure, time is an argument.

Order: grid tier first (members of the incident's cell, then of its parent, grandparent, …, then
everyone else), then fewest missing skills, then score (the ETA in seconds plus penalties), then
responder id, so the result never depends on input order. Straight-line (haversine) distance times
a detour factor, over the responder's travel speed, gives the ETA. A position older than
`max_position_age_s` is treated as unknown and the ETA assumed (`unknown_eta_s`), so such a
responder still counts but after those known to be close. Every recommendation keeps its reasons;
every responder left out keeps the reasons why not (as Resgrid's recommendations do).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from itertools import pairwise

from pydantic import BaseModel, ConfigDict, Field

from hub.contracts import GeoPoint
from hub.grid import GridLevel, GridNode, ancestors, distance_m


class Availability(StrEnum):
    AVAILABLE = "available"
    COMMITTED = "committed"  # on another assignment
    DELAYED = "delayed"  # can go, but not at once
    UNAVAILABLE = "unavailable"
    OFF_SHIFT = "off_shift"


class TravelMode(StrEnum):
    WALKING = "walking"
    E_BIKE = "e_bike"
    CAR = "car"


class SpeedProfile(BaseModel):
    """Travel speeds per mode, and how much longer roads are than the straight line."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    walking_m_s: float = Field(default=1.3, gt=0, le=10, description="On foot (about 4.7 km/h)")
    e_bike_m_s: float = Field(default=4.5, gt=0, le=20, description="E-bike in city traffic")
    car_m_s: float = Field(default=8.0, gt=0, le=40, description="Car, urban average")
    detour_factor: float = Field(
        default=1.3, ge=1, le=3, description="Road distance over straight line (cities: 1.2-1.4)"
    )

    def speed_m_s(self, mode: TravelMode) -> float:
        speeds = {TravelMode.WALKING: self.walking_m_s, TravelMode.E_BIKE: self.e_bike_m_s,
                  TravelMode.CAR: self.car_m_s}
        return speeds[mode]


class DispatchPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_position_age_s: float = Field(
        default=300, gt=0, le=86_400, description="Older positions count as unknown (foot patrols)"
    )
    unknown_eta_s: float = Field(
        default=900, ge=0, le=86_400, description="ETA assumed for a stale or missing position"
    )
    delayed_penalty_s: float = Field(
        default=120, ge=0, le=3600, description="Added to the ETA of a delayed responder"
    )
    include_delayed: bool = Field(default=True, description="Delayed responders are candidates")


@dataclass(frozen=True)
class Position:
    lat: float
    lon: float
    reported_at: datetime


@dataclass(frozen=True)
class Responder:
    """A responder as the ranking sees them; `grid_ids` are the grid nodes they belong to."""

    id: str
    availability: Availability
    position: Position | None = None
    mode: TravelMode = TravelMode.WALKING
    team: str | None = None
    skills: frozenset[str] = frozenset()
    grid_ids: frozenset[str] = frozenset()


class ReasonCode(StrEnum):
    IN_CELL = "in_cell"
    IN_ANCESTOR = "in_ancestor"
    OUTSIDE_GRID = "outside_grid"
    NO_GRID = "no_grid"  # the incident lies in no grid node
    AVAILABLE = "available"
    DELAYED = "delayed"
    POSITION_FRESH = "position_fresh"
    POSITION_STALE = "position_stale"
    POSITION_UNKNOWN = "position_unknown"
    ETA = "eta"
    HAS_SKILL = "has_skill"
    LACKS_SKILL = "lacks_skill"
    COMMITTED = "committed"
    UNAVAILABLE = "unavailable"
    OFF_SHIFT = "off_shift"
    DELAYED_EXCLUDED = "delayed_excluded"
    EXCLUDED = "excluded"  # declined or timed out on this incident


@dataclass(frozen=True)
class Reason:
    code: ReasonCode
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Recommendation:
    responder_id: str
    rank: int  # 1 = first choice
    tier: int  # 0 = member of the incident's cell, k = of its k-th ancestor
    missing_skills: tuple[str, ...]
    score: float  # seconds: ETA plus penalties; lower is better within a tier
    eta_s: float  # assumed (unknown_eta_s) when the position is stale or missing
    distance_m: float | None  # straight line; None when the position is stale or missing
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class Rejection:
    responder_id: str
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class Ranking:
    recommendations: tuple[Recommendation, ...]
    rejected: tuple[Rejection, ...]  # the "why not" list, by responder id

    def ids(self) -> list[str]:
        return [recommendation.responder_id for recommendation in self.recommendations]


DEFAULT_POLICY = DispatchPolicy()
# An operator may dispatch past these refusals: they phoned the responder who declined or timed
# out, or pull a committed or delayed one to a more urgent incident. Never past unavailable or
# off shift: the responder must first say they are back (the phone page would not reach them).
OVERRIDABLE = frozenset({ReasonCode.EXCLUDED, ReasonCode.DELAYED_EXCLUDED, ReasonCode.COMMITTED})
_MODE_WORDS = {TravelMode.WALKING: "on foot", TravelMode.E_BIKE: "by e-bike",
               TravelMode.CAR: "by car"}
_NEVER = {
    Availability.COMMITTED: Reason(ReasonCode.COMMITTED, "committed to another assignment"),
    Availability.UNAVAILABLE: Reason(ReasonCode.UNAVAILABLE, "unavailable"),
    Availability.OFF_SHIFT: Reason(ReasonCode.OFF_SHIFT, "off shift"),
}


def rank(
    incident_point: GeoPoint,
    incident_cell: GridNode | None,
    skills_needed: Collection[str],
    responders: Iterable[Responder],
    now: datetime,
    speeds: SpeedProfile,
    *,
    policy: DispatchPolicy = DEFAULT_POLICY,
    exclude: Mapping[str, str] | Collection[str] = (),
) -> Ranking:
    """Rank the eligible responders; `exclude` maps responder id to why (or just lists ids)."""
    pool = sorted(responders, key=lambda responder: responder.id)
    duplicates = {a.id for a, b in pairwise(pool) if a.id == b.id}
    if duplicates:
        raise ValueError(f"duplicate responder ids: {sorted(duplicates)}")
    if isinstance(exclude, str):
        raise TypeError("exclude takes a collection of responder ids, not one string")
    excluded = dict(exclude) if isinstance(exclude, Mapping) else dict.fromkeys(
        exclude, "declined or timed out")
    chain = [incident_cell, *ancestors(incident_cell)] if incident_cell else []
    needed = sorted(set(skills_needed))
    candidates: list[Recommendation] = []
    rejected: list[Rejection] = []
    for responder in pool:
        why_not = _why_not(responder, policy, excluded)
        if why_not:
            rejected.append(Rejection(responder.id, why_not))
        else:
            candidates.append(_assess(responder, incident_point, chain, needed, now, speeds,
                                      policy))
    ordered = sorted(candidates, key=lambda c: (c.tier, len(c.missing_skills), c.score,
                                                c.responder_id))
    numbered = tuple(replace(candidate, rank=index + 1) for index, candidate in enumerate(ordered))
    return Ranking(numbered, tuple(rejected))


def _why_not(
    responder: Responder, policy: DispatchPolicy, excluded: Mapping[str, str]
) -> tuple[Reason, ...]:
    reasons = []
    if responder.id in excluded:
        reasons.append(Reason(ReasonCode.EXCLUDED, f"excluded: {excluded[responder.id]}"))
    if responder.availability in _NEVER:
        reasons.append(_NEVER[responder.availability])
    if responder.availability is Availability.DELAYED and not policy.include_delayed:
        reasons.append(Reason(ReasonCode.DELAYED_EXCLUDED, "delayed (delayed responders off)"))
    return tuple(reasons)


def _assess(
    responder: Responder,
    point: GeoPoint,
    chain: Sequence[GridNode],
    needed: Sequence[str],
    now: datetime,
    speeds: SpeedProfile,
    policy: DispatchPolicy,
) -> Recommendation:
    """A candidate with its tier, ETA and reasons (rank filled in once all are sorted)."""
    tier, tier_reason = _tier(responder, chain)
    reasons = [tier_reason]
    score = 0.0
    if responder.availability is Availability.DELAYED:
        score += policy.delayed_penalty_s
        reasons.append(Reason(ReasonCode.DELAYED,
                              f"delayed: +{policy.delayed_penalty_s / 60:.1f} min"))
    else:
        reasons.append(Reason(ReasonCode.AVAILABLE, "available"))
    eta_s, distance, eta_reasons = _eta(responder, point, now, speeds, policy)
    reasons += eta_reasons
    missing = tuple(skill for skill in needed if skill not in responder.skills)
    reasons += [Reason(ReasonCode.LACKS_SKILL if skill in missing else ReasonCode.HAS_SKILL,
                       f"{'lacks' if skill in missing else 'has'} skill {skill}")
                for skill in needed]
    return Recommendation(responder.id, 0, tier, missing, score + eta_s, eta_s, distance,
                          tuple(reasons))


def _tier(responder: Responder, chain: Sequence[GridNode]) -> tuple[int, Reason]:
    if not chain:
        return 0, Reason(ReasonCode.NO_GRID, "incident outside every grid: nearest first")
    for tier, node in enumerate(chain):
        if node.id in responder.grid_ids:
            where = f"{_level_words(node.level)} {node.id}"
            if tier == 0:
                return 0, Reason(ReasonCode.IN_CELL, f"in {where}")
            up = f"{tier} level{'s' if tier > 1 else ''} above {chain[0].id}"
            return tier, Reason(ReasonCode.IN_ANCESTOR, f"in {where}, {up}")
    return len(chain), Reason(ReasonCode.OUTSIDE_GRID,
                              f"outside {chain[0].id} and the grids above it")


def _eta(
    responder: Responder, point: GeoPoint, now: datetime, speeds: SpeedProfile,
    policy: DispatchPolicy,
) -> tuple[float, float | None, list[Reason]]:
    assumed = f"ETA assumed {policy.unknown_eta_s / 60:.1f} min"
    position = responder.position
    if position is None:
        return policy.unknown_eta_s, None, [Reason(ReasonCode.POSITION_UNKNOWN,
                                                   f"no position: {assumed}")]
    age_s = max(0.0, (now - position.reported_at).total_seconds())  # clock skew: not negative
    if age_s > policy.max_position_age_s:
        limit = _duration(policy.max_position_age_s)
        text = f"position {_duration(age_s)} old, over {limit}: {assumed}"
        return policy.unknown_eta_s, None, [Reason(ReasonCode.POSITION_STALE, text)]
    distance = distance_m(position.lat, position.lon, point.lat, point.lon)
    eta_s = distance * speeds.detour_factor / speeds.speed_m_s(responder.mode)
    eta_text = f"{_metres(distance)} → ETA {eta_s / 60:.1f} min {_MODE_WORDS[responder.mode]}"
    return eta_s, distance, [
        Reason(ReasonCode.POSITION_FRESH, f"position {_duration(age_s)} old"),
        Reason(ReasonCode.ETA, eta_text),
    ]


def _level_words(level: GridLevel) -> str:
    return "grid cell" if level is GridLevel.GRID_CELL else level.value


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _metres(distance: float) -> str:
    return f"{distance:.0f} m" if distance < 1000 else f"{distance / 1000:.1f} km"


def override_reasons(rejection: Rejection, why: str) -> list[str] | None:
    """The reasons an operator's override dispatch stores (theirs first, then each refusal it
    overrode), or None when a refusal is not `OVERRIDABLE`."""
    if any(reason.code not in OVERRIDABLE for reason in rejection.reasons):
        return None
    stored = [f"dispatcher override: {why}", *(f"overridden: {r}" for r in rejection.reasons)]
    return [reason[:500] for reason in stored][:16]
