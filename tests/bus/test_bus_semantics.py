"""The delivery contract, run against the in-process bus and Redis Streams alike."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable

from xueliang.bus import Bus, dead_letter_stream

STREAM = "xl:test"


async def consume_until(
    bus: Bus,
    group: str,
    consumer: str,
    handler: Callable[[bytes], Awaitable[None]],
    done: Callable[[], bool],
    stream: str = STREAM,
    timeout_s: float = 10.0,
) -> None:
    stop = asyncio.Event()

    async def wrapped(data: bytes) -> None:
        try:
            await handler(data)
        finally:
            if done():
                stop.set()

    await asyncio.wait_for(bus.consume(stream, group, consumer, wrapped, stop=stop), timeout_s)


async def test_messages_arrive_in_order(bus: Bus) -> None:
    sent = [f"m{i}".encode() for i in range(20)]
    for data in sent:
        await bus.publish(STREAM, data)
    seen: list[bytes] = []

    async def handle(data: bytes) -> None:
        seen.append(data)

    await consume_until(bus, "g", "c1", handle, lambda: len(seen) == 20)
    assert seen == sent


async def test_a_failed_message_is_redelivered_then_acknowledged_once(bus: Bus) -> None:
    await bus.publish(STREAM, b"flaky")
    await bus.publish(STREAM, b"fine")
    attempts: Counter[bytes] = Counter()
    handled: list[bytes] = []

    async def handle(data: bytes) -> None:
        attempts[data] += 1
        if data == b"flaky" and attempts[data] < 3:
            raise RuntimeError("database busy")
        handled.append(data)

    await consume_until(bus, "g", "c1", handle, lambda: len(handled) == 2)
    assert sorted(handled) == [b"fine", b"flaky"]
    assert attempts == {b"flaky": 3, b"fine": 1}
    # Nothing is left pending: a later consumer of the group gets nothing old.
    await bus.publish(STREAM, b"later")
    later: list[bytes] = []

    async def collect(data: bytes) -> None:
        later.append(data)

    await consume_until(bus, "g", "c2", collect, lambda: len(later) == 1)
    assert later == [b"later"]


async def test_every_group_sees_every_message(bus: Bus) -> None:
    for i in range(5):
        await bus.publish(STREAM, bytes([i]))
    for group in ("hub", "metrics"):
        seen: list[bytes] = []

        async def handle(data: bytes, seen: list[bytes] = seen) -> None:
            seen.append(data)

        await consume_until(bus, group, "c", handle, lambda seen=seen: len(seen) == 5)  # type: ignore[misc]
        assert seen == [bytes([i]) for i in range(5)]


async def test_consumers_of_one_group_share_the_work_exactly_once(bus: Bus) -> None:
    total = 40
    for i in range(total):
        await bus.publish(STREAM, str(i).encode())
    seen: list[tuple[str, bytes]] = []
    stop = asyncio.Event()

    def handler(name: str) -> Callable[[bytes], Awaitable[None]]:
        async def handle(data: bytes) -> None:
            seen.append((name, data))
            await asyncio.sleep(0.005)  # let the other consumer take a turn
            if len(seen) >= total:
                stop.set()

        return handle

    await asyncio.wait_for(
        asyncio.gather(
            bus.consume(STREAM, "g", "a", handler("a"), stop=stop),
            bus.consume(STREAM, "g", "b", handler("b"), stop=stop),
        ),
        15,
    )
    assert sorted(int(data) for _, data in seen) == list(range(total))
    assert {name for name, _ in seen} == {"a", "b"}


async def test_a_message_that_keeps_failing_goes_to_the_dead_letter_stream(bus: Bus) -> None:
    await bus.publish(STREAM, b"poison")
    await bus.publish(STREAM, b"ok")
    attempts: Counter[bytes] = Counter()
    handled: list[bytes] = []

    async def handle(data: bytes) -> None:
        attempts[data] += 1
        if data == b"poison":
            raise ValueError("cannot parse")
        handled.append(data)

    await consume_until(bus, "g", "c", handle, lambda: attempts[b"poison"] >= 5, timeout_s=15)
    dead: list[bytes] = []

    async def collect(data: bytes) -> None:
        dead.append(data)

    await consume_until(
        bus, "inspect", "c", collect, lambda: len(dead) == 1, stream=dead_letter_stream(STREAM)
    )
    assert dead == [b"poison"]
    assert attempts[b"poison"] == 5 and handled == [b"ok"]


async def test_stop_ends_consume_promptly(bus: Bus) -> None:
    stop = asyncio.Event()

    async def never(_data: bytes) -> None:
        raise AssertionError("nothing was published")

    task = asyncio.create_task(bus.consume(STREAM, "g", "c", never, stop=stop))
    await asyncio.sleep(0.2)
    stop.set()
    await asyncio.wait_for(task, 3)
