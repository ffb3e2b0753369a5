"""Keep a camera running through every fault: reopen with jittered backoff, report health.

The shell around `CameraRun`: a stream that ends, fails or stalls (the source's watchdog) is
reopened after a delay that grows with consecutive failures and resets after a run that streamed
for `HEALTHY_RUN_S`; health (from the reader's packet counter) goes out every
`health_interval_s` and at once when the state or the error changes. A camera offline longer than
`offline_alarm_s` raises one blue device-fault alert through the alert sink, ended on its return.

A permanent error (bad credentials, no such stream: `VideoError.permanent`; a password this worker
cannot unseal) is no outage to ride out: retrying every few seconds only locks the camera's account.
The camera is reported offline with the error at once and tried again after `permanent_retry_s`;
a fixed registration reaches the worker sooner, as a changed spec that restarts the camera.
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
from cameras.offline_alarm import (
    FaultChange,
    OfflineAlarm,
    device_fault_alert,
    device_fault_cleared,
)
from cameras.pyav import VideoError
from cameras.source import SourceOptions
from hub.contracts import Alert, CameraHealth, CameraSpec, CameraState
from hub.sealing import SealingError
from xueliang.evidence_store import EvidenceFolder
from xueliang.inference import BatchedInference
from xueliang.worker import AlertSink, CameraRun, CredentialsError

log = logging.getLogger("xueliang.camera")

HealthSink = Callable[[CameraHealth], Awaitable[None]]
POLL_S = 0.5
HEALTHY_RUN_S = 10.0  # a run that streamed this long resets the backoff
PERMANENT_RETRY_S = 300.0  # a locked-out account on a camera typically unlocks within minutes


@dataclass
class CameraWatch:
    camera: CameraSpec
    inference: BatchedInference
    sink: AlertSink
    health_sink: HealthSink
    options: SourceOptions
    evidence: EvidenceFolder | None = None
    unseal: Callable[[str], str] | None = None  # opens the camera's sealed password, per run
    backoff: Backoff = field(default_factory=Backoff)
    health_interval_s: float = 10.0
    offline_alarm_s: float = 60.0  # offline this long raises a device-fault alert
    permanent_retry_s: float = PERMANENT_RETRY_S  # the wait after a permanent error
    tracker: HealthTracker = field(default_factory=HealthTracker)
    opened: int = 0  # how many times the stream was opened
    _current: CameraRun | None = field(default=None, init=False)
    _counted: int = field(default=0, init=False)  # packets already fed to the tracker
    _alarm: OfflineAlarm = field(init=False)
    _fault: Alert | None = field(default=None, init=False)  # the active device-fault alert

    def __post_init__(self) -> None:
        self._alarm = OfflineAlarm(self.offline_alarm_s)

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
                self.camera, self.inference, self.sink, self.options, evidence=self.evidence,
                unseal=self.unseal,
            )  # fmt: skip
            self._counted = 0
            started_s = time.monotonic()
            work = asyncio.create_task(self._current.run())
            stopper = asyncio.create_task(stop.wait())
            await asyncio.wait({work, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if not work.done():
                work.cancel()
                with contextlib.suppress(asyncio.CancelledError, VideoError):
                    await work
                return
            if self._streamed(started_s):
                failures = 0
            # An end counts as a failure too: a stream that ends at once must not spin.
            failures += 1
            permanent = self._note_failure(work.exception())
            if permanent:
                delay_s = self.permanent_retry_s
            else:
                delay_s = self.backoff.delay_s(failures, random.random())  # noqa: S311 (jitter)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay_s)

    def _note_failure(self, error: BaseException | None) -> bool:
        """Record why the run ended on the camera's health; True when retrying soon is futile."""
        if error is None:
            return False  # the stream ended: no error
        if isinstance(error, VideoError):
            permanent = error.permanent
        elif isinstance(error, CredentialsError | SealingError):
            permanent = True  # this worker cannot build the camera's credentials
        else:
            raise error
        self._count_frames(time.monotonic())  # frames before the failure never clear it
        self.tracker.failed(str(error), permanent)  # messages are redacted at the source
        if permanent:
            retry_s = self.permanent_retry_s
            log.warning("camera %s: %s (retrying in %g s)", self.camera.id, error, retry_s)
        else:
            log.warning("camera %s: %s", self.camera.id, error)
        return permanent

    def _streamed(self, started_s: float) -> bool:
        run = self._current
        packets = run.source.packets_in if run is not None and run.source is not None else 0
        return packets > 0 and time.monotonic() - started_s >= HEALTHY_RUN_S

    def _count_frames(self, now_s: float) -> None:
        """Feed the tracker the packets the current run read since the last count."""
        run = self._current
        if run is not None and run.source is not None:
            if run.source.fps:
                self.tracker.expected_fps = run.source.fps
            total = run.source.packets_in
            self.tracker.frame(now_s, total - self._counted)
            self._counted = total

    async def _report_health(self, stop: asyncio.Event) -> None:
        last: tuple[CameraState, str | None] | None = None  # (state, error) last reported
        last_sent = 0.0
        while not stop.is_set():
            now = time.monotonic()
            self._count_frames(now)
            state = self.tracker.state(now)
            shown = (state, self.tracker.last_error)
            if shown != last or now - last_sent >= self.health_interval_s:
                await self.health_sink(self.snapshot(now))
                last, last_sent = shown, now
            change = self._alarm.observe(now, state)
            if change is not None:
                await self._send_fault(change, now)
            await asyncio.sleep(POLL_S)

    async def _send_fault(self, change: FaultChange, now_s: float) -> None:
        wall = datetime.now(UTC)
        if change.type == "raised":
            started_at = wall - timedelta(seconds=now_s - change.offline_since_s)
            alert = device_fault_alert(self.camera, started_at=started_at, at=wall)
            self._fault = alert
            since = started_at.isoformat(timespec="seconds")
            log.warning("camera %s: offline since %s: device fault", self.camera.id, since)
        elif self._fault is not None:
            alert = device_fault_cleared(self._fault, at=wall)
            self._fault = None
            log.info("camera %s: back, device fault cleared", self.camera.id)
        else:
            return
        metrics = self.inference.metrics
        if metrics is not None:
            metrics.alerts.labels(self.camera.id, alert.kind.value, alert.status.value).inc()
        await self.sink(alert)

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
