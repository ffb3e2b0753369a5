"""Nearest-responder ranking: tiers, availability, position age, ETA, skills, reasons, order."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.contracts import GeoPoint
from hub.dispatch import (
    Availability,
    DispatchPolicy,
    Position,
    Ranking,
    ReasonCode,
    Responder,
    SpeedProfile,
    TravelMode,
    rank,
)
from hub.grid import load_grid

GRID = load_grid(Path(__file__).parents[2] / "config" / "grid-demo.geojson")
CELL = GRID.nodes["g-001"]
POINT = GeoPoint(lat=30.657, lon=104.066)  # the demo camera, in cell g-001
NOW = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
SPEEDS = SpeedProfile()
METRES_PER_DEGREE = 111_195.08
A, D, C = Availability.AVAILABLE, Availability.DELAYED, Availability.COMMITTED


def at(north_m: float, east_m: float = 0.0, age_s: float = 30.0) -> Position:
    """A position so many metres from the incident, reported `age_s` before NOW."""
    lat = POINT.lat + north_m / METRES_PER_DEGREE
    lon = POINT.lon + east_m / (METRES_PER_DEGREE * math.cos(math.radians(POINT.lat)))
    return Position(lat, lon, NOW - timedelta(seconds=age_s))


def responder(rid: str, north_m: float | None = 100.0, **fields: Any) -> Responder:
    values: dict[str, Any] = {"availability": A, "grid_ids": frozenset({"g-001"})}
    values["position"] = None if north_m is None else at(north_m, age_s=fields.pop("age_s", 30))
    values.update(fields)
    return Responder(rid, **values)


def ranked(*people: Responder, skills: frozenset[str] = frozenset(), **kwargs: Any) -> Ranking:
    return rank(POINT, kwargs.pop("cell", CELL), skills, people, NOW, kwargs.pop("speeds", SPEEDS),
                **kwargs)


def test_a_recommendation_keeps_its_reasons() -> None:
    wang = responder("r-wang", 820, mode=TravelMode.E_BIKE, age_s=40,
                     skills=frozenset({"first_aid", "mandarin"}))
    first = ranked(wang, skills=frozenset({"first_aid"})).recommendations[0]
    assert [str(reason) for reason in first.reasons] == [
        "in grid cell g-001", "available", "position 40 s old",
        "820 m → ETA 3.9 min by e-bike",  # 820 m x 1.3 detour / 4.5 m/s = 237 s
        "has skill first_aid",
    ]
    assert (first.rank, first.tier, first.missing_skills) == (1, 0, ())
    assert first.distance_m == pytest.approx(820, abs=0.5)
    assert first.eta_s == pytest.approx(820 * 1.3 / 4.5, rel=1e-3) == first.score


@pytest.mark.parametrize(
    ("grid_ids", "tier", "reason"),
    [
        ({"g-001"}, 0, "in grid cell g-001"),
        ({"com-tf"}, 1, "in community com-tf, 1 level above g-001"),
        ({"st-dc", "city-cd"}, 2, "in street st-dc, 2 levels above g-001"),  # the nearest counts
        ({"city-cd"}, 4, "in city city-cd, 4 levels above g-001"),
        ({"g-002"}, 5, "outside g-001 and the grids above it"),  # a sibling cell
        (set(), 5, "outside g-001 and the grids above it"),
    ],
)
def test_grid_tier_and_its_reason(grid_ids: set[str], tier: int, reason: str) -> None:
    first = ranked(responder("r", grid_ids=frozenset(grid_ids))).recommendations[0]
    assert (first.tier, str(first.reasons[0])) == (tier, reason)


def test_cell_members_come_first_then_ancestors_then_everyone_else() -> None:
    people = [
        responder("far-cell-member", 1_500, grid_ids=frozenset({"g-001"})),
        responder("near-city-duty", 50, grid_ids=frozenset({"city-cd"})),
        responder("near-sibling", 10, grid_ids=frozenset({"g-002"})),
        responder("mid-community", 300, grid_ids=frozenset({"com-tf"})),
        responder("near-community", 200, grid_ids=frozenset({"com-tf"})),
    ]
    assert ranked(*people).ids() == [
        "far-cell-member", "near-community", "mid-community", "near-city-duty", "near-sibling"]


def test_outside_every_grid_ranks_by_eta_alone() -> None:
    people = [responder("cell", 900), responder("other", 100, grid_ids=frozenset())]
    result = ranked(*people, cell=None)
    assert result.ids() == ["other", "cell"]
    assert {rec.reasons[0].code for rec in result.recommendations} == {ReasonCode.NO_GRID}


@pytest.mark.parametrize(
    ("availability", "code", "text"),
    [
        (Availability.COMMITTED, ReasonCode.COMMITTED, "committed to another assignment"),
        (Availability.UNAVAILABLE, ReasonCode.UNAVAILABLE, "unavailable"),
        (Availability.OFF_SHIFT, ReasonCode.OFF_SHIFT, "off shift"),
    ],
)
def test_unavailable_responders_are_left_out_with_the_reason_why_not(
    availability: Availability, code: ReasonCode, text: str
) -> None:
    result = ranked(responder("busy", 10, availability=availability), responder("free", 900))
    assert result.ids() == ["free"]
    [why_not] = result.rejected
    assert why_not.responder_id == "busy"
    assert [(reason.code, reason.text) for reason in why_not.reasons] == [(code, text)]


def test_delayed_responders_are_penalised_or_left_out_by_policy() -> None:
    late = responder("late", 100, availability=D)  # 100 s on foot + 120 s penalty
    on_time = responder("on-time", 150)  # 150 s on foot
    result = ranked(late, on_time)
    assert result.ids() == ["on-time", "late"]
    delayed = result.recommendations[1]
    assert delayed.score == pytest.approx(delayed.eta_s + 120)
    assert "delayed: +2.0 min" in [str(reason) for reason in delayed.reasons]
    strict = ranked(late, on_time, policy=DispatchPolicy(include_delayed=False))
    assert strict.ids() == ["on-time"]
    assert strict.rejected[0].reasons[0].code is ReasonCode.DELAYED_EXCLUDED


def test_a_stale_position_is_treated_as_unknown_with_an_assumed_eta() -> None:
    stale = responder("stale", 10, age_s=2_400)  # right there 40 min ago: no longer known
    near = responder("near", 500)  # 500 s on foot, under the assumed 900 s
    far = responder("far", 1_000)  # 1,000 s on foot, over it
    result = ranked(stale, near, far)
    assert result.ids() == ["near", "stale", "far"]
    assumed = result.recommendations[1]
    assert (assumed.eta_s, assumed.distance_m) == (900, None)
    assert str(assumed.reasons[2]) == "position 40 min old, over 5 min: ETA assumed 15.0 min"
    assert assumed.reasons[2].code is ReasonCode.POSITION_STALE


def test_no_position_is_unknown_and_the_age_limit_is_inclusive() -> None:
    result = ranked(responder("nowhere", None), responder("edge", 10, age_s=300))
    assert result.ids() == ["edge", "nowhere"]
    assert str(result.recommendations[1].reasons[2]) == "no position: ETA assumed 15.0 min"
    assert str(result.recommendations[0].reasons[2]) == "position 5 min old"


def test_a_position_from_the_future_counts_as_fresh() -> None:
    skewed = responder("skewed", 10, age_s=-5)  # the handset's clock runs ahead
    assert str(ranked(skewed).recommendations[0].reasons[2]) == "position 0 s old"


def test_skills_rank_before_distance_within_a_tier() -> None:
    medic = responder("medic", 600, skills=frozenset({"first_aid"}))
    nearer = responder("nearer", 50)
    result = ranked(nearer, medic, skills=frozenset({"first_aid"}))
    assert result.ids() == ["medic", "nearer"]
    assert result.recommendations[1].missing_skills == ("first_aid",)
    assert "lacks skill first_aid" in [str(reason) for reason in result.recommendations[1].reasons]


@pytest.mark.parametrize(
    ("mode", "eta_s", "words"),
    [
        (TravelMode.WALKING, 1000, "on foot"),
        (TravelMode.E_BIKE, 1000 * 1.3 / 4.5, "by e-bike"),
        (TravelMode.CAR, 1000 * 1.3 / 8.0, "by car"),
    ],
)
def test_the_speed_profile_turns_distance_into_an_eta(
    mode: TravelMode, eta_s: float, words: str
) -> None:
    first = ranked(responder("r", 1000, mode=mode)).recommendations[0]
    assert first.eta_s == pytest.approx(eta_s, rel=1e-3)
    assert str(first.reasons[3]).endswith(f"min {words}")
    assert str(first.reasons[3]).startswith("1.0 km → ETA")


def test_faster_speeds_come_from_configuration() -> None:
    quick = SpeedProfile(walking_m_s=2.6, detour_factor=1.0)
    first = ranked(responder("r", 1000), speeds=quick).recommendations[0]
    assert first.eta_s == pytest.approx(1000 / 2.6, rel=1e-3)


@pytest.mark.parametrize(
    ("exclude", "text"),
    [
        (["r-declined"], "excluded: declined or timed out"),
        ({"r-declined": "declined at 10:02"}, "excluded: declined at 10:02"),
    ],
)
def test_excluded_responders_never_appear(exclude: Any, text: str) -> None:
    result = ranked(responder("r-declined", 10), responder("r-next", 400), exclude=exclude)
    assert result.ids() == ["r-next"]
    assert [str(reason) for reason in result.rejected[0].reasons] == [text]


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate responder ids"):
        ranked(responder("twin"), responder("twin", 300))
    with pytest.raises(TypeError, match="not one string"):
        ranked(responder("r"), exclude="r")


def test_ties_are_broken_by_responder_id() -> None:
    assert ranked(responder("b", 200), responder("a", 200), responder("c", 200)).ids() == [
        "a", "b", "c"]


# Property tests: random crowds of responders around the incident.

GRID_IDS = sorted(GRID.nodes)
SKILLS = ["first_aid", "mediation", "fire"]


POSITIONS = st.none() | st.builds(
    at, st.floats(-3_000, 3_000), st.floats(-3_000, 3_000), st.floats(0, 3_600))
IDS = st.lists(st.text("abcdefgh", min_size=1, max_size=3), max_size=10, unique=True)


def responders(rid: str) -> st.SearchStrategy[Responder]:
    return st.builds(
        Responder,
        st.just(rid),
        st.sampled_from(Availability),
        POSITIONS,
        st.sampled_from(TravelMode),
        st.none(),
        st.frozensets(st.sampled_from(SKILLS), max_size=3),
        st.frozensets(st.sampled_from(GRID_IDS), max_size=2),
    )


def crowds() -> st.SearchStrategy[list[Responder]]:
    return IDS.flatmap(lambda ids: st.tuples(*map(responders, ids)).map(list))


NEEDED = frozenset({"first_aid"})
ELIGIBLE = {Availability.AVAILABLE, Availability.DELAYED}


@settings(deadline=None)  # the machine is shared: time per example varies, correctness does not
@given(crowds(), st.data())
def test_ranking_is_a_permutation_of_the_eligible_and_skips_the_excluded(
    crowd: list[Responder], data: st.DataObject
) -> None:
    exclude = data.draw(st.sets(st.sampled_from([r.id for r in crowd]))) if crowd else set()
    result = ranked(*crowd, skills=NEEDED, exclude=exclude)
    eligible = {r.id for r in crowd if r.availability in ELIGIBLE and r.id not in exclude}
    assert sorted(result.ids()) == sorted(eligible)
    assert [rec.rank for rec in result.recommendations] == list(range(1, len(eligible) + 1))
    assert not exclude & set(result.ids())
    assert {why.responder_id for why in result.rejected} == {r.id for r in crowd} - eligible


@settings(deadline=None)
@given(crowds(), st.randoms(use_true_random=False))
def test_the_ranking_does_not_depend_on_input_order(crowd: list[Responder], rnd: Any) -> None:
    shuffled = list(crowd)
    rnd.shuffle(shuffled)
    assert ranked(*shuffled, skills=NEEDED) == ranked(*crowd, skills=NEEDED)


@settings(deadline=None)
@given(crowds(), responders("zz-twin"), st.floats(0, 2_000), st.floats(1, 2_000))
def test_a_closer_responder_never_ranks_below_an_otherwise_equal_farther_one(
    crowd: list[Responder], twin: Responder, near_m: float, extra_m: float
) -> None:
    closer = replace(twin, id="zz-closer", availability=A, position=at(near_m))
    farther = replace(twin, id="zz-farther", availability=A, position=at(near_m + extra_m))
    order = ranked(*crowd, farther, closer, skills=NEEDED).ids()
    assert order.index("zz-closer") < order.index("zz-farther")
