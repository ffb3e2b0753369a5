"""Keep a camera running through every fault: reopen with jittered backoff, report health.

The shell around `CameraRun`: a stream that ends or fails is reopened after a delay that grows
with consecutive failures; health (from the reader's packet counter) goes out every
`health_interval_s` and at once when the state changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cameras.backoff import Backoff
from cameras.health import HealthTracker
from cameras.pyav import VideoError
from cameras.source import SourceOptions
from hub.contracts import CameraHealth, CameraSpec
from xueliang.evidence_store import EvidenceFolder
from xueliang.inference import BatchedInference
from xueliang.worker import AlertSink, CameraRun

log = logging.getLogger("xueliang.camera")

HealthSink = Callable[[CameraHealth], Awaitable[None]]
POLL_S = 0.5


@dataclass
class CameraWatch:
    camera: CameraSpec
    inference: BatchedInference
    sink: AlertSink
    health_sink: HealthSink
    options: SourceOptions
    evidence: EvidenceFolder | None = None
    backoff: Backoff = field(default_factory=Backoff)
    health_interval_s: float = 10.0
    tracker: HealthTracker = field(default_factory=HealthTracker)
    opened: int = 0  # how many times the stream was opened
    _current: CameraRun | None = field(default=None, init=False)
    _counted: int = field(default=0, init=False)  # packets already fed to the tracker

    async def run(self, stop: asyncio.Event) -> None:
        health = asyncio.create_task(self._report_health(stop))
        try:
            await self._keep_running(stop)
        finally:
            health.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await health

    async def _keep_running(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            if self.opened:
                self.tracker.reconnected(time.monotonic())
            self.opened += 1
            self._current = CameraRun(
                self.camera, self.inference, self.sink, self.options, evidence=self.evidence
            )
            self._counted = 0
            work = asyncio.create_task(self._current.run())
            stopper = asyncio.create_task(stop.wait())
            await asyncio.wait({work, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if not work.done():
                work.cancel()
                with contextlib.suppress(asyncio.CancelledError, VideoError):
                    await work
                return
            error = work.exception()
            if isinstance(error, VideoError):
                failures += 1
                self.tracker.failed(str(error))  # already redacted
                log.warning("camera %s: %s", self.camera.id, error)
            elif error is not None:
                raise error
            else:
                failures = 0  # the input ended normally (a file): reopen at once
            delay_s = self.backoff.delay_s(failures, random.random())  # noqa: S311 (jitter)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay_s)

    async def _report_health(self, stop: asyncio.Event) -> None:
        last_state = None
        last_sent = 0.0
        while not stop.is_set():
            now = time.monotonic()
            run = self._current
            if run is not None and run.source is not None:
                if run.source.fps:
                    self.tracker.expected_fps = run.source.fps
                total = run.source.packets_in
                self.tracker.frame(now, total - self._counted)
                self._counted = total
            state = self.tracker.state(now)
            if state != last_state or now - last_sent >= self.health_interval_s:
                await self.health_sink(self.snapshot(now))
                last_state, last_sent = state, now
            await asyncio.sleep(POLL_S)

    def snapshot(self, now_s: float) -> CameraHealth:
        tracker = self.tracker
        wall = datetime.now(UTC)
        last_frame_at = (
            None if tracker.last_frame_s is None
            else wall - timedelta(seconds=now_s - tracker.last_frame_s)
        )  # fmt: skip
        run = self._current
        dropped = run.source.dropped if run is not None and run.source is not None else 0
        return CameraHealth(
            camera_id=self.camera.id,
            state=tracker.state(now_s),
            input_fps=round(tracker.fps(now_s), 2),
            last_frame_at=last_frame_at,
            reconnects=tracker.reconnects,
            dropped_frames=dropped,
            last_error=tracker.last_error,
            reported_at=wall,
        )
