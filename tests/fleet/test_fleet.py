"""Camera leases end to end: the store protocol on both stores, then `Fleet`s sharing 6 fake
cameras through a real redis-server (and the in-process store): the split, a killed worker, a
graceful stop, fleet changes. A shared recorder flags any camera run twice. Redis restarts are
in test_fleet_redis.py."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from hub.contracts import CameraSpec
from tests.fleet.parts import (
    CANARY,
    FAST,
    Cameras,
    Specs,
    StoreFactory,
    Worker,
    camera,
    split_evenly,
)
from xueliang.fleet import Fleet
from xueliang.leases import InProcessLeases

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
