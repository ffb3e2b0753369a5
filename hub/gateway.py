"""What the hub needs from the camera side, as a protocol: the hub never imports `cameras/`.

The composition root (`xueliang/gateway.py`) implements it with the SSRF guard, the ONVIF client
and the video decoder; tests may pass their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal, Protocol

from hub.camera_models import Discovered, OnvifEndpoint, ProbeReport

Reason = Literal[
    "refused_destination",  # the URL's form or its network is not allowed
    "timeout",
    "unreachable",
    "bad_credentials",
    "not_found",  # no stream at that path
    "unsupported",
    "invalid_response",
    "no_frame",
]
TRANSIENT: frozenset[Reason] = frozenset({"timeout", "unreachable", "no_frame"})


class CameraAccessError(Exception):
    """The camera could not be reached or refused us; the message is safe to show and log."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason: Reason = reason

    @property
    def transient(self) -> bool:
        """Worth retrying later (versus: fix the registration first)."""
        return self.reason in TRANSIENT


@dataclass(frozen=True)
class Credentials:
    username: str | None
    password: str | None

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password=***)"


class LiveStream(Protocol):
    """One open upstream connection to a camera's video. Blocking: read it from a thread."""

    def frames(self, stop: Callable[[], bool]) -> Iterator[object]:
        """Decoded frames as the WebRTC adapter sends them (opaque to the hub), until the stream
        ends or `stop()`; raises CameraAccessError (safe to log) when the stream fails."""

    def close(self) -> None:
        """Let go of the camera (called by the thread that read the frames)."""


class CameraGateway(Protocol):
    async def check_stream_url(self, url: str) -> None:
        """Raise CameraAccessError("refused_destination") unless the URL may be opened."""

    async def probe_onvif(self, endpoint: OnvifEndpoint, credentials: Credentials) -> ProbeReport:
        """Device information, profiles with checked stream URLs, snapshot URL, PTZ presets."""

    async def snapshot(
        self, stream_url: str, snapshot_url: str | None, credentials: Credentials
    ) -> bytes:
        """A JPEG: from the device's snapshot URL when it has one, else a decoded frame."""

    async def discover(self, timeout_s: float) -> list[Discovered]:
        """ONVIF devices answering a WS-Discovery probe within `timeout_s`."""

    async def goto_preset(
        self, endpoint: OnvifEndpoint, credentials: Credentials, preset_token: str
    ) -> None:
        """Send a PTZ camera to a preset (of the endpoint's profile)."""

    async def open_live(self, stream_url: str, credentials: Credentials) -> LiveStream:
        """Check the URL against the camera networks and open the stream for the live view;
        raises CameraAccessError (safe to show) when it cannot be opened."""
