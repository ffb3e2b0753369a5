"""The PyAV adapter: the only module that imports av. Opens a stream or file and decodes frames.

Blocking: run it in a thread. Errors are `VideoError`s with redacted, user-facing messages.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import av
import numpy as np

from cameras.urls import is_network_url, redact_url

MAX_CONSECUTIVE_BAD_PACKETS = 50
# Open deadline, per phase (connect and describe, then stream probing): a host that accepts and
# never answers is given up within 5 s, FFmpeg's interrupt polling (0.1 s) included.
OPEN_TIMEOUT_S = 4.5


class VideoError(Exception):
    """The video could not be opened or read; the message is safe to show and log."""


@dataclass(frozen=True)
class DecodedFrame:
    pts_s: float  # stream time in seconds
    image: np.ndarray[Any, Any]  # BGR, height x width x 3
    is_keyframe: bool

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


@dataclass(frozen=True)
class FrameInfo:
    """What a sampler needs to decide before paying for the pixel conversion."""

    pts_s: float
    is_keyframe: bool


KeyframeFilter = Literal["packet", "decoder"]


class VideoReader:
    """Keyframes only: "packet" drops other packets before the decoder (the default: it never
    sees them), "decoder" hands everything to the decoder and lets it skip (`skip_frame`).
    `bench/streams.py` measures both."""

    def __init__(
        self, container: Any, url: str, keyframes_only: bool, keyframe_filter: KeyframeFilter
    ) -> None:
        self._container = container
        self._url = redact_url(url)
        self._stream = container.streams.video[0]
        self._drop_non_key_packets = keyframes_only and keyframe_filter == "packet"
        if keyframes_only:
            # Frame threads hold a frame each before output: with one frame per GOP that would
            # delay every sample by a GOP per thread. Slice threads add no delay.
            self._stream.thread_type = "SLICE"
            if keyframe_filter == "decoder":
                self._stream.codec_context.skip_frame = "NONKEY"
        else:
            self._stream.thread_type = "AUTO"
        self.packets = 0  # video packets read: the camera's input rate, whatever is decoded
        self.last_packet_s = time.monotonic()  # for the stall watchdog (read from another thread)
        rate = self._stream.average_rate or self._stream.guessed_rate
        self.fps = float(rate) if rate else 25.0

    def frames(self, keep: Any = None, stop: Any = None) -> Iterator[DecodedFrame]:
        """Decoded frames in stream order; `keep(FrameInfo) -> bool` skips pixel conversion;
        `stop() -> bool`, asked at every packet, ends the frames early."""
        index = 0
        bad_in_a_row = 0
        for packet in self._demux():
            if stop is not None and stop():
                return
            if packet.size:
                self.packets += 1
                self.last_packet_s = time.monotonic()
            if self._drop_non_key_packets and not packet.is_keyframe and packet.size:
                continue
            try:
                decoded = packet.decode()
            except av.error.FFmpegError:
                bad_in_a_row += 1
                if bad_in_a_row > MAX_CONSECUTIVE_BAD_PACKETS:
                    raise VideoError(f"{self._url}: too many undecodable packets") from None
                continue
            bad_in_a_row = 0
            for frame in decoded:
                pts_s = float(frame.time) if frame.time is not None else index / self.fps
                index += 1
                info = FrameInfo(pts_s, bool(frame.key_frame))
                if keep is not None and not keep(info):
                    continue
                yield DecodedFrame(pts_s, frame.to_ndarray(format="bgr24"), info.is_keyframe)

    def _demux(self) -> Iterator[Any]:
        try:
            yield from self._container.demux(self._stream)
        except av.error.FFmpegError as error:
            raise VideoError(f"{self._url}: read failed: {_reason(error)}") from None

    def close(self) -> None:
        self._container.close()


def open_video(
    url: str,
    *,
    keyframes_only: bool = False,
    keyframe_filter: KeyframeFilter = "packet",
    open_timeout_s: float = OPEN_TIMEOUT_S,
    read_timeout_s: float = 5.0,
) -> VideoReader:
    options = {"rtsp_transport": "tcp"} if url.lower().startswith("rtsp") else {}
    timeout = (open_timeout_s, read_timeout_s) if is_network_url(url) else None
    started_s = time.monotonic()
    try:
        container = av.open(url, mode="r", options=options, timeout=timeout)
    except FileNotFoundError:
        raise VideoError(f"video not found: {redact_url(url)}") from None
    except (av.error.FFmpegError, OSError) as error:
        # An interrupted open surfaces as whatever the demuxer made of it ("invalid data"):
        # say what happened instead.
        if timeout is not None and time.monotonic() - started_s >= open_timeout_s:
            reason = f"no answer within {open_timeout_s:g} s"
        else:
            reason = _reason(error)
        raise VideoError(f"cannot open video {redact_url(url)}: {reason}") from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"{redact_url(url)} has no video stream")
    return VideoReader(container, url, keyframes_only, keyframe_filter)


def _reason(error: Exception) -> str:
    # FFmpeg errors may quote the URL (with credentials): keep only the error's own text.
    text = getattr(error, "strerror", None) or type(error).__name__
    return redact_url(str(text))
