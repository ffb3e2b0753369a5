"""The demo's camera as the hub sees it: registered in the hub's camera registry (so the map shows
it and the console offers its live view), reached through `FootageGateway`, which plays the
demo footage as the camera's stream. There is no camera network in the demo: discovery, ONVIF
and PTZ answer that clearly, and no other stream URL opens.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import cv2

from cameras.pyav import VideoError, open_video, replay_native
from hub.camera_models import CameraRecord, Discovered, OnvifEndpoint, ProbeReport
from hub.camera_registry import CameraRegistry
from hub.contracts import CameraSpec
from hub.gateway import CameraAccessError, Credentials, LiveStream

# What the registry keeps as the demo camera's stream: never opened as a URL (the gateway maps
# it to the footage file), and `.invalid` (RFC 2606) so that nothing could ever resolve it.
DEMO_STREAM_URL = "rtsp://demo-footage.invalid/stream"
NO_NETWORK = "the demo has no camera network: run `xueliang hub` to reach real cameras"


async def register_demo_camera(registry: CameraRegistry, camera: CameraSpec) -> None:
    """The worker's camera in the hub's registry (kept as it is when a run before added it)."""
    if await registry.get(camera.id) is not None:
        return
    placed = camera.model_dump(exclude={"id", "url", "username", "password_sealed"})
    record = CameraRecord(**placed, id=camera.id, stream_url=DEMO_STREAM_URL, tags=["demo"])
    await registry.add(record, None, None, datetime.now(UTC))


class FootageGateway:
    """A `CameraGateway` whose one camera is a video file, looped in real time."""

    def __init__(self, footage: Path) -> None:
        self.footage = footage

    def _check(self, url: str) -> None:
        if url != DEMO_STREAM_URL:
            raise CameraAccessError("refused_destination", NO_NETWORK)

    async def check_stream_url(self, url: str) -> None:
        self._check(url)

    async def probe_onvif(self, endpoint: OnvifEndpoint, credentials: Credentials) -> ProbeReport:
        raise CameraAccessError("unsupported", NO_NETWORK)

    async def discover(self, timeout_s: float) -> list[Discovered]:
        return []  # nothing answers on the demo's network

    async def goto_preset(
        self, endpoint: OnvifEndpoint, credentials: Credentials, preset_token: str
    ) -> None:
        raise CameraAccessError("unsupported", NO_NETWORK)

    async def snapshot(
        self, stream_url: str, snapshot_url: str | None, credentials: Credentials
    ) -> bytes:
        self._check(stream_url)
        return await asyncio.to_thread(self._first_frame_jpeg)

    def _first_frame_jpeg(self) -> bytes:
        try:
            reader = open_video(str(self.footage))
            try:
                frame = next(iter(reader.frames()), None)
            finally:
                reader.close()
        except VideoError as error:
            raise CameraAccessError("invalid_response", str(error)) from None
        if frame is None:
            raise CameraAccessError("no_frame", f"{self.footage.name}: no frame to show")
        ok, jpeg = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, 85])
        if not ok:
            raise CameraAccessError("no_frame", "the frame could not be encoded")
        return bytes(jpeg)

    async def open_live(self, stream_url: str, credentials: Credentials) -> LiveStream:
        self._check(stream_url)
        return FootageStream(str(self.footage))


class FootageStream:
    """The footage as the live view's upstream: paced, looped, opened in the relay's thread."""

    def __init__(self, path: str) -> None:
        self._path = path

    def frames(self, stop: Callable[[], bool]) -> Iterator[object]:
        try:
            yield from replay_native(self._path, stop)
        except VideoError as error:  # already safe to show
            raise CameraAccessError("invalid_response", str(error)) from None

    def close(self) -> None:
        return None  # each pass closes its own reader
