"""Batched consumption (`consume_batch`) and `backlog`, run against the in-process bus and Redis
Streams alike (the `bus` fixture is parametrised over both), in the style of
`test_bus_semantics.py`."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest

from tests.bus.test_bus_semantics import collect_one
from xueliang.bus import DEFAULT_MAX_DELIVERIES, Bus, dead_letter_stream

BatchFn = Callable[[list[bytes]], Awaitable[None]]


async def consume_batches_until(
    bus: Bus,
    stream: str,
    handler: BatchFn,
    done: Callable[[], bool],
    *,
    max_batch: int = 10,
    timeout_s: float = 10.0,
) -> None:
    """Run one batch consumer of group "g" until `done()` holds after a handler call."""
    stop = asyncio.Event()

    async def wrapped(batch: list[bytes]) -> None:
        try:
            await handler(batch)
        finally:
            if done():
                stop.set()

    await asyncio.wait_for(
        bus.consume_batch(stream, "g", "c", wrapped, stop=stop, max_batch=max_batch), timeout_s
    )


async def test_batches_hold_what_is_waiting_in_order_up_to_max_batch(bus: Bus, stream: str) -> None:
    sent = [f"m{i}".encode() for i in range(25)]
    for data in sent:
        await bus.publish(stream, data)
    batches: list[list[bytes]] = []

    async def handle(batch: list[bytes]) -> None:
        batches.append(batch)

    await consume_batches_until(bus, stream, handle, lambda: sum(map(len, batches)) == 25)
    assert [data for batch in batches for data in batch] == sent
    assert all(1 <= len(batch) <= 10 for batch in batches)
    assert len(batches) <= 4  # 25 waiting messages come in a few batches, not 25 calls
    assert await bus.backlog(stream, "g") == 0  # all acknowledged


async def test_a_batch_is_acknowledged_only_after_its_handler_returned(
    bus: Bus, stream: str
) -> None:
    for data in (b"a", b"b", b"c"):
        await bus.publish(stream, data)
    stop = asyncio.Event()
    entered = asyncio.Event()
    release = asyncio.Event()
    handled: list[list[bytes]] = []

    async def slow(batch: list[bytes]) -> None:
        entered.set()
        await release.wait()
        handled.append(batch)

    task = asyncio.create_task(bus.consume_batch(stream, "g", "c", slow, stop=stop))
    await asyncio.wait_for(entered.wait(), 5)
    assert await bus.backlog(stream, "g") == 3  # taken, not yet acknowledged
    stop.set()
    await asyncio.sleep(0.1)
    assert not task.done()  # stop lets the batch in progress finish
    release.set()
    await asyncio.wait_for(task, 3)
    assert handled == [[b"a", b"b", b"c"]]
    assert await bus.backlog(stream, "g") == 0
    await bus.publish(stream, b"next")
    assert await collect_one(bus, stream, "g") == [b"next"]  # nothing delivered twice


async def test_a_failing_batch_is_handled_one_by_one_and_the_bad_message_dead_lettered(
    bus: Bus, stream: str
) -> None:
    for data in (b"a", b"poison", b"b"):
        await bus.publish(stream, data)
    calls: list[list[bytes]] = []
    stored: list[bytes] = []

    async def handle(batch: list[bytes]) -> None:
        calls.append(batch)
        if b"poison" in batch:
            raise ValueError("cannot parse")
        stored.extend(batch)

    def done() -> bool:
        return calls.count([b"poison"]) >= DEFAULT_MAX_DELIVERIES

    await consume_batches_until(bus, stream, handle, done)
    assert calls[0] == [b"a", b"poison", b"b"]  # one try as a batch ...
    assert sorted(stored) == [b"a", b"b"]  # ... then the good ones alone, once each
    alone = Counter(batch[0] for batch in calls if len(batch) == 1)
    assert alone == {b"a": 1, b"b": 1, b"poison": DEFAULT_MAX_DELIVERIES}
    assert await collect_one(bus, dead_letter_stream(stream), "inspect") == [b"poison"]
    await bus.publish(stream, b"next")
    assert await collect_one(bus, stream, "g") == [b"next"]  # the poison was acknowledged
    assert await bus.backlog(stream, "g") == 0


async def test_a_batch_that_fails_once_loses_nothing_and_duplicates_nothing(
    bus: Bus, stream: str
) -> None:
    sent = [bytes([i]) for i in range(6)]
    for data in sent:
        await bus.publish(stream, data)
    failures = 0
    stored: list[bytes] = []

    async def handle(batch: list[bytes]) -> None:
        nonlocal failures
        if failures == 0:  # the database hiccups once, under the first batch
            failures += 1
            raise RuntimeError("database busy")
        stored.extend(batch)

    await consume_batches_until(bus, stream, handle, lambda: len(stored) >= 6)
    assert stored == sent
    await bus.publish(stream, b"next")
    assert await collect_one(bus, stream, "g") == [b"next"]


async def test_backlog_counts_unread_and_pending_messages(bus: Bus, stream: str) -> None:
    assert await bus.backlog(stream, "g") == 0  # nothing published yet
    for i in range(5):
        await bus.publish(stream, bytes([i]))
    assert await bus.backlog(stream, "g") == 5  # a group that never read sees all of them
    seen: list[bytes] = []

    async def handle(batch: list[bytes]) -> None:
        seen.extend(batch)

    await consume_batches_until(bus, stream, handle, lambda: len(seen) >= 2, max_batch=2)
    assert seen[:2] == [bytes([0]), bytes([1])]
    assert await bus.backlog(stream, "g") == 5 - len(seen)
    # A group not created yet would start at the oldest message retained.
    assert await bus.backlog(stream, "other") == await bus.retained(stream)


async def test_max_batch_below_one_is_refused(bus: Bus, stream: str) -> None:
    async def handle(_batch: list[bytes]) -> None:
        return None

    with pytest.raises(ValueError, match="max_batch"):
        await bus.consume_batch(stream, "g", "c", handle, stop=asyncio.Event(), max_batch=0)
