"""Fixtures for the fleet tests: a private redis-server, the lease stores of a test (in-process
or one Redis client per worker), and the workers a test starts (killed at its end)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.fleet.parts import StoreFactory, Worker
from tests.redis_server import RedisServer
from xueliang.bus.redis_leases import RedisLeases
from xueliang.leases import InProcessLeases, LeaseStore


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server (AOF on) a test may kill and start again (as in tests/bus)."""
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


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


@pytest.fixture
async def workers() -> AsyncIterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for worker in started:
        if not worker.task.done():
            await worker.kill()
