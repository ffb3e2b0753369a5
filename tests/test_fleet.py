"""Camera leases end to end: the store protocol on both stores, then `Fleet`s sharing 6 fake
cameras through a real redis-server (and the in-process store): the split, a killed worker, a
graceful stop, fleet changes, Redis restarts. A shared recorder flags any camera run twice."""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from hub.contracts import CameraSpec, GeoPoint
from tests.redis_server import RedisServer
from xueliang.bus.redis_leases import RedisLeases
from xueliang.fleet import Fleet, StartCamera
from xueliang.leases import InProcessLeases, LeaseStore
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


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server (AOF on) a test may kill and start again (as in tests/bus)."""
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


StoreFactory = Callable[[], LeaseStore]


@pytest.fixture(params=["inprocess", pytest.param("redis", marks=pytest.mark.redis)])
async def stores(request: pytest.FixtureRequest) -> AsyncIterator[StoreFactory]:
    """Makes the stores of one test: each worker its own Redis client, or one shared dict."""
    made: list[LeaseStore] = []
    if request.param == "inprocess":
        shared = InProcessLeases()
        yield lambda: shared
        return
    server: RedisServer = request.getfixturevalue("redis_server")

    def make() -> LeaseStore:
        made.append(RedisLeases(server.url))
        return made[-1]

    yield make
    for store in made:
        await store.close()


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


@pytest.fixture
async def workers() -> AsyncIterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for worker in started:
        if not worker.task.done():
            await worker.kill()


def split_evenly(cameras: Cameras, *names: str) -> Callable[[], bool]:
    share = 6 // len(names)
    return lambda: all(len(cameras.owned_by(name)) == share for name in names)


# -- the store protocol, on both stores ---------------------------------------------------------


async def test_only_the_owner_renews_or_releases_a_lease(stores: StoreFactory) -> None:
    a, b = stores(), stores()
    assert await a.acquire("a", ["cam-1", "cam-2"], 5) == {"cam-1", "cam-2"}
    assert await b.acquire("b", ["cam-2", "cam-3"], 5) == {"cam-3"}  # SET NX: cam-2 is a's
    assert await b.renew("b", ["cam-1", "cam-3"], 5) == {"cam-3"}
    await b.release("b", ["cam-1"])  # not b's: untouched
    assert (await a.view(["cam-1", "cam-2", "cam-3", "cam-4"])).owners == {
        "cam-1": "a", "cam-2": "a", "cam-3": "b"
    }  # fmt: skip
    await a.release("a", ["cam-1"])
    assert await b.acquire("b", ["cam-1"], 5) == {"cam-1"}
    assert await a.renew("a", ["cam-4"], 5) == {"cam-4"}  # a lost lease is set again


async def test_leases_and_heartbeats_expire_after_their_ttl(stores: StoreFactory) -> None:
    a, b = stores(), stores()
    await a.heartbeat("a", 0.3)
    await b.heartbeat("b", 5)
    assert await a.acquire("a", ["cam-1"], 0.3) == {"cam-1"}
    assert (await b.view(["cam-1"])).live_workers == {"a", "b"}
    await asyncio.sleep(0.4)  # the TTL itself is what is tested
    view = await b.view(["cam-1"])
    assert view.owners == {} and view.live_workers == {"b"}
    assert await b.acquire("b", ["cam-1"], 5) == {"cam-1"}
    await b.forget_worker("b")
    assert (await a.view([])).live_workers == frozenset()


# -- fleets sharing 6 cameras --------------------------------------------------------------------


async def test_two_workers_split_the_fleet_and_never_run_a_camera_twice(
    stores: StoreFactory, workers: list[Worker]
) -> None:
    cameras, specs = Cameras(), Specs(6)
    workers.append(Worker("w-a", stores(), specs, cameras))
    await cameras.wait_until(lambda: len(cameras.owned_by("w-a")) == 6, 8)  # alone: all of them
    workers.append(Worker("w-b", stores(), specs, cameras))
    await cameras.wait_until(split_evenly(cameras, "w-a", "w-b"), 8)  # a gives 3 back to b
    starts = len(cameras.starts)
    await asyncio.sleep(4 * FAST.tick_s)  # watch a few ticks: the split holds, nothing flaps
    assert len(cameras.starts) == starts
    assert split_evenly(cameras, "w-a", "w-b")()
    assert cameras.overlaps == []


async def test_a_killed_workers_cameras_are_taken_over_after_its_leases_expire(
    stores: StoreFactory, workers: list[Worker]
) -> None:
    cameras, specs = Cameras(), Specs(6)
    workers += [Worker("w-a", stores(), specs, cameras), Worker("w-b", stores(), specs, cameras)]
    await cameras.wait_until(split_evenly(cameras, "w-a", "w-b"), 10)
    await workers[0].kill()  # no release, as SIGKILL
    killed = time.monotonic()
    assert cameras.owned_by("w-a") == set()
    await cameras.wait_until(lambda: len(cameras.owned_by("w-b")) == 6, 10)
    took_s = time.monotonic() - killed
    assert took_s <= FAST.lease_ttl_s + FAST.tick_s + 0.5  # + scheduling slack
    # Not snatched early: a's last renewal was at most a tick before the kill.
    assert took_s >= FAST.lease_ttl_s - FAST.tick_s - 0.2
    assert cameras.overlaps == []


async def test_a_graceful_stop_releases_at_once(
    stores: StoreFactory, workers: list[Worker]
) -> None:
    cameras, specs = Cameras(), Specs(6)
    a_store = stores()
    workers += [Worker("w-a", a_store, specs, cameras), Worker("w-b", stores(), specs, cameras)]
    await cameras.wait_until(split_evenly(cameras, "w-a", "w-b"), 10)
    await workers[0].stop()
    stopped = time.monotonic()
    view = await a_store.view([s.id for s in specs.specs])
    assert set(view.owners.values()) == {"w-b"} and "w-a" not in view.live_workers
    await cameras.wait_until(lambda: len(cameras.owned_by("w-b")) == 6, 5)
    assert time.monotonic() - stopped <= 2 * FAST.tick_s + 0.5  # not a lease TTL
    assert cameras.overlaps == []


async def test_a_camera_removed_from_the_fleet_stops_and_a_changed_spec_restarts(
    stores: StoreFactory, workers: list[Worker]
) -> None:
    cameras, specs = Cameras(), Specs(6)
    store = stores()
    workers.append(Worker("w-a", store, specs, cameras))
    await cameras.wait_until(lambda: len(cameras.running) == 6, 8)
    specs.specs = [camera(1, name="Plaza north"), *specs.specs[1:5]]  # cam-1 renamed, cam-6 gone
    await cameras.wait_until(
        lambda: (
            "cam-6" not in cameras.running
            and cameras.starts[-1][1].name == "Plaza north"
            and "cam-1" in cameras.running
        ),
        5,
    )
    assert [spec.name for _, spec in cameras.starts if spec.id == "cam-1"] == ["", "Plaza north"]
    assert "cam-6" not in (await store.view(["cam-6"])).owners  # its lease given back
    assert cameras.overlaps == []


async def test_a_failing_camera_is_restarted_and_its_password_never_logged(
    workers: list[Worker], caplog: pytest.LogCaptureFixture
) -> None:
    cameras, specs = Cameras(), Specs(1)
    record = cameras.starter("w-a")
    failures: list[str] = []

    async def flaky(spec: CameraSpec, stop: asyncio.Event) -> None:
        if not failures:
            failures.append(spec.id)
            raise RuntimeError(f"cannot open {spec.url}")
        await record(spec, stop)

    caplog.set_level(logging.INFO)
    fleet = Fleet("w-a", specs, InProcessLeases(), flaky, FAST)
    stop = asyncio.Event()
    task = asyncio.create_task(fleet.run(stop))
    await cameras.wait_until(lambda: "cam-1" in cameras.running, 5)
    stop.set()
    await task
    assert "cannot open rtsp://***@10.0.0.1/stream" in caplog.text
    assert CANARY not in caplog.text


async def test_a_failing_camera_list_keeps_the_last_one_and_is_logged_once(
    workers: list[Worker], caplog: pytest.LogCaptureFixture
) -> None:
    cameras, specs = Cameras(), Specs(2)
    calls: list[int] = []
    ticked = asyncio.Event()

    async def hub_down_after_the_first_call() -> list[CameraSpec]:
        calls.append(1)
        if len(calls) >= 4:
            ticked.set()
        if len(calls) > 1:
            raise ConnectionError(f"GET http://ops:{CANARY}@hub/api/cameras failed")
        return await specs()

    caplog.set_level(logging.INFO)
    fleet = Fleet("w-a", hub_down_after_the_first_call, InProcessLeases(), cameras.starter("w-a"),
                  FAST)  # fmt: skip
    stop = asyncio.Event()
    task = asyncio.create_task(fleet.run(stop))
    await asyncio.wait_for(ticked.wait(), 5)  # three failed fetches
    assert set(cameras.running) == {"cam-1", "cam-2"} and len(cameras.starts) == 2
    stop.set()
    await task
    assert caplog.text.count("fleet source unavailable") == 1
    assert "keeping the last camera list" in caplog.text
    assert CANARY not in caplog.text


async def test_an_unexpected_store_error_stops_the_cameras_before_it_is_raised() -> None:
    cameras, specs = Cameras(), Specs(2)
    store = InProcessLeases()
    fleet = Fleet("w-a", specs, store, cameras.starter("w-a"), FAST)
    task = asyncio.create_task(fleet.run(asyncio.Event()))
    await cameras.wait_until(lambda: len(cameras.running) == 2, 5)

    async def broken(camera_ids: object) -> None:
        raise KeyError("a bug")

    store.view = broken  # type: ignore[assignment,method-assign]
    with pytest.raises(KeyError):
        await asyncio.wait_for(task, 5)
    assert cameras.running == {}


# -- Redis faults --------------------------------------------------------------------------------

pytest_redis = pytest.mark.redis


async def start_split(
    server: RedisServer, workers: list[Worker], settings: LeaseSettings
) -> tuple[Cameras, list[RedisLeases]]:
    cameras, specs = Cameras(), Specs(6)
    clients = [RedisLeases(server.url), RedisLeases(server.url)]
    workers += [
        Worker("w-a", clients[0], specs, cameras, settings),
        Worker("w-b", clients[1], specs, cameras, settings),
    ]
    await cameras.wait_until(split_evenly(cameras, "w-a", "w-b"), 2 * settings.lease_ttl_s + 4)
    return cameras, clients


async def wait_for(check: Callable[[], Awaitable[bool]], timeout_s: float) -> None:
    async with asyncio.timeout(timeout_s):
        while not await check():  # noqa: ASYNC110 (polls Redis: no event to await)
            await asyncio.sleep(0.05)


def all_owned(store: RedisLeases, owners: set[str]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        try:
            view = await store.view([f"cam-{i}" for i in range(1, 7)])
        except Exception:
            return False
        return len(view.owners) == 6 and set(view.owners.values()) == owners

    return check


@pytest_redis
@pytest.mark.parametrize("keeps_data", [True, False], ids=["with-aof", "empty"])
async def test_cameras_keep_running_through_a_redis_restart(
    redis_server: RedisServer, workers: list[Worker], keeps_data: bool
) -> None:
    # A TTL long enough that the restart fits well inside a lease.
    settings = LeaseSettings(lease_ttl_s=4, tick_s=0.5, heartbeat_ttl_s=4, safety_s=1,
                             stop_timeout_s=0.2)  # fmt: skip
    cameras, clients = await start_split(redis_server, workers, settings)
    starts = len(cameras.starts)
    redis_server.kill()
    if not keeps_data:  # leases, heartbeats and the epoch are all gone
        shutil.rmtree(redis_server.folder)
        redis_server.folder.mkdir()
    redis_server.start()
    await wait_for(all_owned(clients[0], {"w-a", "w-b"}), 3)  # set again by their owners
    await asyncio.sleep(settings.lease_ttl_s)  # past the no-acquire window after a data loss
    assert len(cameras.starts) == starts  # no camera stopped or moved
    assert split_evenly(cameras, "w-a", "w-b")()
    assert cameras.overlaps == []


@pytest_redis
async def test_cameras_stop_before_their_leases_lapse_while_redis_is_down(
    tmp_path: Path, workers: list[Worker], caplog: pytest.LogCaptureFixture
) -> None:
    server = RedisServer(tmp_path)
    server.start()
    try:
        cameras, specs = Cameras(), Specs(6)
        store = RedisLeases(server.url.replace("redis://", f"redis://default:{CANARY}@"))
        workers.append(Worker("w-a", store, specs, cameras))
        await cameras.wait_until(lambda: len(cameras.running) == 6, 8)
        caplog.set_level(logging.INFO)
        server.kill()
        down = time.monotonic()
        await cameras.wait_until(lambda: not cameras.running, 5)
        stopped_after_s = time.monotonic() - down
        # Within a lease of the last renewal, never after: another worker could hold it then.
        assert stopped_after_s <= FAST.lease_ttl_s - FAST.safety_s + FAST.stop_timeout_s
        assert caplog.text.count("lease store unavailable") == 1
        server.start()
        await cameras.wait_until(lambda: len(cameras.running) == 6, 5)  # leases taken again
        assert cameras.overlaps == []
        assert CANARY not in caplog.text
        await store.close()
    finally:
        server.kill()
