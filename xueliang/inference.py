"""One inference thread per detector, so the event loop never blocks on the model."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from detection.batching import STALE, SUPERSEDED, Batcher, Waiting
from detection.detections import ClassMap, Detections
from xueliang.metrics import WorkerMetrics


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


@dataclass
class _Request:
    image: np.ndarray[Any, Any]
    answer: asyncio.Future[Detections | None]


class BatchedInference:
    """Frames from many cameras, one batch per inference call (see `detection.batching`).

    `detect` answers None when the frame was dropped (a newer one of the same camera replaced it,
    or it waited longer than `max_age_s`); the batcher counts why.
    """

    def __init__(
        self,
        inference: InferenceThread,
        *,
        max_size: int = 8,
        max_wait_s: float = 0.05,
        max_age_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        metrics: WorkerMetrics | None = None,
    ) -> None:
        self.inference = inference
        self.metrics = metrics
        self.batcher: Batcher[_Request] = Batcher(max_size, max_wait_s, max_age_s)
        self.batch_sizes: list[int] = []
        self._clock = clock
        self._wakeup = asyncio.Event()

    @property
    def detector(self) -> Detector:
        return self.inference.detector

    async def detect(self, camera_id: str, image: np.ndarray[Any, Any]) -> Detections | None:
        answer: asyncio.Future[Detections | None] = asyncio.get_running_loop().create_future()
        replaced = self.batcher.offer(camera_id, _Request(image, answer), self._clock())
        if replaced is not None:
            replaced.item.answer.set_result(None)
            if self.metrics is not None:
                self.metrics.frames_dropped.labels(camera_id, SUPERSEDED).inc()
        self._wakeup.set()
        return await answer

    def _measure(
        self, taken_at: float, batch: list[Waiting[_Request]], stale: list[Waiting[_Request]]
    ) -> None:
        metrics = self.metrics
        if metrics is None:
            return
        name = self.detector.name
        metrics.batch_size.labels(name).observe(len(batch))
        for waiting in batch:
            metrics.queue_age_seconds.labels(name).observe(taken_at - waiting.arrived_s)
        for waiting in stale:
            metrics.frames_dropped.labels(waiting.camera_id, STALE).inc()

    async def run(self, stop: asyncio.Event) -> None:
        """The batching loop; runs until `stop`, answering every waiting frame on the way out."""
        while not stop.is_set():
            wait_s = self.batcher.wait_s(self._clock())
            if wait_s is None or wait_s > 0:
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(_first(self._wakeup, stop), wait_s)
                continue
            taken_at = self._clock()
            batch, stale = self.batcher.take(taken_at)
            for waiting in stale:
                _answer(waiting.item.answer, None)
            if batch:
                self.batch_sizes.append(len(batch))
                self._measure(taken_at, batch, stale)
                started = time.perf_counter()
                results = await self.inference.detect([w.item.image for w in batch])
                if self.metrics is not None:
                    self.metrics.inference_seconds.labels(self.detector.name).observe(
                        time.perf_counter() - started
                    )
                for waiting, detections in zip(batch, results, strict=True):
                    _answer(waiting.item.answer, detections)
        while len(self.batcher):  # stopping: nobody will run these frames
            batch, stale = self.batcher.take(self._clock())
            for waiting in [*batch, *stale]:
                _answer(waiting.item.answer, None)


def _answer(future: asyncio.Future[Any], value: object) -> None:
    """A camera stopped while its frame waited has cancelled the future: nobody to answer, and
    the loop must go on for the other cameras."""
    if not future.done():
        future.set_result(value)


async def _first(*events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


@contextlib.asynccontextmanager
async def batching(
    inference: InferenceThread, cameras: int, metrics: WorkerMetrics | None = None
) -> AsyncIterator[BatchedInference]:
    """A running `BatchedInference` for this many cameras (batches never wait for more)."""
    batched = BatchedInference(inference, max_size=max(1, min(8, cameras)), metrics=metrics)
    stop = asyncio.Event()
    task = asyncio.create_task(batched.run(stop))
    try:
        yield batched
    finally:
        stop.set()
        await task
