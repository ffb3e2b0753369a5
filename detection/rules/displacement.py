"""Did a track go anywhere? Net displacement over path length of its foot point, over a window.

Pure. A trail is (at_s, x, y) points, oldest first, in any uniform unit (pixels): the ratio is
scale-free. Someone walking through scores near 1 however slowly they walk; someone waiting,
pacing or circling scores near 0, since their path grows while their net displacement does not.
"""

from __future__ import annotations

from itertools import pairwise
from math import hypot

Trail = tuple[tuple[float, float, float], ...]

# One point per second at most: at 5 fps the detector's box jitter (a few pixels a frame) would
# add as much path as a slow walker's real steps and pull their ratio towards "lingering".
TRAIL_STEP_S = 1.0
# Stream times are sums of frame periods: 1.0 + 0.2 + 0.2 is not quite 1.4.
_EPSILON_S = 1e-6


def extend(trail: Trail, at_s: float, point: tuple[float, float], window_s: float) -> Trail:
    """The trail with `point` seen at `at_s` (unless the last point is under TRAIL_STEP_S
    old), without points older than `window_s` before it."""
    if trail and at_s - trail[-1][0] < TRAIL_STEP_S - _EPSILON_S:
        return trail
    oldest_s = at_s - window_s - _EPSILON_S
    return (*(item for item in trail if item[0] >= oldest_s), (at_s, *point))


def ratio(trail: Trail) -> float:
    """Net displacement / path length, 0-1; 0 for a track that never moved (or one point)."""
    path = sum(hypot(x1 - x0, y1 - y0) for (_, x0, y0), (_, x1, y1) in pairwise(trail))
    if path <= 0:
        return 0.0
    (_, x_first, y_first), (_, x_last, y_last) = trail[0], trail[-1]
    return min(1.0, hypot(x_last - x_first, y_last - y_first) / path)
