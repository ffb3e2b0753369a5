"""Redis-only faults: a consumer that dies holding a message, Redis itself restarting (with and
without its data), Redis unreachable, and what the bus logs about it."""

from __future__ import annotations

import asyncio
import logging
import shutil

import pytest
from redis.asyncio import Redis

from tests.bus.conftest import CLAIM_IDLE_MS, fast_redis_bus
from tests.redis_server import RedisServer, free_port
from xueliang.bus import BusError, BusUnavailableError
from xueliang.bus.redis_streams import RedisStreamsBus

pytestmark = pytest.mark.redis


async def wait_until_seen(seen: list[bytes], expected: list[bytes], timeout_s: float = 5) -> None:
    async with asyncio.timeout(timeout_s):
        while seen != expected:  # noqa: ASYNC110 (waits on a consumer task)
            await asyncio.sleep(0.02)


async def test_a_dead_consumers_message_is_taken_over_by_another(
    redis_server: RedisServer, stream: str
) -> None:
    bus = fast_redis_bus(redis_server.url)
    try:
        await bus.publish(stream, b"job")
        taken = asyncio.Event()

        async def hang(_data: bytes) -> None:
            taken.set()
            await asyncio.sleep(3600)  # the worker dies while handling

        doomed = asyncio.create_task(bus.consume(stream, "g", "doomed", hang, stop=asyncio.Event()))
        await asyncio.wait_for(taken.wait(), 5)
        doomed.cancel()  # no acknowledgement was ever sent
        with pytest.raises(asyncio.CancelledError):
            await doomed
        died = asyncio.get_running_loop().time()
        rescued: list[bytes] = []
        stop = asyncio.Event()

        async def handle(data: bytes) -> None:
            rescued.append(data)
            stop.set()

        await asyncio.wait_for(bus.consume(stream, "g", "rescuer", handle, stop=stop), 5)
        assert rescued == [b"job"]
        # Claimed only once it had been idle for claim_idle_ms, not snatched from a live worker.
        assert asyncio.get_running_loop().time() - died >= CLAIM_IDLE_MS / 1000 * 0.8
    finally:
        await bus.close()


async def test_a_dead_consumers_batch_is_taken_over_whole(
    redis_server: RedisServer, stream: str
) -> None:
    bus = fast_redis_bus(redis_server.url)
    try:
        for data in (b"a", b"b", b"c"):
            await bus.publish(stream, data)
        taken = asyncio.Event()

        async def hang(_batch: list[bytes]) -> None:
            taken.set()
            await asyncio.sleep(3600)  # the hub dies during the batch's database write

        doomed = asyncio.create_task(
            bus.consume_batch(stream, "g", "doomed", hang, stop=asyncio.Event())
        )
        await asyncio.wait_for(taken.wait(), 5)
        doomed.cancel()
        with pytest.raises(asyncio.CancelledError):
            await doomed
        assert await bus.backlog(stream, "g") == 3  # none was acknowledged
        rescued: list[bytes] = []
        stop = asyncio.Event()

        async def handle(batch: list[bytes]) -> None:
            rescued.extend(batch)
            if len(rescued) >= 3:
                stop.set()

        await asyncio.wait_for(bus.consume_batch(stream, "g", "rescuer", handle, stop=stop), 5)
        assert sorted(rescued) == [b"a", b"b", b"c"]
        assert await bus.backlog(stream, "g") == 0
    finally:
        await bus.close()


async def _wait_acknowledged(url: str, stream: str, group: str, timeout_s: float = 5) -> None:
    client = Redis.from_url(url)
    try:
        async with asyncio.timeout(timeout_s):
            while (await client.xpending(stream, group))["pending"]:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
    finally:
        await client.aclose()


async def test_the_consumer_loop_survives_a_redis_restart(
    redis_server: RedisServer, stream: str
) -> None:
    bus = fast_redis_bus(redis_server.url)
    seen: list[bytes] = []
    stop = asyncio.Event()

    async def handle(data: bytes) -> None:
        seen.append(data)
        if data == b"after":
            stop.set()

    try:
        await bus.publish(stream, b"before")
        consumer = asyncio.create_task(bus.consume(stream, "g", "c", handle, stop=stop))
        await wait_until_seen(seen, [b"before"])
        await _wait_acknowledged(redis_server.url, stream, "g")  # the ack follows the handler
        redis_server.kill()  # SIGKILL, as a crash
        with pytest.raises(BusUnavailableError):
            await bus.publish(stream, b"lost")
        await asyncio.sleep(0.5)  # the consumer sees the connection fail and backs off
        assert not consumer.done()
        redis_server.start()  # same port, same folder: the AOF brings the stream back
        await bus.publish(stream, b"after")
        await asyncio.wait_for(consumer, 15)
        assert seen == [b"before", b"after"]  # "before" was acknowledged: not delivered again
    finally:
        await bus.close()


async def test_the_consumer_recreates_its_group_when_redis_comes_back_empty(
    redis_server: RedisServer, stream: str
) -> None:
    bus = fast_redis_bus(redis_server.url)
    seen: list[bytes] = []
    stop = asyncio.Event()

    async def handle(data: bytes) -> None:
        seen.append(data)
        if data == b"after":
            stop.set()

    try:
        await bus.publish(stream, b"before")
        consumer = asyncio.create_task(bus.consume(stream, "g", "c", handle, stop=stop))
        await wait_until_seen(seen, [b"before"])
        redis_server.kill()
        for persisted in redis_server.folder.iterdir():  # a restart without persistence
            if persisted.is_dir():
                shutil.rmtree(persisted)
            else:
                persisted.unlink()
        redis_server.start()
        await asyncio.sleep(0.5)  # the consumer reconnects and finds no group (NOGROUP)
        assert not consumer.done()
        await bus.publish(stream, b"after")
        await asyncio.wait_for(consumer, 10)
        assert seen == [b"before", b"after"]
    finally:
        await bus.close()


async def test_unreachable_redis_is_retried_quietly_and_the_password_never_logged(
    caplog: pytest.LogCaptureFixture, stream: str
) -> None:
    # Nothing listens on this port: every connection is refused.
    bus = RedisStreamsBus(f"redis://worker:hunter2@127.0.0.1:{free_port()}/0", block_ms=100)
    stop = asyncio.Event()

    async def never(_data: bytes) -> None:
        raise AssertionError("no message can arrive")

    try:
        with caplog.at_level(logging.WARNING, logger="xueliang.bus"):
            task = asyncio.create_task(bus.consume(stream, "g", "c", never, stop=stop))
            await asyncio.sleep(1.0)
            assert not task.done()  # it keeps retrying rather than dying
            stop.set()
            await asyncio.wait_for(task, 3)  # and stop still ends it during the outage
            with pytest.raises(BusUnavailableError) as raised:
                await bus.publish(stream, b"secret body")
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert warnings, "an outage is logged"
        assert "hunter2" not in caplog.text and "hunter2" not in str(raised.value)
    finally:
        await bus.close()


async def test_a_closed_bus_refuses_to_publish_and_its_consumers_end(
    redis_server: RedisServer, stream: str
) -> None:
    bus = fast_redis_bus(redis_server.url)
    task = asyncio.create_task(bus.consume(stream, "g", "c", _ignore, stop=asyncio.Event()))
    await asyncio.sleep(0.2)
    await bus.close()
    await asyncio.wait_for(task, 3)
    with pytest.raises(BusError):
        await bus.publish(stream, b"late")


async def _ignore(_data: bytes) -> None:
    return None
