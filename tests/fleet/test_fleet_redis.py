"""Fleets sharing 6 fake cameras through a real redis-server that restarts, with or without its
data, or stays down: the cameras keep running, or stop before their leases could lapse."""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from tests.fleet.parts import (
    CANARY,
    FAST,
    Cameras,
    Specs,
    Worker,
    split_evenly,
)
from tests.redis_server import RedisServer
from xueliang.bus.redis_leases import RedisLeases
from xueliang.leasing import LeaseSettings

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
