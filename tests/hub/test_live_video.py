"""The live view relays one camera connection to many viewers: a real hub, the real gateway, a
GStreamer RTSP server asking for the canary password, and aiortc as the browsers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from cryptography.fernet import Fernet
from pydantic import SecretStr

from hub.gateway import Credentials, LiveStream
from tests.canary import CANARY_PASSWORD, CANARY_USER, assert_response_clean
from tests.conftest import FOOTAGE_CLIP
from tests.hub.conftest import Hub, _serve
from tests.rtsp_server import RtspServer
from xueliang.gateway import CameraAccess, network_policy

LINGER_S = 1.0
FRAMES_WANTED = 3
CLIP_WIDTH = 768


class CountingStream:
    def __init__(self, stream: LiveStream, gateway: CountingGateway) -> None:
        self._stream = stream
        self._gateway = gateway

    def frames(self, stop: Callable[[], bool]) -> Iterator[object]:
        return self._stream.frames(stop)

    def close(self) -> None:
        self._gateway.closes += 1
        self._stream.close()


class CountingGateway(CameraAccess):
    """The real gateway, counting the live view's upstream opens and closes."""

    opens = 0
    closes = 0

    async def open_live(self, stream_url: str, credentials: Credentials) -> LiveStream:
        stream = await super().open_live(stream_url, credentials)
        self.opens += 1
        return CountingStream(stream, self)


@dataclass
class Browser:
    """A receive-only WebRTC viewer, like the console's page."""

    pc: RTCPeerConnection = field(
        default_factory=lambda: RTCPeerConnection(RTCConfiguration(iceServers=[]))
    )
    widths: list[int] = field(default_factory=list)
    session_id: str = ""
    reader: asyncio.Task[None] | None = None

    async def watch(self, client: httpx.AsyncClient, camera_id: str) -> httpx.Response:
        self.pc.addTransceiver("video", direction="recvonly")
        self.pc.on("track", self._on_track)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        offer = {"type": "offer", "sdp": self.pc.localDescription.sdp}
        response = await client.post(f"/api/cameras/{camera_id}/live/offer", json=offer)
        if response.status_code == 200:
            answer = response.json()
            self.session_id = answer["session_id"]
            await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        return response

    def _on_track(self, track: MediaStreamTrack) -> None:
        self.reader = asyncio.create_task(self._read(track))

    async def _read(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame: Any = await track.recv()
                self.widths.append(int(frame.width))
        except MediaStreamError:
            return

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
        await self.pc.close()


@pytest.fixture
def protected_rtsp(tmp_path: Path) -> Iterator[RtspServer]:
    server = RtspServer(
        FOOTAGE_CLIP, user=CANARY_USER, password=CANARY_PASSWORD, secrets_dir=tmp_path
    )
    server.start()
    yield server
    server.kill()


@pytest.fixture
async def live_hub(tmp_path: Path) -> AsyncIterator[tuple[Hub, CountingGateway]]:
    gateway = CountingGateway(network_policy("127.0.0.1/32"), timeout_s=3.0)
    async for running in _serve(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}", gateway,
        secret_key=SecretStr(Fernet.generate_key().decode()), live_linger_s=LINGER_S,
        live_max_viewers_per_camera=2,
    ):  # fmt: skip
        yield running, gateway


def admin(hub: Hub) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=hub.base, headers=hub.auth, timeout=20,
        event_hooks={"response": [assert_response_clean]},  # never the canary password
    )  # fmt: skip


async def register(client: httpx.AsyncClient, camera_id: str, url: str) -> None:
    body = {"id": camera_id, "name": "东门 East gate", "rtsp_url": url,
            "username": CANARY_USER, "password": CANARY_PASSWORD,
            "location": {"lat": 30.66, "lon": 104.07}}  # fmt: skip
    response = await client.post("/api/cameras", json=body)
    assert response.status_code == 201, response.text


async def until(condition: Callable[[], bool], timeout_s: float) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110 (frames arrive on the loop)
            await asyncio.sleep(0.05)


async def test_two_viewers_share_one_camera_connection_closed_after_the_linger(
    live_hub: tuple[Hub, CountingGateway], protected_rtsp: RtspServer
) -> None:
    hub, gateway = live_hub
    viewers = [Browser(), Browser()]
    async with admin(hub) as client:
        await register(client, "gate", protected_rtsp.url)
        try:
            for viewer in viewers:
                response = await viewer.watch(client, "gate")
                assert response.status_code == 200, response.text
                assert "a=candidate" in response.json()["sdp"]  # gathered before answering
            await until(lambda: all(len(v.widths) >= FRAMES_WANTED for v in viewers), 20)
            assert all(set(v.widths) == {CLIP_WIDTH} for v in viewers)
            assert (gateway.opens, gateway.closes) == (1, 0)  # one camera connection for both
            listed = (await client.get("/api/live/cameras")).json()
            assert listed == [{"id": "gate", "name": "东门 East gate", "viewers": 2}]

            third = Browser()
            refused = await third.watch(client, "gate")  # per-camera limit: 2
            await third.close()
            assert refused.status_code == 429
            assert "limit" in refused.json()["detail"]

            gone = await client.delete(f"/api/cameras/gate/live/{viewers[0].session_id}")
            assert gone.status_code == 204
            await viewers[0].close()
            await viewers[1].close()  # no DELETE: the hub sees the peer connection close
            async with asyncio.timeout(10):
                while (await client.get("/api/live/cameras")).json()[0]["viewers"]:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            left_s = time.monotonic()
            assert gateway.closes == 0  # lingers: a reload would find it open
            await until(lambda: gateway.closes == 1, LINGER_S + 5)
            assert time.monotonic() - left_s >= LINGER_S * 0.8
            assert gateway.opens == 1
        finally:
            for viewer in viewers:
                await viewer.close()


async def test_a_lost_camera_ends_the_viewers_track(
    live_hub: tuple[Hub, CountingGateway], protected_rtsp: RtspServer,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    hub, gateway = live_hub
    viewer = Browser()
    async with admin(hub) as client:
        await register(client, "gate", protected_rtsp.url)
        try:
            assert (await viewer.watch(client, "gate")).status_code == 200
            await until(lambda: len(viewer.widths) >= 1, 20)
            protected_rtsp.kill()
            await until(lambda: viewer.reader is not None and viewer.reader.done(), 10)
            await until(lambda: gateway.closes == 1, 5)
            assert (await client.get("/api/live/cameras")).json()[0]["viewers"] == 0
        finally:
            await viewer.close()
    lost = [r.getMessage() for r in caplog.records if "upstream lost" in r.getMessage()]
    assert lost, "the lost camera was not logged"
