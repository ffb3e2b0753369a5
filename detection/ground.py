"""Image to ground-plane homography from a 4-point calibration, and zone areas in m².

Pure numpy. Image points are relative (0-1 of width/height), like zones, so no frame size is
needed; ground points are metres in any flat frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from hub.contracts import GroundCalibration

FloatArray = npt.NDArray[np.float64]
Points = Sequence[tuple[float, float]] | FloatArray

# A mapped point this close to the horizon (w, on a scale where calibration points have w ~ 1)
# is taken as beyond it: its ground position would be unbounded.
_MIN_W = 1e-9


def homography(image: Points, ground: Points) -> FloatArray:
    """The 3x3 H with ground ~ H @ (x, y, 1) for the four correspondences.

    Solved by DLT on Hartley-normalised points (the null vector of the 8x9 system, via SVD,
    so no entry of H has to be non-zero); scaled so that w is +1 on average over the image points.
    """
    src, dst = _as_points(image), _as_points(ground)
    if src.shape != (4, 2) or dst.shape != (4, 2):
        raise ValueError("a homography needs exactly four image and four ground points")
    t_src, t_dst = _normaliser(src), _normaliser(dst)
    a, b = _apply(t_src, src), _apply(t_dst, dst)
    rows = []
    for (x, y), (u, v) in zip(a, b, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y, -u])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y, -v])
    _, singular, vt = np.linalg.svd(np.array(rows, dtype=np.float64))
    normalised = vt[-1].reshape(3, 3)  # unit Frobenius norm: det ~ 0 means no real plane map
    if singular[-2] < 1e-12 * singular[0] or abs(np.linalg.det(normalised)) < 1e-9:
        raise ValueError("calibration points are degenerate (three of them on a line?)")
    h = np.linalg.inv(t_dst) @ normalised @ t_src
    w = h[2] @ np.vstack([src.T, np.ones(4)])
    if not (np.all(w > 0) or np.all(w < 0)):
        raise ValueError("image and ground points are listed in different orders")
    return np.asarray(h / w.mean(), dtype=np.float64)


def of_calibration(calibration: GroundCalibration) -> FloatArray:
    return homography(
        [(float(x), float(y)) for x, y in calibration.image],
        [(float(x), float(y)) for x, y in calibration.ground_m],
    )


def to_ground(h: FloatArray, points: Points) -> FloatArray:
    """Map image points to the ground (n x 2, metres); ValueError for any at or past the horizon
    (the sky, or behind the camera), where the ground plane is not seen."""
    src = _as_points(points)
    mapped = h @ np.vstack([src.T, np.ones(len(src))])
    if np.any(mapped[2] <= _MIN_W):
        raise ValueError("points lie at or beyond the calibrated ground plane's horizon")
    return np.asarray((mapped[:2] / mapped[2]).T, dtype=np.float64)


def polygon_area_m2(h: FloatArray, polygon: Points) -> float:
    """Ground area of an image polygon: the shoelace area of its mapped vertices.

    Exact for a polygon, since a homography maps straight edges to straight edges, as long as
    the whole polygon is on the near side of the horizon; w is affine in the image, so checking
    the vertices is enough."""
    ground = to_ground(h, polygon)
    x, y = ground[:, 0], ground[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def _as_points(points: Points) -> FloatArray:
    return np.asarray(points, dtype=np.float64).reshape(-1, 2)


def _normaliser(points: FloatArray) -> FloatArray:
    """Similarity moving the centroid to 0 and the mean distance to sqrt(2) (Hartley)."""
    centre = points.mean(axis=0)
    spread = np.linalg.norm(points - centre, axis=1).mean()
    scale = np.sqrt(2) / spread if spread > 0 else 1.0
    return np.array(
        [[scale, 0, -scale * centre[0]], [0, scale, -scale * centre[1]], [0, 0, 1]],
        dtype=np.float64,
    )


def _apply(t: FloatArray, points: FloatArray) -> FloatArray:
    mapped = t @ np.vstack([points.T, np.ones(len(points))])
    return np.asarray((mapped[:2] / mapped[2]).T, dtype=np.float64)
