"""The grid hierarchy (city → district → street → community → grid cell) and its places.

Pure except `load_grid`, which reads one GeoJSON file. Every feature's properties carry `id`,
`name`, `level`, `parent` (absent for a root), optional `leader` (a responder id), `responders`
(responder ids) and `ring_min` (1, 3 or 5: the place's rapid-response ring). A feature whose level
is `place` is a point of interest, not a grid node: a polygon, or a point with `radius_m`.
GeoJSON coordinates are (lon, lat); every function here takes (lat, lon).
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import shapely
import shapely.validation
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)
METRES_PER_DEGREE_LAT = 111_320.0
RINGS_MIN = (1, 3, 5)
PLACE = "place"  # the `level` of a point of interest


class GridLevel(StrEnum):
    """Tiers of the governance grid, top down; `depth` orders them (city 0 … cell 4)."""

    CITY = "city"
    DISTRICT = "district"  # district or county (区/县)
    STREET = "street"  # street or township (街道/乡镇)
    COMMUNITY = "community"  # community or village (社区/村)
    GRID_CELL = "grid_cell"  # grid cell (网格)

    @property
    def depth(self) -> int:
        return _DEPTH[self]

    def up(self, steps: int = 1) -> GridLevel:
        """`steps` tiers higher (toward the city), stopping at the city."""
        return _BY_DEPTH[max(0, self.depth - steps)]


_DEPTH = {level: depth for depth, level in enumerate(GridLevel)}
_BY_DEPTH = list(GridLevel)
_ALIASES = {"county": GridLevel.DISTRICT, "township": GridLevel.STREET,
            "village": GridLevel.COMMUNITY, "grid": GridLevel.GRID_CELL,
            "cell": GridLevel.GRID_CELL}


class GridError(ValueError):
    """A grid file that cannot be used; `problems` lists every reason found, one per line."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid grid: " + "; ".join(self.problems))


@dataclass(frozen=True, eq=False)  # identity equality: ids are unique within a Grid
class GridNode:
    id: str
    name: str
    level: GridLevel
    parent: GridNode | None
    polygon: BaseGeometry
    leader: str | None = None
    responders: tuple[str, ...] = ()
    ring_min: int | None = None

    def __repr__(self) -> str:
        return f"GridNode({self.id!r}, {self.level.value})"


@dataclass(frozen=True, eq=False)
class Place:
    """Where a rapid-response ring applies: a grid node with `ring_min`, or a point of interest."""

    id: str
    name: str
    ring_min: int
    geometry: BaseGeometry
    node: GridNode | None  # the grid node it belongs to
    radius_m: float | None = None  # for a point of interest given as a point

    def contains(self, lat: float, lon: float) -> bool:
        if self.radius_m is not None:
            centre = self.geometry.centroid
            return distance_m(lat, lon, centre.y, centre.x) <= self.radius_m
        return bool(self.geometry.intersects(Point(lon, lat)))


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def ancestors(node: GridNode) -> list[GridNode]:
    """The node's parent, grandparent, … up to the root (nearest first)."""
    chain, current = [], node.parent
    while current is not None:
        chain.append(current)
        current = current.parent
    return chain


def next_level_up(node: GridNode) -> GridNode | None:
    """Where an escalation goes next: the parent node, None at the top."""
    return node.parent


class Grid:
    """The validated hierarchy: nodes by id, places, and a spatial index for look-ups."""

    def __init__(self, nodes: Iterable[GridNode], places: Iterable[Place] = ()) -> None:
        self._order = tuple(sorted(nodes, key=lambda node: node.id))
        self.nodes: Mapping[str, GridNode] = {node.id: node for node in self._order}
        children: dict[str, list[GridNode]] = {}
        for node in self._order:
            if node.parent is not None:
                children.setdefault(node.parent.id, []).append(node)
        self._children = {parent: tuple(kids) for parent, kids in children.items()}
        self._index = shapely.STRtree([node.polygon for node in self._order])
        self.places = tuple(place if place.node else replace(place, node=self.cell_at(
            *_anchor(place.geometry))) for place in sorted(places, key=lambda p: p.id))

    def cell_at(self, lat: float, lon: float) -> GridNode | None:
        """The deepest node whose polygon contains the point (edges count); ties: lowest id."""
        hits = self._index.query(Point(lon, lat), predicate="intersects")
        found = [self._order[int(i)] for i in hits]
        return min(found, key=lambda n: (-n.level.depth, -len(ancestors(n)), n.id), default=None)

    def subtree(self, node: GridNode) -> Iterator[GridNode]:
        """The node and all its descendants, depth first, children in id order."""
        yield node
        for child in self._children.get(node.id, ()):
            yield from self.subtree(child)

    def place_at(self, lat: float, lon: float) -> Place | None:
        """The place containing the point with the tightest ring (the strictest duty wins)."""
        found = [place for place in self.places if place.contains(lat, lon)]
        return min(found, key=lambda place: (place.ring_min, place.id), default=None)

    def memberships(self) -> dict[str, frozenset[str]]:
        """Responder id → ids of the nodes it belongs to (listed as responder or as leader)."""
        members: dict[str, set[str]] = {}
        for node in self._order:
            for responder in {*node.responders, *([node.leader] if node.leader else [])}:
                members.setdefault(responder, set()).add(node.id)
        return {responder: frozenset(ids) for responder, ids in members.items()}


def _anchor(geometry: BaseGeometry) -> tuple[float, float]:
    point = geometry.representative_point()  # inside the geometry, unlike a centroid
    return float(point.y), float(point.x)


def load_grid(path: Path, tolerance_m: float = 5.0) -> Grid:
    """Read a GeoJSON FeatureCollection file; `GridError` says everything wrong with it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise GridError([f"{path.name}: cannot read GeoJSON ({error})"]) from error
    return parse_grid(data, tolerance_m)


def parse_grid(data: Any, tolerance_m: float = 5.0) -> Grid:
    """Build and validate a grid; a child may overhang its parent by at most `tolerance_m`."""
    problems: list[str] = []
    features = _features(data)
    read = [f for i, raw in enumerate(features) if (f := _read(i, raw, problems))]
    problems += _duplicates(read)
    specs = {f.id: f for f in read if f.level != PLACE}
    known = specs.keys() | (_raw_ids(features) - {f.id for f in read})  # broken: said already
    problems += _hierarchy_problems(specs, known, tolerance_m)
    problems += [f"{f.label}: parent {f.parent!r} is not a grid node"
                 for f in read if f.level == PLACE and f.parent and f.parent not in known]
    if problems:
        raise GridError(problems)
    nodes: dict[str, GridNode] = {}
    for spec_id in sorted(specs):
        _build(spec_id, specs, nodes)
    places = [_place(f, nodes[f.parent] if f.parent else None) for f in read if f.level == PLACE]
    places += [Place(n.id, n.name, n.ring_min, n.polygon, n) for n in nodes.values() if n.ring_min]
    return Grid(nodes.values(), places)


class _Properties(BaseModel):
    """A feature's properties; other keys (styling from GIS tools) are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str = Field(min_length=1, max_length=64)
    name: str | None = Field(default=None, max_length=120)
    level: str
    parent: str | None = None
    leader: str | None = None
    responders: tuple[str, ...] = ()
    ring_min: Literal[1, 3, 5] | None = None
    radius_m: float | None = Field(default=None, gt=0, le=10_000)

    @field_validator("level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        text = _ALIASES.get(value.lower(), value.lower())
        if text != PLACE and text not in set(GridLevel):
            raise ValueError(f"not one of {', '.join([*GridLevel, *_ALIASES, PLACE])}")
        return text


@dataclass(frozen=True)
class _Feature:
    label: str  # where it is in the file, for error messages
    id: str
    name: str
    level: str  # a GridLevel value, or PLACE
    parent: str | None
    props: _Properties
    geometry: BaseGeometry


def _features(data: Any) -> list[Any]:
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise GridError(["not a GeoJSON FeatureCollection"])
    features = data.get("features")
    if not isinstance(features, list):
        raise GridError(["the FeatureCollection has no `features` list"])
    return features


def _read(index: int, raw: Any, problems: list[str]) -> _Feature | None:
    """One feature, or None with every reason added to `problems`."""
    raw = raw if isinstance(raw, dict) else {}
    given = raw.get("properties")
    raw_id = given.get("id") if isinstance(given, dict) else None
    label = f"feature {index}" + (f" ({raw_id!r})" if isinstance(raw_id, str) else "")
    try:
        props = _Properties.model_validate(raw.get("properties"))
    except ValidationError as error:
        problems += [f"{label}: {'.'.join(map(str, e['loc'])) or 'properties'}: {e['msg']}"
                     for e in error.errors()]
        return None
    found = _geometry_problems(raw.get("geometry"), props)
    problems += [f"{label}: {problem}" for problem in found]
    if found:
        return None
    return _Feature(label, props.id, props.name or props.id, props.level, props.parent or None,
                    props, shape(raw["geometry"]))


def _geometry_problems(raw: Any, props: _Properties) -> list[str]:
    try:
        geometry = shape(raw)
    except (AttributeError, KeyError, TypeError, ValueError, shapely.errors.ShapelyError):
        return ["geometry is missing or not GeoJSON"]
    point = geometry.geom_type == "Point"
    areal = geometry.geom_type in {"Polygon", "MultiPolygon"}
    if not areal and not (point and props.level == PLACE):
        return [f"a {props.level} needs a Polygon or MultiPolygon, not a {geometry.geom_type}"]
    if not geometry.is_valid or (not point and geometry.area <= 0):
        return [f"invalid geometry ({shapely.validation.explain_validity(geometry)})"]
    if props.level == PLACE and props.ring_min is None:
        return ["a place needs ring_min"]
    if point and props.radius_m is None:
        return ["a point place needs radius_m"]
    return []


def _duplicates(features: Sequence[_Feature]) -> list[str]:
    seen: dict[str, str] = {}
    problems = []
    for feature in features:
        if feature.id in seen:
            problems.append(f"{feature.label}: duplicate id (also {seen[feature.id]})")
        seen.setdefault(feature.id, feature.label)
    return problems


def _raw_ids(features: Sequence[Any]) -> set[str]:
    given = [f.get("properties") for f in features if isinstance(f, dict)]
    return {p["id"] for p in given if isinstance(p, dict) and isinstance(p.get("id"), str)}


def _hierarchy_problems(
    specs: Mapping[str, _Feature], known: Collection[str], tolerance_m: float
) -> list[str]:
    problems = _cycles(specs)
    tolerance_deg = tolerance_m / METRES_PER_DEGREE_LAT  # at most tolerance_m in any direction
    for spec in specs.values():
        parent = specs.get(spec.parent) if spec.parent else None
        if spec.parent and spec.parent not in known:
            problems.append(f"{spec.label}: unknown parent {spec.parent!r}")
        if parent is None:
            continue
        level, parent_level = GridLevel(spec.level), GridLevel(parent.level)
        if level.depth <= parent_level.depth:
            problems.append(f"{spec.label}: a {level} cannot sit under "
                            f"{parent_level} {parent.id!r}")
        if not parent.geometry.buffer(tolerance_deg).covers(spec.geometry):
            problems.append(f"{spec.label}: not inside its parent {parent.id!r} "
                            f"(tolerance {tolerance_m:g} m)")
    return problems


def _cycles(specs: Mapping[str, _Feature]) -> list[str]:
    cycles: set[tuple[str, ...]] = set()
    for start in specs:
        path: list[str] = []
        current: str | None = start
        while current is not None and current in specs and current not in path:
            path.append(current)
            current = specs[current].parent
        if current is not None and current in path:
            cycles.add(tuple(sorted(path[path.index(current):])))
    return [f"parent cycle through {', '.join(map(repr, cycle))}" for cycle in sorted(cycles)]


def _build(node_id: str, specs: Mapping[str, _Feature], nodes: dict[str, GridNode]) -> GridNode:
    """Parents first (the hierarchy was checked acyclic, so the recursion ends)."""
    if node_id in nodes:
        return nodes[node_id]
    spec = specs[node_id]
    parent = _build(spec.parent, specs, nodes) if spec.parent else None
    shapely.prepare(spec.geometry)
    node = GridNode(spec.id, spec.name, GridLevel(spec.level), parent, spec.geometry,
                    spec.props.leader or None, spec.props.responders, spec.props.ring_min)
    nodes[node_id] = node
    return node


def _place(spec: _Feature, node: GridNode | None) -> Place:
    """A point of interest; without a parent it belongs to the cell that contains it."""
    ring_min = spec.props.ring_min
    assert ring_min is not None  # checked by _geometry_problems
    radius_m = spec.props.radius_m if spec.geometry.geom_type == "Point" else None
    return Place(spec.id, spec.name, ring_min, spec.geometry, node, radius_m)
