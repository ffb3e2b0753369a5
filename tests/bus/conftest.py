from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.redis_server import RedisServer
from xueliang.bus import Bus, InProcessBus
from xueliang.bus.redis_streams import RedisStreamsBus


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture(params=["inprocess", "redis"])
async def bus(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Bus]:
    """Both buses with short delays, so the semantics tests run fast on either."""
    if request.param == "inprocess":
        memory = InProcessBus(retry_delay_s=0.05)
        yield memory
        await memory.close()
        return
    server = RedisServer(tmp_path)
    server.start()
    streams = RedisStreamsBus(server.url, retry_delay_s=0.05, claim_idle_ms=300, block_ms=100)
    yield streams
    await streams.close()
    server.kill()
