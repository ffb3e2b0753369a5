"""In-process bus specifics: bounded memory, a consumer cancelled mid-message, make_bus."""

from __future__ import annotations

import asyncio
import logging

import pytest

from xueliang.bus import BusError, InProcessBus, bus_kind, make_bus
from xueliang.bus.redis_streams import RedisStreamsBus

STREAM = "xl:test"


async def collect(bus: InProcessBus, group: str, count: int, timeout_s: float = 3) -> list[bytes]:
    seen: list[bytes] = []
    stop = asyncio.Event()

    async def handle(data: bytes) -> None:
        seen.append(data)
        if len(seen) >= count:
            stop.set()

    await asyncio.wait_for(bus.consume(STREAM, group, "c", handle, stop=stop), timeout_s)
    return seen


async def test_the_log_is_capped_for_a_stalled_group_and_a_late_group_starts_at_the_oldest_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = InProcessBus(maxlen=5)
    first = await collect_after_publish(bus, [b"0", b"1"], group="early", count=1)
    assert first == [b"0"]
    for i in range(2, 12):
        await bus.publish(STREAM, str(i).encode())
    # A new group starts at the oldest message still kept: the last 5.
    assert await collect(bus, "late", 5) == [b"7", b"8", b"9", b"10", b"11"]
    # "early" had read one message; the ones trimmed since are lost, and that is logged.
    with caplog.at_level(logging.WARNING, logger="xueliang.bus"):
        assert await collect(bus, "early", 5) == [b"7", b"8", b"9", b"10", b"11"]
    assert "lost 6 unread messages" in caplog.text


async def collect_after_publish(
    bus: InProcessBus, messages: list[bytes], group: str, count: int
) -> list[bytes]:
    for data in messages:
        await bus.publish(STREAM, data)
    return await collect(bus, group, count)


async def test_a_consumer_cancelled_mid_message_hands_it_to_the_next() -> None:
    bus = InProcessBus(retry_delay_s=0.01)
    await bus.publish(STREAM, b"job")
    started = asyncio.Event()

    async def hang(_data: bytes) -> None:
        started.set()
        await asyncio.sleep(3600)

    doomed = asyncio.create_task(bus.consume(STREAM, "g", "doomed", hang, stop=asyncio.Event()))
    await asyncio.wait_for(started.wait(), 1)
    doomed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await doomed
    assert await collect(bus, "g", 1) == [b"job"]


async def test_a_consumer_cancelled_mid_batch_hands_the_whole_batch_to_the_next() -> None:
    bus = InProcessBus(retry_delay_s=0.01)
    for data in (b"a", b"b", b"c"):
        await bus.publish(STREAM, data)
    started = asyncio.Event()

    async def hang(_batch: list[bytes]) -> None:
        started.set()
        await asyncio.sleep(3600)

    doomed = asyncio.create_task(
        bus.consume_batch(STREAM, "g", "doomed", hang, stop=asyncio.Event())
    )
    await asyncio.wait_for(started.wait(), 1)
    doomed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await doomed
    assert await bus.backlog(STREAM, "g") == 3
    assert await collect(bus, "g", 3) == [b"a", b"b", b"c"]
    assert await bus.backlog(STREAM, "g") == 0


async def test_stop_lets_the_running_handler_finish_and_acknowledges_it() -> None:
    bus = InProcessBus(retry_delay_s=0.01)
    await bus.publish(STREAM, b"slow")
    stop = asyncio.Event()
    finished: list[bytes] = []

    async def slow(data: bytes) -> None:
        stop.set()  # asked to stop while this message is being handled
        await asyncio.sleep(0.05)
        finished.append(data)

    await asyncio.wait_for(bus.consume(STREAM, "g", "c", slow, stop=stop), 2)
    assert finished == [b"slow"]
    await bus.publish(STREAM, b"next")
    assert await collect(bus, "g", 1) == [b"next"]  # "slow" was acknowledged, not redelivered


async def test_close_ends_consumers_and_refuses_publish() -> None:
    bus = InProcessBus()
    task = asyncio.create_task(bus.consume(STREAM, "g", "c", _ignore, stop=asyncio.Event()))
    await asyncio.sleep(0.01)
    await bus.close()
    await asyncio.wait_for(task, 1)
    with pytest.raises(BusError):
        await bus.publish(STREAM, b"late")


async def test_make_bus_picks_the_implementation() -> None:
    memory = make_bus(None)
    assert isinstance(memory, InProcessBus) and bus_kind(memory) == "inprocess"
    redis = make_bus("redis://127.0.0.1:1/0")  # connects lazily: nothing is contacted here
    try:
        assert isinstance(redis, RedisStreamsBus) and bus_kind(redis) == "redis"
    finally:
        await redis.close()


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        InProcessBus(maxlen=0)
    with pytest.raises(ValueError):
        InProcessBus(max_deliveries=0)


async def _ignore(_data: bytes) -> None:
    return None
