"""The fleet tests' parts: 6 fake cameras that flag any camera run twice at once, a fleet source
the test edits, and `Worker`, a `Fleet` running as a task."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from hub.contracts import CameraSpec, GeoPoint
from xueliang.fleet import Fleet, StartCamera
from xueliang.leases import LeaseStore
from xueliang.leasing import LeaseSettings

FAST = LeaseSettings(
    lease_ttl_s=2.0, tick_s=0.5, heartbeat_ttl_s=2.0, safety_s=0.5, stop_timeout_s=0.2
)
CANARY = "canary-s3cret"


def camera(index: int, name: str = "") -> CameraSpec:
    return CameraSpec(
        id=f"cam-{index}", name=name, url=f"rtsp://viewer:{CANARY}@10.0.0.{index}/stream",
        location=GeoPoint(lat=30.65, lon=104.06),
    )  # fmt: skip


class Cameras:
    """The fake cameras: who runs what now, every start, and any camera run twice at once."""

    def __init__(self) -> None:
        self.running: dict[str, str] = {}  # camera id -> worker
        self.starts: list[tuple[str, CameraSpec]] = []
        self.overlaps: list[str] = []
        self._changed = asyncio.Event()

    def starter(self, worker: str) -> StartCamera:
        async def start(spec: CameraSpec, stop: asyncio.Event) -> None:
            if spec.id in self.running:
                self.overlaps.append(f"{spec.id}: {self.running[spec.id]} and {worker}")
            self.running[spec.id] = worker
            self.starts.append((worker, spec))
            self._notify()
            try:
                await stop.wait()
            finally:
                if self.running.get(spec.id) == worker:
                    del self.running[spec.id]
                self._notify()

        return start

    def owned_by(self, worker: str) -> set[str]:
        return {c for c, w in self.running.items() if w == worker}

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(self, done: Callable[[], bool], timeout_s: float) -> None:
        async with asyncio.timeout(timeout_s):
            while not done():
                await self._changed.wait()


class Specs:
    """A fleet source the test edits."""

    def __init__(self, count: int) -> None:
        self.specs = [camera(i) for i in range(1, count + 1)]

    async def __call__(self) -> list[CameraSpec]:
        return list(self.specs)


StoreFactory = Callable[[], LeaseStore]


class Worker:
    """A Fleet running as a task, stoppable gracefully (`stop`) or abruptly (`kill`)."""

    def __init__(self, name: str, store: LeaseStore, specs: Specs, cameras: Cameras,
                 settings: LeaseSettings = FAST) -> None:  # fmt: skip
        self.name = name
        self.fleet = Fleet(name, specs, store, cameras.starter(name), settings)
        self._stop = asyncio.Event()
        self.task = asyncio.create_task(self.fleet.run(self._stop))

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.wait_for(self.task, 5)

    async def kill(self) -> None:
        self.task.cancel()
        done, _ = await asyncio.wait({self.task}, timeout=5)
        assert done, "the fleet outlived its cancellation by 5 s"
        with pytest.raises(asyncio.CancelledError):
            await self.task


def split_evenly(cameras: Cameras, *names: str) -> Callable[[], bool]:
    share = 6 // len(names)
    return lambda: all(len(cameras.owned_by(name)) == share for name in names)
