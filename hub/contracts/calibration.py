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

# Like detection/ground.py: a point mapped this close to the horizon counts as beyond it.
_MIN_W = 1e-9
Matrix = list[list[float]]

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

    def beyond_horizon(self, points: list[Point]) -> list[int]:
        """Indexes of the image points (0-1) at or beyond the ground plane's horizon (the sky,
        or behind the camera), where no ground position exists: a zone with such a vertex has
        no ground area. The same test as `detection/ground.py`, in pure Python for the hub."""
        w_row = _horizon_row(
            [(float(x), float(y)) for x, y in self.image],
            [(float(x), float(y)) for x, y in self.ground_m],
        )
        return [i for i, (x, y) in enumerate(points) if _w(w_row, x, y) <= _MIN_W]


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


def _horizon_row(image: list[Point], ground: list[Point]) -> tuple[float, float, float]:
    """The last row of the image-to-ground homography, scaled so that w is +1 on average over
    the calibration's image points: w(x, y) <= 0 beyond the horizon.

    The homography is square-to-ground after the inverse of square-to-image (Heckbert's
    closed form), so no linear solver is needed; the adjugate stands in for the inverse, the
    scale being fixed by the normalisation."""
    h = _product(_square_to_quad(ground), _adjugate(_square_to_quad(image)))
    row = (h[2][0], h[2][1], h[2][2])
    mean_w = sum(_w(row, x, y) for x, y in image) / len(image)
    return (row[0] / mean_w, row[1] / mean_w, row[2] / mean_w)


def _w(row: tuple[float, float, float], x: float, y: float) -> float:
    return row[0] * x + row[1] * y + row[2]


def _square_to_quad(quad: list[Point]) -> Matrix:
    """The projective map of the unit square's corners (0,0), (1,0), (1,1), (0,1) to `quad`
    (no three of its points on a line, which the validation ensures)."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = quad
    dx1, dx2, dx3 = x1 - x2, x3 - x2, x0 - x1 + x2 - x3
    dy1, dy2, dy3 = y1 - y2, y3 - y2, y0 - y1 + y2 - y3
    den = dx1 * dy2 - dx2 * dy1
    g = (dx3 * dy2 - dx2 * dy3) / den
    h = (dx1 * dy3 - dx3 * dy1) / den
    return [
        [x1 - x0 + g * x1, x3 - x0 + h * x3, x0],
        [y1 - y0 + g * y1, y3 - y0 + h * y3, y0],
        [g, h, 1.0],
    ]


def _adjugate(m: Matrix) -> Matrix:
    def minor(r: int, c: int) -> float:
        rows = [row for i, row in enumerate(m) if i != r]
        (a, b), (d, e) = ([v for j, v in enumerate(row) if j != c] for row in rows)
        return a * e - b * d

    return [[(-1) ** (r + c) * minor(c, r) for c in range(3)] for r in range(3)]


def _product(a: Matrix, b: Matrix) -> Matrix:
    return [[sum(a[r][k] * b[k][c] for k in range(3)) for c in range(3)] for r in range(3)]
