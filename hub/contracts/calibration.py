"""Ground-plane calibration: four image points and where they lie on the ground, in metres.

Only validation lives here (pure Python, so the hub rejects a bad calibration at registration);
the homography itself is computed by the worker (`detection/ground.py`).
"""

from __future__ import annotations

from itertools import combinations

from pydantic import Field, FiniteFloat, model_validator

from hub.contracts.common import RelativePoint, Strict

GroundPoint = tuple[FiniteFloat, FiniteFloat]
Point = tuple[float, float]

# A triple whose triangle is thinner than this (doubled area over its longest side squared,
# about the sine of its smallest angle) counts as collinear: it would give an ill-conditioned map.
_THIN = 1e-3


class GroundCalibration(Strict):
    """Four points marked on the image and the same four on the ground, in the same order.

    The ground frame is any flat x/y frame in metres (a site plan, tape measures); it may be
    mirrored against the image (image y grows downwards, plans often upwards).
    """

    image: list[RelativePoint] = Field(
        min_length=4, max_length=4, description="Four points (x, y), each 0-1 of width/height"
    )
    ground_m: list[GroundPoint] = Field(
        min_length=4, max_length=4, description="The same four points on the ground, in metres"
    )

    @model_validator(mode="after")
    def _well_posed(self) -> GroundCalibration:
        image = [(float(x), float(y)) for x, y in self.image]
        ground = [(float(x), float(y)) for x, y in self.ground_m]
        for name, points in (("image", image), ("ground_m", ground)):
            for triple in combinations(range(4), 3):
                if _is_thin(*(points[i] for i in triple)):
                    numbers = ", ".join(str(i + 1) for i in triple)
                    raise ValueError(
                        f"ground_calibration: {name} points {numbers} are (nearly) collinear;"
                        " pick four points no three of which lie on a line"
                    )
        # A plane-to-plane map keeps every triple's orientation, or flips all of them (a mirror);
        # a mix means the points are listed in different orders, and the quad folds over the
        # horizon.
        agree = {
            (_turn(*(image[i] for i in triple)) > 0) == (_turn(*(ground[i] for i in triple)) > 0)
            for triple in combinations(range(4), 3)
        }
        if len(agree) != 1:
            raise ValueError(
                "ground_calibration: image and ground_m list the points in different orders"
                " (go round the quad the same way in both)"
            )
        if abs(shoelace_area(ground)) <= 0:
            raise ValueError("ground_calibration: the ground quad has no area")
        return self


def shoelace_area(points: list[Point]) -> float:
    """Signed area of a polygon (positive counter-clockwise in x-right, y-up axes)."""
    return 0.5 * sum(
        x0 * y1 - x1 * y0
        for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1], strict=True)
    )


def _turn(a: Point, b: Point, c: Point) -> float:
    """Twice the signed area of the triangle a, b, c."""
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def _is_thin(a: Point, b: Point, c: Point) -> bool:
    longest_sq = max(
        (p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2 for p, q in ((a, b), (b, c), (c, a))
    )
    return longest_sq == 0 or abs(_turn(a, b, c)) / longest_sq < _THIN
