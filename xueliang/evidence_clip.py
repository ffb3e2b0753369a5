"""Evidence clips: the camera's recent sampled frames, kept in a bounded ring, written as a short
MP4 when an alert starts.

Only frames the worker already decoded for detection go in (a reference each: no copy, no extra
decode), so a clip at the default 1 frame/s is a time-lapse of the last `clip_s` seconds up to the
alert's frame; no frames after it (a post-roll would hold the alert back or need another report).
Cost per camera: the ring holds at most `max_frames` frames and `max_bytes` of pixels, e.g.
10 frames of 768x576 BGR (1.3 MB each) = 13 MB; 1080p (6.2 MB a frame) stops at 64 MiB (10 frames).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cameras.pyav import write_clip
from xueliang.evidence_store import EvidenceFolder

log = logging.getLogger(__name__)

DEFAULT_CLIP_S = 10.0
DEFAULT_MAX_FRAMES = 50  # a burst (0.2 s apart) over 10 s
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class ClipFrame:
    pts_s: float
    image: np.ndarray[Any, Any]  # BGR, shared with the detector's frame: never written to


@dataclass
class FrameRing:
    """The newest frames within `span_s` of the newest, at most `max_frames` and `max_bytes`.

    Pure: no clock (stream time comes with each frame), no I/O. A frame of another size (the
    camera changed resolution) starts the ring afresh: one clip has one size."""

    span_s: float = DEFAULT_CLIP_S
    max_frames: int = DEFAULT_MAX_FRAMES
    max_bytes: int = DEFAULT_MAX_BYTES
    _frames: deque[ClipFrame] = field(default_factory=deque, init=False)
    _bytes: int = field(default=0, init=False)

    def push(self, pts_s: float, image: np.ndarray[Any, Any]) -> None:
        newest = self._frames[-1] if self._frames else None
        if newest is not None and (newest.image.shape != image.shape or pts_s < newest.pts_s):
            self.clear()  # another size, or the stream restarted (a looped or reopened source)
        self._frames.append(ClipFrame(pts_s, image))
        self._bytes += image.nbytes
        while len(self._frames) > 1 and (
            len(self._frames) > self.max_frames
            or self._bytes > self.max_bytes
            or pts_s - self._frames[0].pts_s > self.span_s
        ):
            self._bytes -= self._frames.popleft().image.nbytes

    def frames(self) -> list[ClipFrame]:
        """Oldest first; a copy of the ring (the frames themselves are shared)."""
        return list(self._frames)

    def clear(self) -> None:
        self._frames.clear()
        self._bytes = 0

    @property
    def nbytes(self) -> int:
        return self._bytes


@dataclass
class ClipWriter:
    """Writes clips in a thread, one task per alert; `ref(key)` is the clip's name once it is
    on disk, None before (or when writing failed: logged, the alert goes on without one)."""

    evidence: EvidenceFolder
    _tasks: dict[str, asyncio.Task[str | None]] = field(default_factory=dict, init=False)

    def start(self, key: str, name: str, frames: list[ClipFrame]) -> None:
        if key in self._tasks or not frames:
            return
        self._tasks[key] = asyncio.create_task(self._write(name, frames), name=f"clip {name}")

    def ref(self, key: str) -> str | None:
        task = self._tasks.get(key)
        if task is None or not task.done() or task.cancelled():
            return None
        return task.result()

    def forget(self, key: str) -> None:
        self._tasks.pop(key, None)

    async def drain(self) -> None:
        """Wait for the clips being written (at the end of the input, before the last reports)."""
        if self._tasks:
            await asyncio.wait(list(self._tasks.values()))

    def cancel(self) -> None:
        for task in self._tasks.values():
            task.cancel()

    async def _write(self, name: str, frames: list[ClipFrame]) -> str | None:
        images = [frame.image for frame in frames]
        times_s = [frame.pts_s for frame in frames]
        try:
            await asyncio.to_thread(
                self.evidence.write_with, name, lambda path: write_clip(path, images, times_s)
            )
        except Exception as error:  # encoder or disk: never the camera's end, nor the alert's
            log.warning("evidence clip %s not written: %s", name, error)
            return None
        return name
