"""The aiortc adapter: the only module that imports aiortc. One viewer's peer connection.

Signalling is one request: the browser's offer in, the answer out with every candidate already
in it (aiortc gathers before `setLocalDescription` returns), so there is no trickle ICE. With no
ICE servers configured only host candidates are offered: loopback and LAN.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError

from hub.live_video import UpstreamEndedError, Viewer
from hub.settings import IceServer

log = logging.getLogger("xueliang.hub.webrtc")


class OfferError(ValueError):
    """The browser's offer cannot be answered; the message is safe to show."""


class RelayTrack(MediaStreamTrack):
    """A video track fed by the relay's viewer slot; ends when the camera's stream does."""

    kind = "video"

    def __init__(self, viewer: Viewer) -> None:
        super().__init__()
        self._viewer = viewer

    async def recv(self) -> Any:  # av's VideoFrame, opaque to the hub
        try:
            return await self._viewer.next_frame()
        except UpstreamEndedError:
            self.stop()
            raise MediaStreamError from None


class Peer:
    """One browser: `answer` its offer, then `connected` / `closed` tell how it goes."""

    def __init__(self, ice_servers: Sequence[IceServer]) -> None:
        servers = [
            RTCIceServer(
                urls=server.urls, username=server.username,
                credential=None if server.credential is None
                else server.credential.get_secret_value(),
            )
            for server in ice_servers
        ]  # fmt: skip
        # An explicit empty list: aiortc's default is Google's public STUN server.
        self._pc = RTCPeerConnection(RTCConfiguration(iceServers=servers))
        self.connected = asyncio.Event()
        self.closed = asyncio.Event()
        self._pc.on("connectionstatechange", self._changed)

    async def _changed(self) -> None:
        state = self._pc.connectionState
        if state == "connected":
            self.connected.set()
        elif state in ("failed", "closed"):
            await self.close()

    async def accept(self, offer_sdp: str) -> None:
        """Take the browser's offer, which must ask to receive video; raises OfferError."""
        try:
            await self._pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise OfferError(f"the SDP offer is invalid ({type(error).__name__})") from None
        if not any(t.kind == "video" for t in self._pc.getTransceivers()):
            raise OfferError("the SDP offer has no video section")

    async def answer(self, viewer: Viewer) -> str:
        """The answer SDP, sending the viewer's frames on the offered video section."""
        self._pc.addTrack(RelayTrack(viewer))  # takes the offered transceiver
        await self._pc.setLocalDescription(await self._pc.createAnswer())  # gathers first
        return str(self._pc.localDescription.sdp)

    async def close(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        await self._pc.close()
