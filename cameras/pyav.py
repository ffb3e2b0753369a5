"""The PyAV adapter: the only module that imports av. Opens a stream or file and decodes frames.

Blocking: run it in a thread. Errors are `VideoError`s with redacted, user-facing messages and a
`reason`: permanent ones (bad credentials, no such stream, unsupported) need a person to fix the
camera's registration, so callers stop hammering the camera; the others are worth a retry.
"""

from __future__ import annotations

import errno
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

import av
import numpy as np

from cameras.urls import is_network_url, redact_url

MAX_CONSECUTIVE_BAD_PACKETS = 50
# Open deadline, per phase (connect and describe, then stream probing): a host that accepts and
# never answers is given up within 5 s, FFmpeg's interrupt polling (0.1 s) included.
OPEN_TIMEOUT_S = 4.5


Reason = Literal[
    "bad_credentials",  # RTSP 401
    "forbidden",  # RTSP 403: the account may not see the stream (or is locked)
    "not_found",  # RTSP 404, a missing file
    "unsupported",  # no video stream, unknown protocol, format or codec
    "timeout",  # no answer within the deadline, or the stream stalled
    "unreachable",  # refused, reset, no route
    "invalid_data",  # corrupt or garbage input
    "failed",  # anything else (5xx, other 4xx such as 453 Not Enough Bandwidth)
]
PERMANENT: frozenset[Reason] = frozenset(
    {"bad_credentials", "forbidden", "not_found", "unsupported"}
)

# Checked in order: the first type the error is an instance of wins (subclasses first). PyAV
# raises FFmpeg's RTSP status codes 401, 403 and 404 as these HTTP error types (checked against
# GStreamer's RTSP server in tests/test_rtsp_auth.py).
_BY_TYPE: tuple[tuple[type[BaseException], Reason], ...] = (
    (av.error.HTTPUnauthorizedError, "bad_credentials"),
    (av.error.HTTPForbiddenError, "forbidden"),
    (av.error.HTTPNotFoundError, "not_found"),
    (FileNotFoundError, "not_found"),
    (av.error.ProtocolNotFoundError, "unsupported"),
    (av.error.DemuxerNotFoundError, "unsupported"),
    (av.error.DecoderNotFoundError, "unsupported"),
    (av.error.PatchWelcomeError, "unsupported"),  # FFmpeg: not implemented
    (TimeoutError, "timeout"),
    (ConnectionError, "unreachable"),
    (av.error.InvalidDataError, "invalid_data"),
)
_UNREACHABLE_ERRNOS = frozenset({errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN,
                                 errno.ENETDOWN, errno.EADDRNOTAVAIL})  # fmt: skip
_ADVICE: dict[Reason, str] = {
    "bad_credentials": "the camera rejected the username or password (RTSP 401): "
    "fix them with `xueliang cameras update`",
    "forbidden": "the camera refused this account the stream (RTSP 403; some cameras lock an "
    "account after failed logins): check the account on the camera, then fix the credentials "
    "with `xueliang cameras update`",
    "not_found": "the camera has no stream at this path (RTSP 404): "
    "fix the URL with `xueliang cameras update --rtsp`",
}


def classify(error: BaseException) -> Reason:
    """What an error from PyAV (or the OS) means for the camera, by its type."""
    for kind, reason in _BY_TYPE:
        if isinstance(error, kind):
            return reason
    if isinstance(error, OSError) and error.errno in _UNREACHABLE_ERRNOS:
        return "unreachable"
    return "failed"


class VideoError(Exception):
    """The video could not be opened or read; the message is safe to show and log.

    `permanent`: retrying cannot help until someone fixes the camera or its registration."""

    def __init__(self, message: str, reason: Reason = "failed") -> None:
        super().__init__(message)
        self.reason: Reason = reason

    @property
    def permanent(self) -> bool:
        return self.reason in PERMANENT


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
        for frame, info in self.native_frames(stop):
            if keep is not None and not keep(info):
                continue
            yield DecodedFrame(info.pts_s, frame.to_ndarray(format="bgr24"), info.is_keyframe)

    def native_frames(self, stop: Any = None) -> Iterator[tuple[Any, FrameInfo]]:
        """PyAV's own frames (YUV, with pts and time base), unconverted: what aiortc encodes
        for the live view, opaque to everyone else."""
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
                    message = f"{self._url}: too many undecodable packets"
                    raise VideoError(message, "invalid_data") from None
                continue
            bad_in_a_row = 0
            for frame in decoded:
                pts_s = float(frame.time) if frame.time is not None else index / self.fps
                index += 1
                yield frame, FrameInfo(pts_s, bool(frame.key_frame))

    def _demux(self) -> Iterator[Any]:
        failure: VideoError | None = None
        try:
            yield from self._container.demux(self._stream)
        except av.error.FFmpegError as error:
            failure = VideoError(f"{self._url}: read failed: {_explain(error)}", classify(error))
        if failure is not None:
            raise failure  # raised outside the handler: see `open_video`

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
    failure: VideoError | None = None
    try:
        container = av.open(url, mode="r", options=options, timeout=timeout)
    except (av.error.FFmpegError, OSError) as error:
        waited_s = time.monotonic() - started_s
        failure = _open_error(url, error, timeout is not None, waited_s, open_timeout_s)
    if failure is not None:
        # Raised outside the handler, so no `__context__` keeps FFmpeg's error: it quotes the
        # URL, password included.
        raise failure
    if not container.streams.video:
        container.close()
        message = f"{redact_url(url)} has no video stream: point the camera at its video stream"
        raise VideoError(message, "unsupported")
    return VideoReader(container, url, keyframes_only, keyframe_filter)


def _open_error(
    url: str, error: Exception, networked: bool, waited_s: float, open_timeout_s: float
) -> VideoError:
    shown = redact_url(url)
    # An interrupted open surfaces as whatever the demuxer made of it ("invalid data"): say
    # what happened instead.
    if networked and waited_s >= open_timeout_s:
        return VideoError(f"cannot open video {shown}: no answer within {open_timeout_s:g} s",
                          "timeout")  # fmt: skip
    reason = classify(error)
    if reason == "not_found" and not networked:
        return VideoError(f"video not found: {shown}", reason)
    return VideoError(f"cannot open video {shown}: {_explain(error)}", reason)


def _explain(error: Exception) -> str:
    """What went wrong and, for a permanent error, what to do; never the URL or its secret."""
    advice = _ADVICE.get(classify(error))
    if advice is not None:
        return advice
    # FFmpeg errors may quote the URL (with credentials): keep only the error's own text.
    text = getattr(error, "strerror", None) or type(error).__name__
    return redact_url(str(text))


def replay_native(path: str, stop: Callable[[], bool]) -> Iterator[Any]:
    """A video file as a live camera for the live view: PyAV's own frames, paced by their
    timestamps and looped until `stop()`, with timestamps that keep increasing across passes
    (a WebRTC receiver drops frames whose time goes back)."""
    offset_s, clock_start = 0.0, time.monotonic()
    while not stop():
        reader = open_video(path)
        last_s = -1.0
        try:
            for frame, info in reader.native_frames(stop):
                if stop():  # a decoder flushes several frames at once: ask before each
                    return
                last_s = info.pts_s
                wait_s = clock_start + offset_s + info.pts_s - time.monotonic()
                if wait_s > 0:
                    time.sleep(wait_s)
                if frame.time_base is not None:  # shift into the run's own timeline
                    frame.pts = round((offset_s + info.pts_s) / frame.time_base)
                yield frame
        finally:
            reader.close()
        if last_s < 0 and not stop():
            raise VideoError(f"{redact_url(path)}: no frames to replay", "invalid_data")
        offset_s += max(last_s, 0.0) + 1 / reader.fps


def write_clip(
    path: str, images_bgr: Sequence[np.ndarray[Any, Any]], times_s: Sequence[float]
) -> None:
    """Encode BGR frames (one size) as a small H.264 MP4 (yuv420p, moov first: `+faststart`,
    so a browser starts playing before the whole file is in). `times_s`: each frame's stream
    time; the clip keeps their spacing, so sampled frames (1 s apart, or a burst) play at the
    speed they happened. The container is named, not guessed: `path` may end in `.part`."""
    if not images_bgr or len(images_bgr) != len(times_s):
        raise ValueError("a clip needs frames, each with its time")
    height, width = (int(side) // 2 * 2 for side in images_bgr[0].shape[:2])  # yuv420p: even
    container = av.open(path, mode="w", format="mp4", options={"movflags": "+faststart"})
    try:
        stream = container.add_stream("libx264", rate=_CLIP_TIME_BASE.denominator)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = _CLIP_TIME_BASE
        stream.options = {"preset": "veryfast", "crf": "28"}
        first_s, last_pts = times_s[0], -1
        for image, at_s in zip(images_bgr, times_s, strict=True):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[:height, :width]),
                                               format="bgr24")  # fmt: skip
            frame.pts = max(last_pts + 1, round((at_s - first_s) / _CLIP_TIME_BASE))
            frame.time_base = _CLIP_TIME_BASE
            last_pts = frame.pts
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    finally:
        container.close()


_CLIP_TIME_BASE = Fraction(1, 1000)  # milliseconds: sampled frames are irregularly spaced
