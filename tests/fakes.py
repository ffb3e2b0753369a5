"""Stand-ins for the model where a test is about something else."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from detection.detections import ClassMap, Detections


class RecordingDetector:
    """Answers one box per image whose x1 is the image's first pixel value."""

    name = "recording"
    class_map = ClassMap({0: "person"}, frozenset({0}))

    def __init__(self, delay_s: float = 0.0) -> None:
        self.calls: list[int] = []
        self.delay_s = delay_s

    def detect(self, images: Sequence[np.ndarray[Any, Any]]) -> list[Detections]:
        self.calls.append(len(images))
        time.sleep(self.delay_s)
        return [
            Detections(
                np.array([[float(image.flat[0]), 0, 10, 10]], dtype=np.float32),
                np.array([0.9], dtype=np.float32),
                np.array([0], dtype=np.int64),
            )
            for image in images
        ]
