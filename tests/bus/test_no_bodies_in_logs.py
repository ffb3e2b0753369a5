"""Message bodies may carry personal data: the bus logs ids and reasons, never a body."""

from __future__ import annotations

import asyncio
import logging

import pytest

from xueliang.bus import Bus, dead_letter_stream

CANARY = b"canary-body-4b1d"


async def test_failures_and_dead_letters_are_logged_without_the_body(
    bus: Bus, stream: str, caplog: pytest.LogCaptureFixture
) -> None:
    await bus.publish(stream, CANARY)
    attempts = 0
    stop = asyncio.Event()

    async def refuse(data: bytes) -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 5:
            stop.set()
        raise ValueError(f"cannot parse {data!r}")  # even a careless handler's message

    with caplog.at_level(logging.DEBUG, logger="xueliang.bus"):
        await asyncio.wait_for(bus.consume(stream, "g", "c", refuse, stop=stop), 10)
        dead: list[bytes] = []
        done = asyncio.Event()

        async def collect(data: bytes) -> None:
            dead.append(data)
            done.set()

        await asyncio.wait_for(
            bus.consume(dead_letter_stream(stream), "inspect", "c", collect, stop=done), 5
        )
    assert dead == [CANARY]
    assert any("ValueError" in record.getMessage() for record in caplog.records)
    assert CANARY.decode() not in caplog.text


async def test_a_failed_batch_is_logged_without_its_bodies(
    bus: Bus, stream: str, caplog: pytest.LogCaptureFixture
) -> None:
    await bus.publish(stream, CANARY)
    await bus.publish(stream, b"second")
    calls = 0
    stop = asyncio.Event()

    async def refuse(batch: list[bytes]) -> None:
        nonlocal calls
        calls += 1
        if len(batch) == 1:
            stop.set()  # the batch failed and its messages are being handled alone
            return
        raise ValueError(f"cannot store {batch!r}")

    with caplog.at_level(logging.DEBUG, logger="xueliang.bus"):
        await asyncio.wait_for(bus.consume_batch(stream, "g", "c", refuse, stop=stop), 10)
    assert calls >= 2
    assert any("batch handler failed" in record.getMessage() for record in caplog.records)
    assert CANARY.decode() not in caplog.text
