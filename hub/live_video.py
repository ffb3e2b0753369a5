"""The live view's relay: one upstream connection per camera, shared by all of its viewers.

The upstream opens with the first viewer and closes `linger_s` after the last one leaves (a
viewer who reloads the page finds it still open). Decoding runs in one thread per upstream; each
viewer holds only the latest frame (a slow viewer skips frames, nothing queues up). Frames are
opaque here: the gateway decodes them, the WebRTC adapter (hub/webrtc.py) sends them.

Why not aiortc's MediaRelay: it never closes its source when the last viewer leaves, and its
buffered mode is an unbounded queue per viewer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Literal

from hub.gateway import CameraAccessError, LiveStream

log = logging.getLogger("xueliang.hub.live_video")
Opener = Callable[[], Awaitable[LiveStream]]


class ViewerLimitError(Exception):
    """Too many viewers: of this camera (`scope="camera"`) or of the whole hub ("hub")."""

    def __init__(self, scope: Literal["camera", "hub"], limit: int) -> None:
        where = "this camera" if scope == "camera" else "this hub"
        super().__init__(f"{where} already has {limit} live viewers, its limit")
        self.scope = scope


class UpstreamEndedError(Exception):
    """The camera's stream ended or failed; the message is safe to show and log."""


class Viewer:
    """One viewer's slot: the latest frame, or why the stream ended."""

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream
        self.ended = asyncio.Event()
        self.reason: str | None = None
        self._frame: object | None = None
        self._ready = asyncio.Event()

    def offer(self, frame: object) -> None:
        self._frame = frame  # latest wins: an unsent older frame is dropped
        self._ready.set()

    def end(self, reason: str) -> None:
        self.reason = reason
        self.ended.set()
        self._ready.set()

    async def next_frame(self) -> object:
        """The next frame; raises UpstreamEndedError once the stream is gone."""
        while self._frame is None:
            if self.reason is not None:
                raise UpstreamEndedError(self.reason)
            self._ready.clear()
            await self._ready.wait()
        frame, self._frame = self._frame, None
        return frame

    async def opened(self) -> None:
        """Returns once the upstream is open; raises CameraAccessError if it could not be."""
        await asyncio.shield(self.upstream.opened)


class Upstream:
    """One camera connection: opened by `opener`, decoded in its own thread, fanned out."""

    def __init__(self, camera_id: str, opener: Opener, on_gone: Callable[[Upstream], None]) -> None:
        self.camera_id = camera_id
        self.viewers: set[Viewer] = set()
        self.frames = 0  # frames handed to viewers
        self.linger: asyncio.TimerHandle | None = None
        self._opener = opener
        self._on_gone = on_gone
        self._loop = asyncio.get_running_loop()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._latest: object | None = None
        self._wake_pending = False  # at most one delivery callback queued on the loop
        self.opened: asyncio.Future[None] = self._loop.create_future()
        self.done: asyncio.Future[None] = self._loop.create_future()
        self._task = asyncio.create_task(self._open(), name=f"live upstream {camera_id}")

    async def _open(self) -> None:
        try:
            try:
                stream = await self._opener()
            except CameraAccessError:
                raise
            except Exception as unexpected:  # a gateway bug must not leave viewers waiting
                name = type(unexpected).__name__
                raise CameraAccessError("unreachable", f"cannot open the stream ({name})") from None
        except CameraAccessError as error:
            self.opened.set_exception(error)
            self.opened.exception()  # retrieved: a viewer may already have gone
            self._finish(str(error))
            return
        if self._stop.is_set():  # closed while opening
            await asyncio.to_thread(stream.close)
            self.opened.set_result(None)
            self._finish(None)
            return
        self.opened.set_result(None)
        log.info("live view of camera %s: upstream open", self.camera_id)
        # Its own thread, not the default executor: a decode loop runs for as long as anyone
        # watches and would starve the pool's short jobs (snapshots, opens).
        threading.Thread(
            target=self._pump, args=(stream,), name=f"live {self.camera_id}", daemon=True
        ).start()

    def _pump(self, stream: LiveStream) -> None:
        """The decode thread: keeps the latest frame and wakes the loop (once) to deliver it."""
        failure: str | None = None
        try:
            for frame in stream.frames(self._stop.is_set):
                with self._lock:
                    self._latest = frame
                    wake, self._wake_pending = not self._wake_pending, True
                if wake:
                    self._soon(self._deliver)
        except CameraAccessError as error:  # already redacted by the gateway
            failure = str(error)
        except Exception as error:  # a decoder bug must still end the viewers' tracks
            failure = f"the decoder failed ({type(error).__name__})"
        finally:
            stream.close()
        self._soon(self._finish, failure)

    def _soon(self, callback: Callable[..., None], *args: object) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: the hub is shutting down
            self._loop.call_soon_threadsafe(callback, *args)

    def _deliver(self) -> None:
        with self._lock:
            frame, self._latest, self._wake_pending = self._latest, None, False
        if frame is None:
            return
        self.frames += 1
        for viewer in self.viewers:
            viewer.offer(frame)

    def _finish(self, failure: str | None) -> None:
        stopped = self._stop.is_set()
        reason = failure or "the camera's stream ended"
        if not stopped:
            log.warning("live view of camera %s: upstream lost: %s", self.camera_id, reason)
        else:
            log.info("live view of camera %s: upstream closed", self.camera_id)
        for viewer in self.viewers:
            viewer.end(reason if not stopped else "the live view was closed")
        if self.linger is not None:
            self.linger.cancel()
        self._on_gone(self)
        if not self.done.done():
            self.done.set_result(None)

    def stop(self) -> None:
        """Ask the decode thread to stop (it checks at every packet; reads have a deadline)."""
        self._stop.set()


class LiveRelay:
    """The hub's upstreams by camera, with the viewer limits and the linger."""

    def __init__(self, max_per_camera: int, max_total: int, linger_s: float) -> None:
        self.max_per_camera = max_per_camera
        self.max_total = max_total
        self.linger_s = linger_s
        self.opens = 0  # upstream connections opened so far
        self._upstreams: dict[str, Upstream] = {}
        self._closing: set[Upstream] = set()

    @property
    def viewers(self) -> int:
        return sum(len(upstream.viewers) for upstream in self._upstreams.values())

    def watching(self, camera_id: str) -> int:
        upstream = self._upstreams.get(camera_id)
        return 0 if upstream is None else len(upstream.viewers)

    def join(self, camera_id: str, opener: Opener) -> Viewer:
        """A new viewer of the camera, opening its upstream if none is open; raises
        ViewerLimitError. Await `viewer.opened()` before sending it frames."""
        if self.watching(camera_id) >= self.max_per_camera:
            raise ViewerLimitError("camera", self.max_per_camera)
        if self.viewers >= self.max_total:
            raise ViewerLimitError("hub", self.max_total)
        upstream = self._upstreams.get(camera_id)
        if upstream is None:
            upstream = Upstream(camera_id, opener, self._gone)
            self._upstreams[camera_id] = upstream
            self.opens += 1
        if upstream.linger is not None:
            upstream.linger.cancel()
            upstream.linger = None
        viewer = Viewer(upstream)
        upstream.viewers.add(viewer)
        return viewer

    def leave(self, viewer: Viewer) -> None:
        """The viewer is gone; the last one leaving starts the linger."""
        upstream = viewer.upstream
        upstream.viewers.discard(viewer)
        if upstream.viewers or self._upstreams.get(upstream.camera_id) is not upstream:
            return
        if upstream.linger is None:
            loop = asyncio.get_running_loop()
            upstream.linger = loop.call_later(self.linger_s, self._idle, upstream)

    def _idle(self, upstream: Upstream) -> None:
        upstream.linger = None
        if upstream.viewers or self._upstreams.get(upstream.camera_id) is not upstream:
            return
        self._retire(upstream)

    def _retire(self, upstream: Upstream) -> None:
        """Out of the table at once (a new viewer opens a fresh one), closed in the background."""
        del self._upstreams[upstream.camera_id]
        self._closing.add(upstream)
        upstream.stop()

    def _gone(self, upstream: Upstream) -> None:
        self._closing.discard(upstream)
        if self._upstreams.get(upstream.camera_id) is upstream:
            del self._upstreams[upstream.camera_id]

    async def close(self, timeout_s: float = 10.0) -> None:
        """Stop every upstream and wait (bounded) for their threads to let go."""
        for upstream in list(self._upstreams.values()):
            self._retire(upstream)
        waiting = [upstream.done for upstream in self._closing]
        if waiting:
            await asyncio.wait(waiting, timeout=timeout_s)
