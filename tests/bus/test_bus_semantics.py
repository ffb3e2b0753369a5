"""The delivery contract (see `xueliang.bus`), run against the in-process bus and Redis Streams
alike: the `bus` fixture is parametrised over both."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Awaitable, Callable

from tests.bus.conftest import RETRY_DELAY_S
from xueliang.bus import DEFAULT_MAX_DELIVERIES, Bus, dead_letter_stream


async def consume_until(
    bus: Bus,
    stream: str,
    group: str,
    consumer: str,
    handler: Callable[[bytes], Awaitable[None]],
    done: Callable[[], bool],
    timeout_s: float = 10.0,
) -> None:
    """Run one consumer until `done()` holds after a handler call (which may have raised)."""
    stop = asyncio.Event()

    async def wrapped(data: bytes) -> None:
        try:
            await handler(data)
        finally:
            if done():
                stop.set()

    await asyncio.wait_for(bus.consume(stream, group, consumer, wrapped, stop=stop), timeout_s)


async def collect_one(bus: Bus, stream: str, group: str) -> list[bytes]:
    """What a fresh consumer of `group` gets first, after everything older was handled."""
    got: list[bytes] = []

    async def collect(data: bytes) -> None:
        got.append(data)

    await consume_until(bus, stream, group, "late", collect, lambda: len(got) == 1)
    return got


async def test_messages_arrive_in_order(bus: Bus, stream: str) -> None:
    sent = [f"m{i}".encode() for i in range(20)]
    ids = [await bus.publish(stream, data) for data in sent]
    assert len(set(ids)) == 20 and all(isinstance(i, str) for i in ids)
    seen: list[bytes] = []

    async def handle(data: bytes) -> None:
        seen.append(data)

    await consume_until(bus, stream, "g", "c1", handle, lambda: len(seen) == 20)
    assert seen == sent


async def test_a_failed_message_is_redelivered_then_acknowledged_once(
    bus: Bus, stream: str
) -> None:
    await bus.publish(stream, b"flaky")
    await bus.publish(stream, b"fine")
    attempts: Counter[bytes] = Counter()
    handled: list[bytes] = []

    async def handle(data: bytes) -> None:
        attempts[data] += 1
        if data == b"flaky" and attempts[data] < 3:
            raise RuntimeError("database busy")
        handled.append(data)

    await consume_until(bus, stream, "g", "c1", handle, lambda: len(handled) == 2)
    assert sorted(handled) == [b"fine", b"flaky"]
    assert attempts == {b"flaky": 3, b"fine": 1}
    # Nothing is left pending: a later consumer of the group gets nothing old.
    await bus.publish(stream, b"later")
    assert await collect_one(bus, stream, "g") == [b"later"]


async def test_a_redelivery_waits_for_the_retry_delay(bus: Bus, stream: str) -> None:
    await bus.publish(stream, b"flaky")
    times: list[float] = []

    async def handle(_data: bytes) -> None:
        times.append(time.monotonic())
        if len(times) < 3:
            raise RuntimeError("not yet")

    await consume_until(bus, stream, "g", "c", handle, lambda: len(times) == 3)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert all(gap >= RETRY_DELAY_S * 0.9 for gap in gaps), gaps
    assert all(gap < 2.0 for gap in gaps), gaps  # and it does come back, without a claim


async def test_every_group_sees_every_message(bus: Bus, stream: str) -> None:
    """Both groups exist before the messages come (a group created later starts at the oldest
    message still retained, and acknowledged ones are trimmed)."""
    seen: dict[str, list[bytes]] = {"hub": [], "metrics": []}

    def run(group: str) -> Awaitable[None]:
        async def handle(data: bytes) -> None:
            seen[group].append(data)

        return consume_until(bus, stream, group, "c", handle, lambda: len(seen[group]) == 5)

    consumers = [asyncio.ensure_future(run(group)) for group in seen]
    await asyncio.sleep(0.3)  # both groups created
    for i in range(5):
        await bus.publish(stream, bytes([i]))
    await asyncio.gather(*consumers)
    assert seen == {group: [bytes([i]) for i in range(5)] for group in seen}


async def test_consumers_of_one_group_share_the_work_exactly_once(bus: Bus, stream: str) -> None:
    total = 40
    for i in range(total):
        await bus.publish(stream, str(i).encode())
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
            bus.consume(stream, "g", "a", handler("a"), stop=stop),
            bus.consume(stream, "g", "b", handler("b"), stop=stop),
        ),
        15,
    )
    assert sorted(int(data) for _, data in seen) == list(range(total))
    assert {name for name, _ in seen} == {"a", "b"}


async def test_a_message_that_keeps_failing_goes_to_the_dead_letter_stream(
    bus: Bus, stream: str
) -> None:
    await bus.publish(stream, b"poison")
    await bus.publish(stream, b"ok")
    attempts: Counter[bytes] = Counter()
    handled: list[bytes] = []

    async def handle(data: bytes) -> None:
        attempts[data] += 1
        if data == b"poison":
            raise ValueError("cannot parse")
        handled.append(data)

    await consume_until(
        bus, stream, "g", "c", handle, lambda: attempts[b"poison"] >= DEFAULT_MAX_DELIVERIES
    )
    assert await collect_one(bus, dead_letter_stream(stream), "inspect") == [b"poison"]
    assert attempts[b"poison"] == DEFAULT_MAX_DELIVERIES and handled == [b"ok"]
    # The dead message was acknowledged: the group moves on and never retries it.
    await bus.publish(stream, b"next")
    assert await collect_one(bus, stream, "g") == [b"next"]
    assert attempts[b"poison"] == DEFAULT_MAX_DELIVERIES


async def test_stop_ends_consume_promptly(bus: Bus, stream: str) -> None:
    stop = asyncio.Event()

    async def never(_data: bytes) -> None:
        raise AssertionError("nothing was published")

    task = asyncio.create_task(bus.consume(stream, "g", "c", never, stop=stop))
    await asyncio.sleep(0.2)
    assert not task.done()  # it waits for messages until told to stop
    stop.set()
    started = time.monotonic()
    await asyncio.wait_for(task, 3)
    assert time.monotonic() - started < 1.0


async def test_stop_lets_the_handler_in_progress_finish_and_acknowledges_it(
    bus: Bus, stream: str
) -> None:
    await bus.publish(stream, b"slow")
    stop = asyncio.Event()
    entered = asyncio.Event()
    release = asyncio.Event()
    finished: list[bytes] = []

    async def slow(data: bytes) -> None:
        entered.set()
        await release.wait()
        finished.append(data)

    task = asyncio.create_task(bus.consume(stream, "g", "c", slow, stop=stop))
    await asyncio.wait_for(entered.wait(), 5)
    stop.set()
    await asyncio.sleep(0.1)
    assert not task.done()  # stop does not cancel the handler
    release.set()
    await asyncio.wait_for(task, 3)
    assert finished == [b"slow"]
    await bus.publish(stream, b"next")
    assert await collect_one(bus, stream, "g") == [b"next"]  # "slow" was acknowledged
