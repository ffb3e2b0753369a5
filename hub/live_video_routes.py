"""Live camera view over WebRTC: signalling routes and the viewers' sessions.

`POST /api/cameras/{id}/live/offer` takes the browser's SDP offer and answers with the hub's;
the video comes from the relay (hub/live_video.py): one camera connection however many watch.
`DELETE .../live/{session_id}` ends a session at once (the page calls it on close); a viewer
whose connection fails or never comes up is dropped too. Camera credentials reach only the
gateway: answers, errors and logs carry none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, HTTPException, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from hub.access import Cells, Principal, in_scope
from hub.access_deps import visible_cells
from hub.auth import require_operator
from hub.camera_routes import CameraId, CameraService
from hub.gateway import LiveStream
from hub.live_video import LiveRelay, Viewer, ViewerLimitError
from hub.settings import HubSettings
from hub.webrtc import OfferError, Peer

log = logging.getLogger("xueliang.hub.live_video")
# Who may watch: the alert and incident readers, each within their grid scope.
Watcher = Annotated[Principal, Depends(require_operator)]
SessionId = Annotated[str, Path(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
MAX_SDP_CHARS = 20_000


class LiveOffer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["offer"]
    sdp: str = Field(min_length=1, max_length=MAX_SDP_CHARS)


class LiveAnswer(BaseModel):
    type: Literal["answer"] = "answer"
    sdp: str
    session_id: str


class LiveCamera(BaseModel):
    id: str
    name: str
    viewers: int


@dataclass
class Session:
    camera_id: str
    viewer: Viewer
    peer: Peer
    watch: asyncio.Task[None] | None = None


class LiveVideo:
    """The relay and the open sessions; `close()` at shutdown."""

    def __init__(self, settings: HubSettings, cameras: CameraService) -> None:
        self.settings = settings
        self.cameras = cameras
        self.relay = LiveRelay(
            settings.live_max_viewers_per_camera, settings.live_max_viewers, settings.live_linger_s
        )
        self.sessions: dict[str, Session] = {}


    async def start(self, camera_id: str, offer: LiveOffer, cells: Cells = None) -> LiveAnswer:
        """`cells`: the caller's grid scope; a camera outside it answers as an unknown one."""
        camera = await self.cameras.known(camera_id)  # 404 for an unknown camera
        if not in_scope(cells, self.cameras.cell_of(camera.record)):
            raise HTTPException(404, f"no camera {camera_id}")
        if not camera.record.enabled:
            raise HTTPException(409, "the camera is disabled")
        gateway = self.cameras.gateway  # 503 without one
        credentials = self.cameras.credentials(camera)
        stream_url = camera.record.stream_url

        async def opener() -> LiveStream:
            return await gateway.open_live(stream_url, credentials)

        peer = Peer(self.settings.live_ice_servers)
        try:
            await peer.accept(offer.sdp)  # a bad offer costs no camera connection
            viewer = self.relay.join(camera_id, opener)  # raises ViewerLimitError
        except BaseException:
            await peer.close()
            raise
        try:
            await viewer.opened()  # CameraAccessError: answered by the camera routes' handler
            sdp = await peer.answer(viewer)
        except BaseException:
            await peer.close()
            self.relay.leave(viewer)
            raise
        session_id = secrets.token_urlsafe(18)
        session = Session(camera_id, viewer, peer)
        self.sessions[session_id] = session
        session.watch = asyncio.create_task(self._watch(session_id, session))
        log.info("live view of camera %s: viewer joined (%d watching)",
                 camera_id, self.relay.watching(camera_id))  # fmt: skip
        return LiveAnswer(sdp=sdp, session_id=session_id)

    async def _watch(self, session_id: str, session: Session) -> None:
        """Ends the session when its peer fails or closes, never connects, or the camera's
        stream ends (the peer closes: the browser sees its track end)."""
        try:
            try:
                async with asyncio.timeout(self.settings.live_connect_timeout_s):
                    await session.peer.connected.wait()
            except TimeoutError:
                log.info("live view of camera %s: viewer never connected", session.camera_id)
                return
            gone = [asyncio.ensure_future(e.wait()) for e in (session.peer.closed,
                                                              session.viewer.ended)]  # fmt: skip
            try:
                await asyncio.wait(gone, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in gone:
                    waiter.cancel()
        finally:
            await self._end(session_id, session)

    async def _end(self, session_id: str, session: Session) -> None:
        if self.sessions.get(session_id) is not session:
            return
        del self.sessions[session_id]
        self.relay.leave(session.viewer)
        await session.peer.close()
        log.info("live view of camera %s: viewer left (%d watching)",
                 session.camera_id, self.relay.watching(session.camera_id))  # fmt: skip

    async def stop(self, camera_id: str, session_id: str) -> bool:
        session = self.sessions.get(session_id)
        if session is None or session.camera_id != camera_id:
            return False
        if session.watch is not None:
            session.watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await session.watch
        await self._end(session_id, session)
        return True

    async def close(self) -> None:
        for session_id, session in list(self.sessions.items()):
            await self.stop(session.camera_id, session_id)
        await self.relay.close()


def add_live_video_routes(app: FastAPI, live: LiveVideo) -> None:
    app.state.live_video = live

    @app.post("/api/cameras/{camera_id}/live/offer", response_model=LiveAnswer)
    async def offer(
        camera_id: CameraId, body: LiveOffer, who: Watcher, request: Request
    ) -> LiveAnswer:
        try:
            return await live.start(camera_id, body, visible_cells(request, who))
        except ViewerLimitError as error:
            status = 429 if error.scope == "camera" else 503
            raise HTTPException(status, str(error), headers={"Retry-After": "10"}) from None
        except OfferError as error:
            raise HTTPException(400, str(error)) from None

    @app.delete("/api/cameras/{camera_id}/live/{session_id}", status_code=204)
    async def hang_up(camera_id: CameraId, session_id: SessionId, _who: Watcher) -> Response:
        if not await live.stop(camera_id, session_id):
            raise HTTPException(404, "no such live session")
        return Response(status_code=204)

    @app.get("/api/live/cameras", response_model=list[LiveCamera])
    async def live_cameras(who: Watcher, request: Request) -> list[LiveCamera]:
        """The enabled cameras in the caller's scope the console offers a live view of, with
        their viewer counts."""
        cells = visible_cells(request, who)
        return [
            LiveCamera(id=c.record.id, name=c.record.name or c.record.id,
                       viewers=live.relay.watching(c.record.id))
            for c in await live.cameras.registry.list(enabled=True)
            if in_scope(cells, live.cameras.cell_of(c.record))
        ]  # fmt: skip
