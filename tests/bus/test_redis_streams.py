"""Redis-only faults: a consumer that dies holding a message, and Redis itself restarting."""

from __future__ import annotations

import asyncio

from tests.redis_server import RedisServer
from xueliang.bus.redis_streams import RedisStreamsBus

STREAM = "xl:test"


def fast_bus(server: RedisServer) -> RedisStreamsBus:
    return RedisStreamsBus(server.url, retry_delay_s=0.05, claim_idle_ms=300, block_ms=100)


async def test_a_dead_consumers_message_is_taken_over_by_another(
    redis_server: RedisServer,
) -> None:
    bus = fast_bus(redis_server)
    try:
        await bus.publish(STREAM, b"job")
        taken = asyncio.Event()

        async def hang(_data: bytes) -> None:
            taken.set()
            await asyncio.sleep(3600)  # the worker dies while handling

        doomed = asyncio.create_task(bus.consume(STREAM, "g", "doomed", hang, stop=asyncio.Event()))
        await asyncio.wait_for(taken.wait(), 5)
        doomed.cancel()  # no acknowledgement was ever sent
        rescued: list[bytes] = []
        stop = asyncio.Event()

        async def handle(data: bytes) -> None:
            rescued.append(data)
            stop.set()

        await asyncio.wait_for(bus.consume(STREAM, "g", "rescuer", handle, stop=stop), 5)
        assert rescued == [b"job"]
    finally:
        await bus.close()


async def test_the_consumer_loop_survives_a_redis_restart(redis_server: RedisServer) -> None:
    bus = fast_bus(redis_server)
    seen: list[bytes] = []
    stop = asyncio.Event()

    async def handle(data: bytes) -> None:
        seen.append(data)
        if data == b"after":
            stop.set()

    try:
        await bus.publish(STREAM, b"before")
        consumer = asyncio.create_task(bus.consume(STREAM, "g", "c", handle, stop=stop))
        async with asyncio.timeout(5):
            while seen != [b"before"]:  # noqa: ASYNC110 (waits on the consumer task)
                await asyncio.sleep(0.02)
        redis_server.kill()
        await asyncio.sleep(0.5)  # the consumer sees the connection fail and backs off
        assert not consumer.done()
        redis_server.start()  # same port, same folder: the AOF brings the stream back
        await bus.publish(STREAM, b"after")
        await asyncio.wait_for(consumer, 15)
        assert seen == [b"before", b"after"]  # "before" was acknowledged: not delivered again
    finally:
        await bus.close()
