"""Fixtures for the bus tests: both buses, a real redis-server, a fresh stream name per test.

`REDIS_URL`, when set, points the shared semantics tests at that server instead of a private
one; tests that kill and restart Redis always start their own (`redis_server`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.redis_server import RedisServer
from xueliang.bus import Bus, InProcessBus, dead_letter_stream
from xueliang.bus.redis_streams import RedisStreamsBus

# Short delays so that retries, claims and stops take milliseconds, not seconds.
RETRY_DELAY_S = 0.05
CLAIM_IDLE_MS = 300
BLOCK_MS = 100
TRIM_INTERVAL_S = 0.05


def fast_redis_bus(url: str) -> RedisStreamsBus:
    return RedisStreamsBus(
        url, retry_delay_s=RETRY_DELAY_S, claim_idle_ms=CLAIM_IDLE_MS, block_ms=BLOCK_MS,
        trim_interval_s=TRIM_INTERVAL_S,
    )


@pytest.fixture
def stream() -> str:
    """A stream name of this test alone, so tests sharing one Redis never see each other."""
    return f"xl:test:{uuid.uuid4().hex}"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server (AOF on, in `tmp_path`) that a test may `kill()` and `start()`
    again on the same port and folder. Skips when no `redis-server` binary is installed."""
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """`$REDIS_URL` when set, else the URL of a private redis-server for this test."""
    external = os.environ.get("REDIS_URL")
    if external:
        yield external
        return
    server = RedisServer(tmp_path)
    server.start()
    yield server.url
    server.kill()


@pytest.fixture(params=["inprocess", pytest.param("redis", marks=pytest.mark.redis)])
async def bus(request: pytest.FixtureRequest, stream: str) -> AsyncIterator[Bus]:
    """Both buses with short delays, so the semantics tests run fast on either."""
    if request.param == "inprocess":
        memory = InProcessBus(retry_delay_s=RETRY_DELAY_S)
        yield memory
        await memory.close()
        return
    url: str = request.getfixturevalue("redis_url")
    streams = fast_redis_bus(url)
    yield streams
    if os.environ.get("REDIS_URL"):  # a shared server: leave nothing behind
        cleanup = fast_redis_bus(url)
        await cleanup._client.delete(stream, dead_letter_stream(stream))
        await cleanup.close()
    await streams.close()
