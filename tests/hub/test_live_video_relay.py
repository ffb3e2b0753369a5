"""The relay on its own, with a stand-in stream: latest frame wins, a viewer arriving during the
linger reuses the open connection, and the limits count every viewer."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from hub.gateway import CameraAccessError, LiveStream
from hub.live_video import LiveRelay, UpstreamEndedError, ViewerLimitError


class Counter:
    """A stream of integers, one a millisecond, until stopped or `count` reached."""

    def __init__(self, count: int = 10**9) -> None:
        self.count = count
        self.opens = 0
        self.closed = threading.Event()

    async def open(self) -> LiveStream:
        self.opens += 1
        return self

    def frames(self, stop: Callable[[], bool]) -> Iterator[object]:
        for number in range(self.count):
            if stop():
                return
            time.sleep(0.001)
            yield number

    def close(self) -> None:
        self.closed.set()


async def test_a_slow_viewer_gets_the_latest_frame_and_nothing_queues() -> None:
    source = Counter()
    relay = LiveRelay(max_per_camera=2, max_total=3, linger_s=0)
    viewer = relay.join("cam", source.open)
    await viewer.opened()
    first = await viewer.next_frame()
    await asyncio.sleep(0.2)  # the thread decodes on while the viewer reads nothing
    later = await viewer.next_frame()
    assert isinstance(first, int) and isinstance(later, int)
    assert later - first > 10  # skipped to the latest, not the next in a queue
    relay.leave(viewer)
    await asyncio.to_thread(source.closed.wait, 5)
    assert source.closed.is_set() and source.opens == 1


async def test_a_viewer_arriving_during_the_linger_reuses_the_connection() -> None:
    source = Counter()
    relay = LiveRelay(max_per_camera=2, max_total=3, linger_s=0.5)
    first = relay.join("cam", source.open)
    await first.opened()
    relay.leave(first)
    await asyncio.sleep(0.2)  # within the linger: a reload
    second = relay.join("cam", source.open)
    await second.opened()
    await second.next_frame()
    await asyncio.sleep(0.5)  # the first viewer's linger would have ended by now
    assert source.opens == 1 and not source.closed.is_set()
    await relay.close()
    assert source.closed.is_set()
    with pytest.raises(UpstreamEndedError):
        while True:
            await second.next_frame()


async def test_limits_per_camera_and_per_hub() -> None:
    relay = LiveRelay(max_per_camera=2, max_total=3, linger_s=0)
    sources = [Counter(), Counter()]
    relay.join("a", sources[0].open)
    relay.join("a", sources[0].open)
    with pytest.raises(ViewerLimitError) as per_camera:
        relay.join("a", sources[0].open)
    relay.join("b", sources[1].open)
    with pytest.raises(ViewerLimitError) as per_hub:
        relay.join("b", sources[1].open)
    assert (per_camera.value.scope, per_hub.value.scope) == ("camera", "hub")
    assert relay.viewers == 3 and relay.opens == 2
    await relay.close()


async def test_a_stream_that_cannot_open_fails_every_waiting_viewer() -> None:
    async def refused() -> LiveStream:
        raise CameraAccessError("bad_credentials", "the camera rejected the password")

    relay = LiveRelay(max_per_camera=2, max_total=3, linger_s=0)
    viewers = [relay.join("cam", refused), relay.join("cam", refused)]
    for viewer in viewers:
        with pytest.raises(CameraAccessError):
            await viewer.opened()
    assert relay.watching("cam") == 0  # the failed upstream left the table
