"""The demo's camera in the hub: registered (so the map and the live view list it), its snapshot
and live view played from the footage, looped in real time with time that keeps going, and no
other camera reachable."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest

from cameras.pyav import replay_native
from hub.camera_registry import CameraRegistry
from tests.conftest import FOOTAGE_CLIP
from tests.hub.conftest import Hub, _serve
from tests.hub.test_live_video import Browser
from xueliang.config import default_camera
from xueliang.demo_camera import FootageGateway, register_demo_camera

CLIP_FPS = 10  # the committed footage's rate


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Half a second of the footage (5 frames), so that a few seconds loop it several times."""
    clip = tmp_path_factory.mktemp("demo-camera") / "short.mp4"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-i", str(FOOTAGE_CLIP), "-t", "0.5", "-an",
         "-c:v", "libx264", "-g", "5", "-pix_fmt", "yuv420p", str(clip)],
        check=True, timeout=60,
    )  # fmt: skip
    return clip


def test_replayed_footage_loops_paced_with_time_going_on(short_clip: Path) -> None:
    wanted = 12  # over two passes of a 5-frame clip
    times: list[float] = []
    started = time.monotonic()
    for frame in replay_native(str(short_clip), lambda: len(times) >= wanted):
        frame_any: Any = frame
        times.append(float(frame_any.pts * frame_any.time_base))
    elapsed_s = time.monotonic() - started
    assert len(times) == wanted
    assert all(later > earlier for earlier, later in pairwise(times)), times
    assert times[-1] == pytest.approx((wanted - 1) / CLIP_FPS, abs=0.02)
    assert elapsed_s >= 0.8 * (wanted - 1) / CLIP_FPS  # real time, not as fast as it decodes


@pytest.fixture
async def demo_hub(tmp_path: Path, short_clip: Path) -> AsyncIterator[Hub]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async for running in _serve(tmp_path, url, FootageGateway(short_clip)):
        registry = CameraRegistry(running.store.engine)
        await register_demo_camera(registry, default_camera(str(short_clip)))
        await register_demo_camera(registry, default_camera(str(short_clip)))  # a second run
        yield running


async def test_the_demo_camera_is_on_the_map_with_a_snapshot_and_a_live_view(
    demo_hub: Hub,
) -> None:
    viewer = Browser()
    async with httpx.AsyncClient(base_url=demo_hub.base, headers=demo_hub.auth, timeout=20) as c:
        listed = (await c.get("/api/live/cameras")).json()
        assert [camera["id"] for camera in listed] == ["demo-plaza"]
        layers = (await c.get("/api/map")).json()
        assert "demo-plaza" in str(layers["cameras"])
        snapshot = await c.get("/api/cameras/demo-plaza/snapshot.jpg")
        assert snapshot.status_code == 200 and snapshot.content.startswith(b"\xff\xd8")
        try:
            answer = await viewer.watch(c, "demo-plaza")
            assert answer.status_code == 200, answer.text
            async with asyncio.timeout(15):
                while len(viewer.widths) < 3:  # noqa: ASYNC110 (frames arrive on the loop)
                    await asyncio.sleep(0.05)
            assert set(viewer.widths) == {768}
        finally:
            await viewer.close()


async def test_the_demo_reaches_no_other_camera(demo_hub: Hub) -> None:
    async with httpx.AsyncClient(base_url=demo_hub.base, headers=demo_hub.auth) as c:
        other = {"id": "gate", "rtsp_url": "rtsp://192.168.1.20/stream",
                 "location": {"lat": 30.66, "lon": 104.07}}  # fmt: skip
        refused = await c.post("/api/cameras", json=other)
        assert refused.status_code == 422 and "no camera network" in refused.text
        probe = await c.post("/api/cameras/probe", json={"onvif": {"host": "192.168.1.20"}})
        assert probe.status_code == 422 and "no camera network" in probe.text
