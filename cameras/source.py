"""`FrameSource`: decode in a thread, hand frames to the event loop through a bounded queue.

Two delivery modes:
- `lossless` (replay, tests): the decode thread waits for the consumer, nothing is dropped;
- live (the default): the queue keeps the newest frames, the oldest is dropped and counted.
Optionally paced in real time (a file replayed as if it were a live camera) and looped forever.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from cameras.pyav import (
    DecodedFrame,
    FrameInfo,
    KeyframeFilter,
    VideoError,
    VideoReader,
    open_video,
)

_END = object()


@dataclass(frozen=True)
class SourceOptions:
    realtime: bool = True  # pace frames by their timestamps
    loop_forever: bool = False  # restart at the end (demo footage), timestamps keep increasing
    lossless: bool = False  # block the decoder instead of dropping frames
    keyframes_only: bool = False
    keyframe_filter: KeyframeFilter = "packet"
    queue_size: int = 4


class FrameSource:
    def __init__(
        self,
        url: str,
        options: SourceOptions,
        keep: Callable[[FrameInfo], bool] | None = None,
    ) -> None:
        self._url = url
        self._options = options
        self._keep = keep
        self._stop = threading.Event()
        self._queue: asyncio.Queue[object] = asyncio.Queue(maxsize=options.queue_size)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.dropped = 0
        self.decoded = 0
        self._packets_before = 0  # packets of readers already closed
        self._reader: VideoReader | None = None
        self.fps: float | None = None  # the stream's nominal rate, once opened
        self.end_pts_s = 0.0  # stream time just after the last frame seen

    async def frames(self) -> AsyncIterator[DecodedFrame]:
        """Yields frames until the input ends; raises `VideoError` if it cannot be read."""
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name="decode", daemon=True)
        self._thread.start()
        try:
            while True:
                item = await self._queue.get()
                if item is _END:
                    return
                if isinstance(item, VideoError):
                    raise item
                assert isinstance(item, DecodedFrame)
                yield item
        finally:
            self.close()

    def close(self) -> None:
        self._stop.set()

    @property
    def packets_in(self) -> int:
        """Video packets read so far (all passes of a looped file): the input rate for health."""
        reader = self._reader
        return self._packets_before + (reader.packets if reader is not None else 0)

    # --- decode thread ---

    def _run(self) -> None:
        try:
            self._decode_all()
        except VideoError as error:
            self._hand_over(error)
        except Exception as error:  # never let the thread die silently
            self._hand_over(VideoError(f"decoding failed: {type(error).__name__}"))
        self._hand_over(_END)

    def _decode_all(self) -> None:
        offset_s = 0.0
        clock_start: float | None = None
        while not self._stop.is_set():
            reader = open_video(
                self._url,
                keyframes_only=self._options.keyframes_only,
                keyframe_filter=self._options.keyframe_filter,
            )
            self._reader = reader
            self.fps = reader.fps
            frame_step_s = 1.0 / reader.fps
            last_pts_s: float | None = None
            try:
                for frame in reader.frames(self._keep_shifted(offset_s)):
                    if self._stop.is_set():
                        return
                    pts_s = frame.pts_s + offset_s
                    last_pts_s = pts_s
                    if self._options.realtime:
                        clock_start = self._pace(clock_start, pts_s)
                    self.decoded += 1
                    self._hand_over(DecodedFrame(pts_s, frame.image, frame.is_keyframe))
            finally:
                self._packets_before += reader.packets
                self._reader = None
                reader.close()
            end_s = (last_pts_s if last_pts_s is not None else offset_s) + frame_step_s
            self.end_pts_s = max(self.end_pts_s, end_s)
            if not self._options.loop_forever or last_pts_s is None:
                return
            offset_s = self.end_pts_s

    def _keep_shifted(self, offset_s: float) -> Callable[[FrameInfo], bool] | None:
        keep = self._keep
        if keep is None:
            return None

        def shifted(info: FrameInfo) -> bool:
            self.end_pts_s = max(self.end_pts_s, info.pts_s + offset_s)
            return keep(FrameInfo(info.pts_s + offset_s, info.is_keyframe))

        return shifted

    def _pace(self, clock_start: float | None, pts_s: float) -> float:
        now = time.monotonic()
        if clock_start is None:
            return now - pts_s
        delay = clock_start + pts_s - now
        if delay > 0:
            self._stop.wait(delay)
        return clock_start

    def _hand_over(self, item: object) -> None:
        loop = self._loop
        assert loop is not None
        if self._options.lossless or not isinstance(item, DecodedFrame):
            if self._stop.is_set():  # the consumer is gone
                return
            put = self._queue.put(item)
            try:
                future = asyncio.run_coroutine_threadsafe(put, loop)
            except RuntimeError:  # the loop closed under us
                put.close()
                self._stop.set()
                return
            while not self._stop.is_set():
                try:
                    future.result(timeout=0.2)
                    return
                except TimeoutError:
                    continue
            future.cancel()
            return
        try:
            loop.call_soon_threadsafe(self._offer, item)
        except RuntimeError:  # the loop closed under us: nobody is listening any more
            self._stop.set()

    def _offer(self, item: object) -> None:
        """On the loop: keep the newest frames, drop (and count) the oldest."""
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(item)
