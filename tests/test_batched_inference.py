"""The batching loop around the inference thread, with a stand-in detector that records calls."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np

from detection.batching import SUPERSEDED
from tests.fakes import RecordingDetector
from xueliang.inference import BatchedInference, InferenceThread, batching


def image(value: int) -> np.ndarray[Any, Any]:
    return np.full((4, 4, 3), value, dtype=np.uint8)


async def test_frames_of_several_cameras_share_one_inference_call() -> None:
    detector = RecordingDetector()
    inference = InferenceThread(detector)
    async with batching(inference, cameras=4) as batched:
        results = await asyncio.gather(
            *(batched.detect(f"cam-{i}", image(i)) for i in range(4))
        )
    inference.close()
    assert detector.calls == [4]
    # Each camera gets its own frame's answer back.
    assert [int(result.xyxy[0, 0]) for result in results if result is not None] == [0, 1, 2, 3]


async def test_a_lone_camera_is_not_held_longer_than_max_wait() -> None:
    detector = RecordingDetector()
    inference = InferenceThread(detector)
    batched = BatchedInference(inference, max_size=8, max_wait_s=0.05)
    stop = asyncio.Event()
    loop_task = asyncio.create_task(batched.run(stop))
    started = time.monotonic()
    result = await asyncio.wait_for(batched.detect("only", image(7)), 2)
    waited_s = time.monotonic() - started
    stop.set()
    await loop_task
    inference.close()
    assert result is not None and detector.calls == [1]
    assert waited_s < 1.0


async def test_a_newer_frame_of_the_same_camera_supersedes_the_waiting_one() -> None:
    detector = RecordingDetector()
    inference = InferenceThread(detector)
    batched = BatchedInference(inference, max_size=8, max_wait_s=0.2)
    stop = asyncio.Event()
    loop_task = asyncio.create_task(batched.run(stop))
    first = asyncio.create_task(batched.detect("cam", image(1)))
    await asyncio.sleep(0.01)
    second = await batched.detect("cam", image(2))
    stop.set()
    await loop_task
    inference.close()
    assert await first is None
    assert second is not None and int(second.xyxy[0, 0]) == 2
    assert batched.batcher.drops[SUPERSEDED] == 1


async def test_stopping_answers_every_waiting_frame() -> None:
    inference = InferenceThread(RecordingDetector())
    batched = BatchedInference(inference, max_size=8, max_wait_s=10)
    stop = asyncio.Event()
    loop_task = asyncio.create_task(batched.run(stop))
    waiting = asyncio.create_task(batched.detect("cam", image(1)))
    await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(loop_task, 2)
    inference.close()
    assert await asyncio.wait_for(waiting, 1) is None


async def test_a_camera_stopped_while_its_frame_waits_does_not_stop_the_others() -> None:
    detector = RecordingDetector(delay_s=0.2)
    inference = InferenceThread(detector)
    batched = BatchedInference(inference, max_size=2, max_wait_s=0.05)
    stop = asyncio.Event()
    loop_task = asyncio.create_task(batched.run(stop))
    first = asyncio.create_task(batched.detect("leaving", image(1)))
    other = asyncio.create_task(batched.detect("staying", image(2)))
    await asyncio.sleep(0.1)  # both in the batch being inferred
    first.cancel()  # the fleet stops that camera mid-inference
    assert await asyncio.wait_for(other, 2) is not None
    later = await asyncio.wait_for(batched.detect("staying", image(3)), 2)
    assert later is not None and not loop_task.done()  # the loop survived
    stop.set()
    await loop_task
    inference.close()
