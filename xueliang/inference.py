"""One inference thread per detector, so the event loop never blocks on the model."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import numpy as np

from detection.detections import ClassMap, Detections


class Detector(Protocol):
    name: str
    class_map: ClassMap

    def detect(self, images: Sequence[np.ndarray[Any, Any]]) -> list[Detections]: ...


class InferenceThread:
    def __init__(self, detector: Detector) -> None:
        self.detector = detector
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inference")
        self.frames = 0
        self.busy_s = 0.0

    async def detect(self, images: Sequence[np.ndarray[Any, Any]]) -> list[Detections]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._timed, images)

    def _timed(self, images: Sequence[np.ndarray[Any, Any]]) -> list[Detections]:
        started = time.perf_counter()
        result = self.detector.detect(images)
        self.busy_s += time.perf_counter() - started
        self.frames += len(images)
        return result

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.busy_s if self.busy_s else 0.0

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
