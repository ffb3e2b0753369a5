"""Evidence snapshots: the frame with the zone (or line) and the counted objects drawn, as JPEG."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from detection.detections import Detections

_ZONE_BGR = (0, 200, 255)
_BOX_BGR = (0, 0, 255)


def snapshot_jpeg(
    image: np.ndarray[Any, Any],
    outline: Sequence[tuple[float, float]],
    people: Detections,
    caption: str,
    *,
    closed: bool = True,
    quality: int = 85,
) -> bytes:
    """`outline`: the zone's polygon (`closed`) or the line's two ends, relative coordinates."""
    canvas = image.copy()
    height, width = canvas.shape[:2]
    ring = np.asarray(outline, dtype=np.float64).reshape(-1, 2) * np.array([width, height])
    cv2.polylines(canvas, [ring.astype(np.int32)], isClosed=closed, color=_ZONE_BGR, thickness=2)
    for x1, y1, x2, y2 in people.xyxy.astype(np.int32):
        cv2.rectangle(canvas, (int(x1), int(y1)), (int(x2), int(y2)), _BOX_BGR, 2)
    cv2.rectangle(canvas, (0, 0), (width, 28), (0, 0, 0), thickness=-1)
    cv2.putText(canvas, caption, (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1)
    ok, encoded = cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return bytes(encoded.tobytes())
