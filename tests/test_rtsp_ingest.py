"""A camera over real RTSP (GStreamer's server): frames flow, the server dies and comes back,
the worker reconnects by itself and reports the camera's health on the way."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cameras.backoff import Backoff
from cameras.source import SourceOptions
from hub.contracts import CameraHealth, CameraState, GeoPoint
from tests.fakes import RecordingDetector
from tests.rtsp_server import RtspServer
from xueliang.config import default_camera
from xueliang.inference import InferenceThread, batching
from xueliang.supervise import CameraWatch

CLIP = Path(__file__).with_name("data") / "vtest-20s.mp4"
CANARY = "c4n4ry%40pw"  # a password (percent-encoded "@") that must surface nowhere
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@pytest.fixture
def rtsp_server() -> Iterator[RtspServer]:
    server = RtspServer(CLIP)
    server.start()
    yield server
    server.kill()


async def wait_for(condition: object, timeout_s: float) -> float:
    """Seconds until `condition()` held; fails after `timeout_s`."""
    started = time.monotonic()
    while not condition():  # type: ignore[operator]
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"not within {timeout_s} s")
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def test_camera_survives_its_rtsp_server_dying_for_ten_seconds(
    rtsp_server: RtspServer,
) -> None:
    url = rtsp_server.url.replace("rtsp://", f"rtsp://admin:{CANARY}@")
    camera = default_camera(url).model_copy(
        update={"id": "rtsp-cam", "location": GeoPoint(lat=31.0, lon=121.0)}
    )
    reports: list[CameraHealth] = []

    async def alerts(_alert: object) -> None:
        return None

    async def health(report: CameraHealth) -> None:
        reports.append(report)

    detector = RecordingDetector()
    inference = InferenceThread(detector)
    stop = asyncio.Event()
    async with batching(inference, cameras=1) as batched:
        watch = CameraWatch(
            camera, batched, alerts, health,
            SourceOptions(realtime=False), backoff=Backoff(), health_interval_s=1.0,
        )  # fmt: skip
        task = asyncio.create_task(watch.run(stop))
        await wait_for(lambda: reports and reports[-1].state is CameraState.ONLINE, 20)
        assert sum(detector.calls) >= 1
        await asyncio.sleep(2.5)  # past the first seconds' burst of buffered packets
        assert 6 <= reports[-1].input_fps <= 14  # the clip is 10 frames/s

        rtsp_server.kill()
        killed_at = time.monotonic()
        await wait_for(lambda: reports[-1].state is CameraState.OFFLINE, 15)
        await asyncio.sleep(max(0.0, killed_at + 10 - time.monotonic()))  # away 10 s in all
        frames_during_outage = sum(detector.calls)
        rtsp_server.start()
        back_s = await wait_for(lambda: sum(detector.calls) > frames_during_outage, 15)
        stop.set()
        await asyncio.wait_for(task, 10)
    inference.close()
    assert back_s < 10  # frames flow again within 10 s of the server's return
    assert watch.opened >= 2 and watch.tracker.reconnects >= 1
    errors = [r.last_error for r in reports if r.last_error]
    assert errors, "the outage left no error on the camera's health"
    for report in reports:
        text = report.model_dump_json()
        assert "c4n4ry" not in text and CANARY not in text
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "rtsp-recovery.json").write_text(
        json.dumps({"frames_again_after_server_return_s": round(back_s, 2)}) + "\n"
    )
