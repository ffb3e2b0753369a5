"""`Fleet`: the worker-side shell of camera ownership leases.

Every `tick_s` a fleet fetches the camera list, heartbeats, renews its leases, gives back what
it should not hold and acquires free cameras up to its fair share (`xueliang.leasing.plan`); it
runs one task per owned camera through `start_camera(spec, stop)` and restarts it when its spec
changes or it ended. A camera runs only while its lease is surely this worker's: one whose
renewal was refused (another owner) stops at once, one that could not be renewed (store down,
or too slow) stops at its `lease_deadline`, before the lease can lapse in the store.

- `run(stop)` returns after a graceful stop: cameras stopped, then leases released and the
  heartbeat removed, so other workers take over at their next tick.
- Cancelling `run` is an abrupt end (as SIGKILL): cameras are cancelled, leases left to expire.
  So is an unexpected exception, which `run` raises after cancelling the cameras.
- A worker that joins takes nothing from others directly: a worker above its fair share stops
  and releases its least preferred cameras, which the newcomer acquires at its next tick.
- On a store that has just (re)started without data, nobody acquires during the first lease
  TTL (see `xueliang.leases`); renewals go on.
- Store or fleet-source errors are logged once per outage (exception type only, never a URL or
  a password); the fleet retries every tick and keeps the last fleet it fetched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from cameras.urls import redact_url
from hub.contracts import CameraSpec
from xueliang.leases import LeaseStore, LeaseStoreError
from xueliang.leasing import LeaseSettings, expired, lease_deadline, plan

__all__ = ["Fleet", "FleetSource", "StartCamera", "default_worker_id"]

log = logging.getLogger("xueliang.fleet")


FleetSource = Callable[[], Awaitable[list[CameraSpec]]]
StartCamera = Callable[[CameraSpec, asyncio.Event], Awaitable[None]]


def default_worker_id() -> str:
    """Host, pid and a random part: a restarted worker never mistakes old leases for its own."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


@dataclass
class _Running:
    spec: CameraSpec
    stop: asyncio.Event
    task: asyncio.Task[None]


class Fleet:
    def __init__(
        self,
        worker_id: str,
        source: FleetSource,
        store: LeaseStore,
        start_camera: StartCamera,
        settings: LeaseSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.worker_id = worker_id
        self.settings = settings or LeaseSettings()
        self._source, self._store, self._start_camera = source, store, start_camera
        self._clock = clock
        self._fleet: dict[str, CameraSpec] = {}
        self._deadlines: dict[str, float] = {}  # camera -> until when its lease is surely ours
        self._running: dict[str, _Running] = {}
        self._troubled: set[str] = set()  # what is failing now, so each outage is logged once

    @property
    def held(self) -> frozenset[str]:
        return frozenset(self._deadlines)

    @property
    def running(self) -> frozenset[str]:
        return frozenset(c for c, run in self._running.items() if not run.task.done())

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                _raise_if_cancel_was_swallowed()
                await self.tick()
                await self._sleep(stop, self._clock() + self.settings.tick_s)
        except BaseException:  # cancelled (or a bug): no camera may outlive its renewals
            await self._stop_cameras(list(self._running), cancel=True)
            raise
        await self.shutdown()

    async def tick(self) -> None:
        await self._stop_cameras(expired(self._deadlines, self._clock()), lapsed=True)
        try:
            async with asyncio.timeout(self._time_left_s()):  # never run past a deadline
                await self._refresh_fleet()
                await self._reconcile()
            self._recovered("lease store")
        except LeaseStoreError as error:
            self._trouble("lease store", redact_url(str(error)))
        except TimeoutError:
            self._trouble("lease store", "store or camera list slower than a lease deadline")
        await self._stop_cameras(expired(self._deadlines, self._clock()), lapsed=True)
        await self._sync_cameras()

    async def shutdown(self) -> None:
        """Stop every camera, then give back the leases and the heartbeat."""
        await self._stop_cameras(list(self._running))
        held, self._deadlines = list(self._deadlines), {}
        try:
            await self._store.release(self.worker_id, held)
            await self._store.forget_worker(self.worker_id)
        except LeaseStoreError as error:
            log.warning(
                "could not release %d leases (%s); they expire within %.0f s",
                len(held),
                redact_url(str(error)),
                self.settings.lease_ttl_s,
            )

    async def _refresh_fleet(self) -> None:
        try:
            specs = await self._source()
        except Exception as error:
            self._trouble("fleet source", f"{type(error).__name__}: {redact_url(str(error))}")
            return
        self._fleet = {spec.id: spec for spec in specs}
        self._recovered("fleet source")

    async def _reconcile(self) -> None:
        settings, store, me = self.settings, self._store, self.worker_id
        await store.heartbeat(me, settings.heartbeat_ttl_s)  # before renewals: see leasing.py
        view = await store.view(list(self._fleet))
        todo = plan(
            me,
            list(self._fleet),
            self._deadlines,
            view.owners,
            len(view.live_workers | {me}),
            may_acquire=view.store_age_s >= settings.lease_ttl_s,
        )
        if todo.release:
            await self._stop_cameras(todo.release)
            for camera_id in todo.release:
                self._deadlines.pop(camera_id, None)
            await store.release(me, todo.release)
        sent_s = self._clock()
        kept = await store.renew(me, todo.renew, settings.lease_ttl_s)
        self._confirm(kept, sent_s)
        lost = [c for c in todo.renew if c not in kept and c in self._deadlines]
        if lost:
            log.warning("leases of %s taken by another worker; stopping them", ", ".join(lost))
            await self._stop_cameras(lost, lapsed=True)
        await self._acquire(todo.acquire, todo.want)

    async def _acquire(self, candidates: Sequence[str], want: int) -> None:
        """Try free cameras in order of preference until `want` are won (others may win some)."""
        while want > 0 and candidates:
            batch, candidates = candidates[:want], candidates[want:]
            sent_s = self._clock()
            won = await self._store.acquire(self.worker_id, batch, self.settings.lease_ttl_s)
            self._confirm(won, sent_s)
            want -= len(won)

    def _confirm(self, camera_ids: set[str], sent_s: float) -> None:
        for camera_id in camera_ids:
            self._deadlines[camera_id] = lease_deadline(sent_s, self.settings)

    async def _sync_cameras(self) -> None:
        """Run exactly the held cameras of the fleet, each with its current spec."""
        unwanted = [c for c in self._running if c not in self._deadlines or c not in self._fleet]
        changed = [
            c for c, run in self._running.items()
            if c in self._fleet and (run.spec != self._fleet[c] or run.task.done())
        ]  # fmt: skip
        await self._stop_cameras(unwanted + changed)
        for camera_id in self._deadlines:
            if camera_id in self._fleet and camera_id not in self._running:
                self._launch(self._fleet[camera_id])

    def _launch(self, spec: CameraSpec) -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(self._camera(spec, stop), name=f"camera {spec.id}")
        self._running[spec.id] = _Running(spec, stop, task)
        log.info("camera %s: lease held, starting", spec.id)

    async def _camera(self, spec: CameraSpec, stop: asyncio.Event) -> None:
        try:
            await self._start_camera(spec, stop)
        except Exception as error:  # restarted at the next tick while the lease is held
            log.error(
                "camera %s failed (%s: %s)",
                spec.id,
                type(error).__name__,
                redact_url(str(error))[:200],
            )

    async def _stop_cameras(
        self, camera_ids: Sequence[str], *, cancel: bool = False, lapsed: bool = False
    ) -> None:
        runs = [self._running[c] for c in camera_ids if c in self._running]
        if lapsed:
            for camera_id in camera_ids:
                self._deadlines.pop(camera_id, None)
        if not runs:
            return
        for run in runs:
            run.stop.set()
        tasks = [run.task for run in runs]
        if not cancel and self.settings.stop_timeout_s > 0:
            await asyncio.wait(tasks, timeout=self.settings.stop_timeout_s)
        for task in tasks:
            task.cancel()  # a camera that ignored `stop`
        await asyncio.gather(*tasks, return_exceptions=True)
        for run in runs:
            if self._running.get(run.spec.id) is run:
                del self._running[run.spec.id]
                log.info("camera %s: stopped", run.spec.id)

    def _time_left_s(self) -> float:
        """Until the first lease deadline (bounded, so that a hung request is given up)."""
        now = self._clock()
        return max(0.0, min([*self._deadlines.values(), now + self.settings.lease_ttl_s]) - now)

    async def _sleep(self, stop: asyncio.Event, next_tick_s: float) -> None:
        while not stop.is_set():
            _raise_if_cancel_was_swallowed()
            wake_s = min([next_tick_s, *self._deadlines.values()])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, wake_s - self._clock()))
            now = self._clock()
            await self._stop_cameras(expired(self._deadlines, now), lapsed=True)
            if now >= next_tick_s:
                return

    def _trouble(self, what: str, reason: str) -> None:
        if what in self._troubled:
            return
        self._troubled.add(what)
        keeps = (
            f"running {len(self.running)} cameras while their leases last"
            if what == "lease store"
            else "keeping the last camera list"
        )
        log.warning("%s unavailable (%s); %s, retrying every %g s", what, reason, keeps,
                    self.settings.tick_s)  # fmt: skip

    def _recovered(self, what: str) -> None:
        if what in self._troubled:
            self._troubled.discard(what)
            log.info("%s available again", what)


def _raise_if_cancel_was_swallowed() -> None:
    """On Python 3.11 a cancellation that lands as `asyncio.timeout`/`wait_for` expires, or inside
    a library that retries on any exception, can be lost; the task still counts the request."""
    task = asyncio.current_task()
    if task is not None and task.cancelling() > 0:
        raise asyncio.CancelledError
