"""Building blocks every contract uses: the strict base, identifiers, colours, image geometry."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class Strict(BaseModel):
    """Base for every contract: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Level(StrEnum):
    """Colour level of an alert; `gb_priority` maps it to GB/T 28181 AlarmPriority 1-4."""

    RED = "red"
    ORANGE = "orange"
    YELLOW = "yellow"
    BLUE = "blue"

    @property
    def gb_priority(self) -> int:
        return _GB_PRIORITY[self]


_GB_PRIORITY = {Level.RED: 1, Level.ORANGE: 2, Level.YELLOW: 3, Level.BLUE: 4}


class GeoPoint(Strict):
    lat: float = Field(ge=-90, le=90, description="WGS-84 latitude in degrees")
    lon: float = Field(ge=-180, le=180, description="WGS-84 longitude in degrees")


RelativePoint = tuple[
    Annotated[float, Field(ge=0.0, le=1.0)], Annotated[float, Field(ge=0.0, le=1.0)]
]
RelativePolygon = Annotated[
    list[RelativePoint],
    Field(min_length=3, max_length=64, description="Vertices (x, y), each 0-1 of width/height"),
]


class ZoneSpec(Strict):
    """A polygon in relative image coordinates (0-1, origin top-left)."""

    id: Identifier
    name: str = Field(default="", max_length=120)
    polygon: RelativePolygon


class LineSpec(Strict):
    """A tripwire segment from `a` to `b` in relative image coordinates (0-1, origin top-left).

    Direction "in" is a crossing from the left of a->b to its right as seen on the image (for a
    line drawn left to right, from above it to below it); "out" is the other way.
    """

    id: Identifier
    name: str = Field(default="", max_length=120)
    a: RelativePoint
    b: RelativePoint

    @model_validator(mode="after")
    def _has_length(self) -> LineSpec:
        if self.a == self.b:
            raise ValueError(f"line {self.id!r}: a and b are the same point")
        return self
