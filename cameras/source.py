"""`FrameSource`: decode in a thread, hand frames to the event loop through a bounded queue.

Two delivery modes:
- `lossless` (replay, tests): the decode thread waits for the consumer, nothing is dropped;
- live (the default): the queue keeps the newest frames, the oldest is dropped and counted.
Optionally paced in real time (a file replayed as if it were a live camera) and looped forever.

A stall watchdog (`cameras.health.stall_deadline_s`) guards the input twice: FFmpeg's read
deadline ends a read blocked inside FFmpeg, and the consumer side gives up on a reader that has
seen no packet for the deadline by itself (a local pipe has no FFmpeg deadline, a demuxer may spin
on packets of other streams); either way `frames()` raises `VideoError` and the caller reopens.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from cameras.health import is_stalled, stall_deadline_s
from cameras.pyav import (
    DecodedFrame,
    FrameInfo,
    KeyframeFilter,
    VideoError,
    VideoReader,
    open_video,
)
from cameras.urls import redact_url

_END = object()
WATCH_POLL_S = 0.25  # how often the consumer side checks the stall watchdog
READ_DEADLINE_GRACE_S = 1.0


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
        # (packets of readers already closed, the open reader): one attribute, so the loop
        # never reads a reader's packets twice or not at all while the thread swaps readers.
        self._tally: tuple[int, VideoReader | None] = (0, None)
        self.fps: float | None = None  # the stream's nominal rate, once opened
        self.end_pts_s = 0.0  # stream time just after the last frame seen
        # Monotonic time the decode thread last went back to reading the input; None while it
        # opens, paces or waits on the consumer. Written by the thread, read by the watchdog.
        self._reading_since_s: float | None = None

    async def frames(self) -> AsyncIterator[DecodedFrame]:
        """Yields frames until the input ends; raises `VideoError` if it cannot be read."""
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name="decode", daemon=True)
        self._thread.start()
        getter: asyncio.Future[object] | None = None
        try:
            while True:
                if getter is None:
                    getter = asyncio.ensure_future(self._queue.get())
                # Waiting on the same getter across polls: no item is lost to a timeout.
                done, _ = await asyncio.wait({getter}, timeout=WATCH_POLL_S)
                if not done:
                    self._watch(time.monotonic())
                    continue
                item, getter = getter.result(), None
                if item is _END:
                    return
                if isinstance(item, VideoError):
                    raise item
                assert isinstance(item, DecodedFrame)
                yield item
        finally:
            if getter is not None:
                getter.cancel()
            self.close()

    def _watch(self, now_s: float) -> None:
        """Raise `VideoError` (and let the decode thread go) once the input stalled."""
        reader = self._tally[1]
        if reader is None or not is_stalled(
            now_s, self._reading_since_s, reader.last_packet_s, reader.fps
        ):
            return
        self.close()  # the thread leaves at its next packet, or when FFmpeg's deadline ends a read
        deadline_s = stall_deadline_s(reader.fps)
        where = redact_url(self._url)
        raise VideoError(f"{where}: no video for {deadline_s:g} s (watchdog)", "timeout")

    def close(self) -> None:
        self._stop.set()

    @property
    def packets_in(self) -> int:
        """Video packets read so far (all passes of a looped file): the input rate for health."""
        before, reader = self._tally
        return before + (reader.packets if reader is not None else 0)

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
                # FFmpeg's per-read deadline frees a thread blocked in a read. The watchdog
                # decides first: an interrupted RTSP read may still hand out one last packet.
                read_timeout_s=stall_deadline_s(self.fps) + READ_DEADLINE_GRACE_S,
            )
            self._tally = (self._tally[0], reader)
            self.fps = reader.fps
            frame_step_s = 1.0 / reader.fps
            last_pts_s: float | None = None
            self._reading_since_s = time.monotonic()
            try:
                for frame in reader.frames(self._keep_shifted(offset_s), self._stop.is_set):
                    if self._stop.is_set():
                        return
                    self._reading_since_s = None
                    pts_s = frame.pts_s + offset_s
                    last_pts_s = pts_s
                    if self._options.realtime:
                        clock_start = self._pace(clock_start, pts_s)
                    self.decoded += 1
                    self._hand_over(DecodedFrame(pts_s, frame.image, frame.is_keyframe))
                    self._reading_since_s = time.monotonic()
            finally:
                self._reading_since_s = None
                self._tally = (self._tally[0] + reader.packets, None)
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
