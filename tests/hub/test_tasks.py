"""The hub's background loops are restarted when they crash, and end on stop."""

from __future__ import annotations

import asyncio

from hub.tasks import Supervised


async def test_a_crashing_loop_is_restarted_until_stop() -> None:
    stop = asyncio.Event()
    runs = 0

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs < 3:
            raise RuntimeError("bus bug")
        await stop.wait()  # the third run stays up

    loop = Supervised("flaky", flaky, stop, backoff_initial_s=0.01)
    loop.start()
    async with asyncio.timeout(2):
        while runs < 3:  # noqa: ASYNC110 (waits on the supervised task)
            await asyncio.sleep(0.01)
    assert loop.running and loop.restarts == 2
    stop.set()
    await loop.join(timeout_s=1)
    assert not loop.running


async def test_a_loop_that_ignores_stop_is_cancelled_on_join() -> None:
    stop = asyncio.Event()
    cancelled = asyncio.Event()

    async def stubborn() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    loop = Supervised("stubborn", stubborn, stop)
    loop.start()
    await asyncio.sleep(0.01)
    stop.set()
    await loop.join(timeout_s=0.05)
    assert cancelled.is_set()
