"""Grid hierarchy: loading and validating GeoJSON, point look-ups, climbing, subtrees, places."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from hub.grid import (
    Grid,
    GridError,
    GridLevel,
    GridNode,
    ancestors,
    distance_m,
    load_grid,
    next_level_up,
    parse_grid,
)

DEMO = Path(__file__).parents[2] / "config" / "grid-demo.geojson"
DEMO_DATA: dict[str, Any] = json.loads(DEMO.read_text(encoding="utf-8"))
GRID = load_grid(DEMO)
METRES_PER_DEGREE = 111_195.08  # haversine, mean Earth radius


def node(node_id: str) -> GridNode:
    return GRID.nodes[node_id]


def ids(nodes: list[GridNode]) -> list[str]:
    return [n.id for n in nodes]


def test_demo_grid_loads_the_whole_hierarchy() -> None:
    assert sorted(GRID.nodes) == ["city-cd", "com-tf", "dist-qy", "g-001", "g-002", "st-dc"]
    cell = node("g-001")
    assert (cell.name, cell.level, cell.leader, cell.ring_min) == (
        "Square West Cell", GridLevel.GRID_CELL, "r-g001-lead", 3)
    assert cell.responders == ("r-wang", "r-li")
    assert cell.parent is node("com-tf")
    assert node("city-cd").parent is None
    assert [n.level for n in [cell, *ancestors(cell)]] == list(reversed(GridLevel))


@pytest.mark.parametrize(
    ("lat", "lon", "expected"),
    [
        (30.657, 104.066, "g-001"),  # the demo camera
        (30.657, 104.070, "g-002"),
        (30.657, 104.068, "g-001"),  # on the shared edge: the lowest id, deterministically
        (30.667, 104.075, "st-dc"),  # in the street, outside the community
        (30.630, 104.020, "dist-qy"),
        (30.580, 103.950, "city-cd"),
        (31.000, 105.000, None),  # outside every grid
    ],
)
def test_cell_at_gives_the_deepest_node(lat: float, lon: float, expected: str | None) -> None:
    found = GRID.cell_at(lat, lon)
    assert (found.id if found else None) == expected


def test_ancestors_are_nearest_first_and_next_level_up_climbs_to_the_top() -> None:
    assert ids(ancestors(node("g-002"))) == ["com-tf", "st-dc", "dist-qy", "city-cd"]
    assert ancestors(node("city-cd")) == []
    climbed, current = [], next_level_up(node("g-001"))
    while current is not None:
        climbed.append(current.id)
        current = next_level_up(current)
    assert climbed == ["com-tf", "st-dc", "dist-qy", "city-cd"]


def test_subtree_is_the_node_and_its_descendants_depth_first() -> None:
    assert ids(list(GRID.subtree(node("com-tf")))) == ["com-tf", "g-001", "g-002"]
    assert ids(list(GRID.subtree(node("city-cd")))) == [
        "city-cd", "dist-qy", "st-dc", "com-tf", "g-001", "g-002"]
    assert ids(list(GRID.subtree(node("g-002")))) == ["g-002"]


@pytest.mark.parametrize(
    ("lat", "lon", "place", "ring_min"),
    [
        (30.657, 104.066, "poi-square", 1),  # the plaza's 1-minute ring beats the cell's 3
        (30.657, 104.063, "g-001", 3),  # in the cell, about 290 m from the plaza
        (30.657, 104.070, "g-002", 5),
        (30.667, 104.075, None, None),  # the street has no ring of its own
    ],
)
def test_place_at_gives_the_tightest_ring(
    lat: float, lon: float, place: str | None, ring_min: int | None
) -> None:
    found = GRID.place_at(lat, lon)
    got = (found.id, found.ring_min) if found else (None, None)
    assert got == (place, ring_min)


def test_a_place_belongs_to_its_parent_or_to_the_cell_that_contains_it() -> None:
    places = {place.id: place for place in GRID.places}
    assert places["poi-square"].node is node("g-001")
    data = copy.deepcopy(DEMO_DATA)
    del data["features"][-1]["properties"]["parent"]
    data["features"][-1]["geometry"]["coordinates"] = [104.070, 30.657]
    moved = {place.id: place for place in parse_grid(data).places}
    assert moved["poi-square"].node is not None and moved["poi-square"].node.id == "g-002"


def test_memberships_list_responders_and_leaders_per_node() -> None:
    members = GRID.memberships()
    assert members["r-wang"] == {"g-001"}
    assert members["r-g002-lead"] == {"g-002"}
    assert members["r-com-patrol"] == {"com-tf"}


def test_distance_is_haversine_in_metres() -> None:
    assert distance_m(0, 0, 1, 0) == pytest.approx(METRES_PER_DEGREE, rel=1e-6)
    assert distance_m(30.657, 104.066, 30.657, 104.066) == 0
    there = distance_m(30.657, 104.066, 30.667, 104.075)
    assert there == pytest.approx(distance_m(30.667, 104.075, 30.657, 104.066))
    assert 1_300 < there < 1_450  # about 1.11 km north and 0.86 km east


def feature(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda data: next(f for f in data["features"] if f["properties"]["id"] == name)


def props(name: str, **changes: Any) -> Callable[[dict[str, Any]], None]:
    return lambda data: feature(name)(data)["properties"].update(changes)


def geometry(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda data: feature(name)(data).update(geometry=value)


def rect(west: float, south: float, east: float, north: float) -> dict[str, Any]:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


EAST_CELL = (104.068, 30.652, 104.072, 30.662)
METRE_LON = 1 / (METRES_PER_DEGREE * 0.860)  # one metre east at latitude 30.66


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (props("g-002", parent="com-x"), "unknown parent 'com-x'"),
        (props("city-cd", parent="g-001"), "parent cycle through 'city-cd', 'com-tf', 'dist-qy'"),
        (props("g-002", parent="g-002"), "parent cycle through 'g-002'"),
        (props("g-002", level="hamlet"), "level: Value error, not one of city"),
        (props("g-002", level="street"), "a street cannot sit under community 'com-tf'"),
        (props("g-002", id="g-001"), "duplicate id"),
        (props("g-002", ring_min=2), "ring_min"),
        (props("g-002", id=""), "id: String should have at least 1 character"),
        (props("poi-square", ring_min=None), "a place needs ring_min"),
        (props("poi-square", radius_m=None), "a point place needs radius_m"),
        (props("poi-square", parent="nowhere"), "parent 'nowhere' is not a grid node"),
        (geometry("g-002", {"type": "Point", "coordinates": [104.07, 30.657]}),
         "a grid_cell needs a Polygon or MultiPolygon, not a Point"),
        (geometry("g-002", None), "geometry is missing"),
        (geometry("g-002", {"type": "Polygon", "coordinates": [[[104.068, 30.652], [
            104.072, 30.662], [104.072, 30.652], [104.068, 30.662], [104.068, 30.652]]]}),
         "invalid geometry (Self-intersection"),
        (geometry("g-002", rect(104.078, 30.652, 104.082, 30.662)),
         "not inside its parent 'com-tf' (tolerance 5 m)"),
        (geometry("g-002", rect(*EAST_CELL[:2], EAST_CELL[2] + 20 * METRE_LON, EAST_CELL[3])),
         "not inside its parent 'com-tf'"),  # 20 m over the edge
    ],
)
def test_invalid_grids_are_refused_with_a_clear_reason(
    change: Callable[[dict[str, Any]], None], message: str
) -> None:
    data = copy.deepcopy(DEMO_DATA)
    change(data)
    with pytest.raises(GridError) as caught:
        parse_grid(data)
    assert any(message in problem for problem in caught.value.problems), caught.value.problems


def test_a_child_may_overhang_its_parent_within_the_tolerance() -> None:
    data = copy.deepcopy(DEMO_DATA)
    geometry("g-002", rect(*EAST_CELL[:2], EAST_CELL[2] + 3 * METRE_LON, EAST_CELL[3]))(data)
    assert parse_grid(data).nodes["g-002"].parent is not None
    with pytest.raises(GridError, match="not inside its parent"):
        parse_grid(data, tolerance_m=1.0)


def test_every_problem_is_reported_at_once() -> None:
    data = copy.deepcopy(DEMO_DATA)
    props("g-001", ring_min=4)(data)
    props("g-002", parent="com-x")(data)
    with pytest.raises(GridError) as caught:
        parse_grid(data)
    assert len(caught.value.problems) == 2
    assert "feature 4 ('g-001'): ring_min" in str(caught.value)


@pytest.mark.parametrize(
    ("alias", "level"),
    [("county", GridLevel.DISTRICT), ("Township", GridLevel.STREET),
     ("village", GridLevel.COMMUNITY), ("grid", GridLevel.GRID_CELL),
     ("Cell", GridLevel.GRID_CELL)],
)
def test_level_aliases_are_accepted(alias: str, level: GridLevel) -> None:
    data = copy.deepcopy(DEMO_DATA)
    name = {GridLevel.DISTRICT: "dist-qy", GridLevel.STREET: "st-dc",
            GridLevel.COMMUNITY: "com-tf", GridLevel.GRID_CELL: "g-002"}[level]
    props(name, level=alias)(data)
    assert parse_grid(data).nodes[name].level is level


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "not a GeoJSON FeatureCollection"),
        ({"type": "FeatureCollection"}, "no `features` list"),
        ({"type": "FeatureCollection", "features": [{"type": "Feature"}]}, "feature 0: properties"),
    ],
)
def test_malformed_collections_are_refused(data: Any, message: str) -> None:
    with pytest.raises(GridError, match=message):
        parse_grid(data)


def test_unreadable_file_names_the_file_only(tmp_path: Path) -> None:
    broken = tmp_path / "broken.geojson"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(GridError, match=r"broken\.geojson: cannot read GeoJSON") as caught:
        load_grid(broken)
    assert str(tmp_path) not in str(caught.value)


def test_empty_grid_finds_nothing() -> None:
    empty = Grid([])
    assert empty.cell_at(30.657, 104.066) is None and empty.place_at(30.657, 104.066) is None


@settings(deadline=None)  # the machine is shared: time per example varies, correctness does not
@given(st.floats(30.54, 30.76), st.floats(103.89, 104.21))
def test_cell_at_contains_the_point_and_no_child_does(lat: float, lon: float) -> None:
    found = GRID.cell_at(lat, lon)
    point = Point(lon, lat)
    if found is None:
        assert not any(n.polygon.intersects(point) for n in GRID.nodes.values())
        return
    assert all(n.polygon.intersects(point) for n in [found, *ancestors(found)])
    children = [n for n in GRID.nodes.values() if n.parent is found]
    assert not any(child.polygon.intersects(point) for child in children)


@pytest.mark.parametrize(
    ("level", "steps", "expected"),
    [
        (GridLevel.GRID_CELL, 1, GridLevel.COMMUNITY),
        (GridLevel.GRID_CELL, 2, GridLevel.STREET),
        (GridLevel.DISTRICT, 1, GridLevel.CITY),
        (GridLevel.CITY, 1, GridLevel.CITY),  # nothing above the city
        (GridLevel.COMMUNITY, 9, GridLevel.CITY),
        (GridLevel.STREET, 0, GridLevel.STREET),
    ],
)
def test_up_climbs_toward_the_city_and_stops_there(
    level: GridLevel, steps: int, expected: GridLevel
) -> None:
    assert level.up(steps) is expected
