"""Retention (see `xueliang.bus`): a stream drops what every group has acknowledged and keeps
what some group has not, so a hub that is down or behind loses nothing. Both buses, through the
`bus` fixture; the pending-entry case is Redis only (the in-process bus keeps pending bodies
itself)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.bus.conftest import TRIM_INTERVAL_S, fast_redis_bus
from xueliang.bus import Bus
from xueliang.bus.redis_streams import trim_acknowledged


async def wait_for(check: Callable[[], Awaitable[bool]], timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.02)
    return await check()


async def publish(bus: Bus, stream: str, first: int, count: int) -> None:
    for i in range(first, first + count):
        await bus.publish(stream, str(i).encode())


class Reader:
    """One consumer of `group` that runs in the background and records what it got."""

    def __init__(self, bus: Bus, stream: str, group: str) -> None:
        self.got: list[bytes] = []
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(
            bus.consume(stream, group, f"{group}-1", self._handle, stop=self.stop)
        )

    async def _handle(self, data: bytes) -> None:
        self.got.append(data)

    async def has(self, count: int) -> bool:
        return len(self.got) >= count

    async def close(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 5)


async def test_messages_every_group_acknowledged_are_trimmed(bus: Bus, stream: str) -> None:
    reader = Reader(bus, stream, "hub")
    await publish(bus, stream, 0, 30)
    assert await wait_for(lambda: reader.has(30))

    async def emptied() -> bool:
        return await bus.retained(stream) == 0

    assert await wait_for(emptied), f"{await bus.retained(stream)} messages left after acks"
    await reader.close()


async def test_a_group_that_is_behind_keeps_its_unread_messages(bus: Bus, stream: str) -> None:
    slow, fast = Reader(bus, stream, "slow"), Reader(bus, stream, "fast")
    await asyncio.sleep(0.3)  # both groups created
    await publish(bus, stream, 0, 1)
    assert await wait_for(lambda: slow.has(1))
    await slow.close()  # the slow group stops after the first message
    await publish(bus, stream, 1, 40)
    assert await wait_for(lambda: fast.has(41))
    await asyncio.sleep(TRIM_INTERVAL_S * 6)  # several trims by the fast group's loop

    # Only the message both groups acknowledged went.
    assert await bus.retained(stream) == 40
    slow = Reader(bus, stream, "slow")
    assert await wait_for(lambda: slow.has(40))
    assert slow.got == [str(i).encode() for i in range(1, 41)]

    async def emptied() -> bool:
        return await bus.retained(stream) == 0

    assert await wait_for(emptied)
    await asyncio.gather(slow.close(), fast.close())


async def test_a_stream_nobody_reads_yet_keeps_everything(bus: Bus, stream: str) -> None:
    await publish(bus, stream, 0, 25)
    assert await bus.retained(stream) == 25


@pytest.mark.redis
async def test_trimming_stops_at_the_oldest_pending_entry(redis_url: str, stream: str) -> None:
    bus = fast_redis_bus(redis_url)
    redis = bus._client
    try:
        await publish(bus, stream, 0, 3)
        await redis.xgroup_create(stream, "hub", id="0")
        reply: Any = await redis.xreadgroup("hub", "c", {stream: ">"}, count=3)
        ids: list[bytes] = [msg_id for msg_id, _fields in reply[0][1]]
        first, second, third = ids
        await redis.xack(stream, "hub", second, third)

        assert await trim_acknowledged(redis, stream) == 0  # the first is still pending
        assert await bus.retained(stream) == 3
        await redis.xack(stream, "hub", first)
        assert await trim_acknowledged(redis, stream) == 3
        assert await bus.retained(stream) == 0
    finally:
        await bus.close()
