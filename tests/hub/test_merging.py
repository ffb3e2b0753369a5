"""Which open incident an alert joins (`merge_target`, pure): tables over kind, cell, radius,
window, closed incidents, the nearest match and the order the candidates come in; and the tiles
the store searches cover the whole merge radius."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.contracts import GeoPoint, Level
from hub.grid import EARTH_RADIUS_M, METRES_PER_DEGREE_LAT, distance_m
from hub.lifecycle import Incident, IncidentState, open_incident
from hub.merging import MergeRule, merge_target, tile_of, tiles_near

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
HERE = GeoPoint(lat=30.657, lon=104.066)
RULE = MergeRule(window_s=600, radius_m=150)
KIND = "crowd_gathering"


def north_of(point: GeoPoint, metres: float) -> GeoPoint:
    return GeoPoint(lat=point.lat + metres / METRES_PER_DEGREE_LAT, lon=point.lon)


def incident(
    incident_id: str = "inc-1",
    *,
    metres: float | None = 0.0,
    cell: str | None = None,
    kind: str = KIND,
    idle_s: float = 0.0,
    state: IncidentState = IncidentState.PENDING_REVIEW,
) -> Incident:
    """An open incident whose first alert was `metres` north of HERE (None: no location),
    last changed `idle_s` before T0."""
    changed = T0 - timedelta(seconds=idle_s)
    opened = open_incident(
        incident_id, kind=kind, colour=Level.YELLOW, at=changed - timedelta(seconds=5),
        grid_cell=cell, location=None if metres is None else north_of(HERE, metres),
    )  # fmt: skip
    return opened.model_copy(update={"state": state, "updated_at": changed})


def target(candidates: list[Incident], cell: str | None = None, kind: str = KIND) -> str | None:
    found = merge_target(kind, HERE, cell, T0, candidates, RULE)
    return None if found is None else found.id


@pytest.mark.parametrize(
    ("case", "candidate", "alert_cell", "expected"),
    [
        ("same place", incident(metres=0), None, "inc-1"),
        ("inside the radius", incident(metres=140), None, "inc-1"),
        ("on the radius", incident(metres=149.5), None, "inc-1"),
        ("outside the radius", incident(metres=160), None, None),
        ("same cell, far away", incident(metres=900, cell="g-001"), "g-001", "inc-1"),
        ("same cell, no location", incident(metres=None, cell="g-001"), "g-001", "inc-1"),
        ("other cell, far away", incident(metres=900, cell="g-002"), "g-001", None),
        ("other cell but near", incident(metres=50, cell="g-002"), "g-001", "inc-1"),
        ("alert without cell, incident far", incident(metres=900, cell="g-001"), None, None),
        ("no location, no cell", incident(metres=None), None, None),
        ("other kind", incident(kind="loitering"), None, None),
        ("idle just inside the window", incident(idle_s=599), None, "inc-1"),
        ("idle past the window", incident(idle_s=601), None, None),
        ("closed", incident(state=IncidentState.CLOSED), None, None),
        ("false alarm", incident(state=IncidentState.FALSE_ALARM), None, None),
        ("reopened is open", incident(state=IncidentState.REOPENED), None, "inc-1"),
        ("on scene is open", incident(state=IncidentState.ON_SCENE), None, "inc-1"),
    ],
)
def test_merge_target_table(
    case: str, candidate: Incident, alert_cell: str | None, expected: str | None
) -> None:
    assert target([candidate], alert_cell) == expected, case


def test_no_candidates_opens_a_new_incident() -> None:
    assert target([]) is None


def test_nearest_match_wins() -> None:
    far, near, middle = (
        incident("far", metres=120),
        incident("near", metres=10),
        incident("middle", metres=60),
    )
    assert target([far, near, middle]) == "near"


def test_a_near_incident_beats_one_of_the_same_cell_far_away() -> None:
    same_cell_far = incident("cell-far", metres=800, cell="g-001")
    near_no_cell = incident("near", metres=30)
    assert target([same_cell_far, near_no_cell], "g-001") == "near"


def test_equal_distance_prefers_the_most_recently_changed_then_the_lowest_id() -> None:
    older, newer = incident("a-old", idle_s=300), incident("z-new", idle_s=10)
    assert target([older, newer]) == "z-new"
    twin_b, twin_a = incident("inc-b"), incident("inc-a")
    assert target([twin_b, twin_a]) == "inc-a"


def test_answer_does_not_depend_on_candidate_order() -> None:
    candidates = [
        incident("inc-a", metres=40, idle_s=30),
        incident("inc-b", metres=40, idle_s=10),
        incident("inc-c", metres=40, idle_s=10),
        incident("inc-d", metres=900, cell="g-001"),
        incident("inc-e", metres=20, state=IncidentState.CLOSED),
        incident("inc-f", metres=5, kind="loitering"),
    ]
    answers = {target(list(order), "g-001") for order in itertools.permutations(candidates)}
    assert answers == {"inc-b"}


def test_zero_radius_merges_only_by_cell_or_the_exact_point() -> None:
    rule = MergeRule(window_s=600, radius_m=0)
    exact, near = incident("exact", metres=0), incident("near", metres=1)
    assert merge_target(KIND, HERE, None, T0, [near], rule) is None
    found = merge_target(KIND, HERE, None, T0, [near, exact], rule)
    assert found is not None and found.id == "exact"


@settings(max_examples=300, deadline=None)
@given(
    lat=st.floats(min_value=-80, max_value=80),
    lon=st.floats(min_value=-179, max_value=179),
    bearing_deg=st.floats(min_value=0, max_value=360),
    radius_m=st.sampled_from([50.0, 150.0, 500.0, 3000.0]),
    fraction=st.floats(min_value=0, max_value=1),
)
def test_every_point_within_the_radius_lies_in_a_tile_near(
    lat: float, lon: float, bearing_deg: float, radius_m: float, fraction: float
) -> None:
    """The store finds candidates by tile: a miss here would be a merge never made."""
    here = GeoPoint(lat=lat, lon=lon)
    there = _destination(here, bearing_deg, radius_m * fraction)
    assert distance_m(lat, lon, there.lat, there.lon) <= radius_m + 1e-6
    assert tile_of(there.lat, there.lon) in tiles_near(here, radius_m)


def test_tiles_near_stay_few_for_a_merge_radius() -> None:
    assert tile_of(30.657, 104.066) in tiles_near(HERE, 150)
    assert 1 <= len(tiles_near(HERE, 150)) <= 4  # 0.01-degree tiles, about 1 km


def _destination(start: GeoPoint, bearing_deg: float, metres: float) -> GeoPoint:
    """The point `metres` from `start` along the great circle at `bearing_deg`."""
    phi1, lambda1 = math.radians(start.lat), math.radians(start.lon)
    theta, delta = math.radians(bearing_deg), metres / EARTH_RADIUS_M
    phi2 = math.asin(math.sin(phi1) * math.cos(delta)
                     + math.cos(phi1) * math.sin(delta) * math.cos(theta))  # fmt: skip
    lambda2 = lambda1 + math.atan2(math.sin(theta) * math.sin(delta) * math.cos(phi1),
                                   math.cos(delta) - math.sin(phi1) * math.sin(phi2))  # fmt: skip
    return GeoPoint(lat=math.degrees(phi2), lon=math.degrees(lambda2))
