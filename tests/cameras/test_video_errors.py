"""Video errors classified by their type: permanent ones need a person, the others a retry."""

from __future__ import annotations

import errno
import wave
from pathlib import Path

import av
import pytest

from cameras.health import HealthTracker
from cameras.pyav import PERMANENT, Reason, VideoError, classify, open_video
from hub.contracts import CameraState
from tests.redis_server import free_port

URL = "rtsp://admin:c4n4ry%40pw@127.0.0.1:554/cam"  # FFmpeg errors quote the URL they opened


def http(kind: type[Exception], status: str) -> Exception:
    return kind(-1, f"Server returned {status}", URL)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (http(av.error.HTTPUnauthorizedError, "401 Unauthorized"), "bad_credentials"),
        (http(av.error.HTTPForbiddenError, "403 Forbidden"), "forbidden"),
        (http(av.error.HTTPNotFoundError, "404 Not Found"), "not_found"),
        (http(av.error.HTTPBadRequestError, "400 Bad Request"), "failed"),
        (http(av.error.HTTPOtherClientError, "4XX"), "failed"),  # 453 Not Enough Bandwidth
        (http(av.error.HTTPServerError, "5XX"), "failed"),
        (av.error.FileNotFoundError(errno.ENOENT, "No such file", "x.mp4"), "not_found"),
        (FileNotFoundError(errno.ENOENT, "No such file"), "not_found"),
        (av.error.ProtocolNotFoundError(-1, "Protocol not found"), "unsupported"),
        (av.error.DemuxerNotFoundError(-1, "Demuxer not found"), "unsupported"),
        (av.error.DecoderNotFoundError(-1, "Decoder not found"), "unsupported"),
        (av.error.PatchWelcomeError(-1, "Not yet implemented in FFmpeg"), "unsupported"),
        (av.error.TimeoutError(errno.ETIMEDOUT, "Connection timed out"), "timeout"),
        (TimeoutError(), "timeout"),
        (av.error.ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), "unreachable"),
        (av.error.ConnectionResetError(errno.ECONNRESET, "Connection reset"), "unreachable"),
        (av.error.BrokenPipeError(errno.EPIPE, "Broken pipe"), "unreachable"),
        (av.error.OSError(errno.EHOSTUNREACH, "No route to host"), "unreachable"),
        (av.error.OSError(errno.ENETUNREACH, "Network is unreachable"), "unreachable"),
        (av.error.OSError(errno.EIO, "I/O error"), "failed"),  # FFmpeg's failed name lookup
        (av.error.InvalidDataError(-1, "Invalid data found"), "invalid_data"),
        (av.error.EOFError(-1, "End of file"), "failed"),
        (av.error.UnknownError(-1, "Unknown error"), "failed"),
        (ValueError("not from FFmpeg at all"), "failed"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else value,
)
def test_classify_by_type(error: Exception, reason: Reason) -> None:
    assert classify(error) == reason


@pytest.mark.parametrize(
    ("reason", "permanent"),
    [
        ("bad_credentials", True),
        ("forbidden", True),
        ("not_found", True),
        ("unsupported", True),
        ("timeout", False),
        ("unreachable", False),
        ("invalid_data", False),
        ("failed", False),
    ],
)
def test_only_what_a_person_must_fix_is_permanent(reason: Reason, permanent: bool) -> None:
    assert VideoError("x", reason).permanent is permanent
    assert (reason in PERMANENT) is permanent


def test_an_unclassified_video_error_is_transient() -> None:
    error = VideoError("rtsp://***@h/x: no video for 5 s (watchdog)")
    assert error.reason == "failed" and not error.permanent


def test_a_missing_file_is_permanent_and_says_so(tmp_path: Path) -> None:
    with pytest.raises(VideoError) as caught:
        open_video(str(tmp_path / "missing.mp4"))
    assert caught.value.reason == "not_found" and caught.value.permanent
    assert str(caught.value).startswith("video not found:")
    assert caught.value.__context__ is None


def test_a_file_without_video_is_permanent_unsupported(tmp_path: Path) -> None:
    sound = tmp_path / "sound.wav"
    with wave.open(str(sound), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(bytes(1600))
    with pytest.raises(VideoError) as caught:
        open_video(str(sound))
    assert caught.value.reason == "unsupported" and caught.value.permanent
    assert "has no video stream" in str(caught.value)


def test_a_refused_connection_is_transient_and_keeps_no_url_with_credentials() -> None:
    url = f"rtsp://admin:c4n4ry%40pw@127.0.0.1:{free_port()}/cam"  # nobody listens there
    with pytest.raises(VideoError) as caught:
        open_video(url, open_timeout_s=2.0)
    error = caught.value
    assert error.reason == "unreachable" and not error.permanent
    assert "rtsp://***@127.0.0.1" in str(error) and "refused" in str(error).lower()
    # FFmpeg's own error quotes the URL: it must not ride along as the context.
    assert error.__context__ is None and error.__cause__ is None
    assert "c4n4ry" not in f"{error!s} {error!r}"


def test_a_permanent_failure_is_offline_at_once_until_frames_come_back() -> None:
    tracker = HealthTracker(expected_fps=10)
    for tenth in range(50):
        tracker.frame(tenth / 10)
    assert tracker.state(5.0) is CameraState.ONLINE
    tracker.failed("a transient error")
    assert tracker.state(5.0) is CameraState.ONLINE  # a transient error waits for the stall
    tracker.failed("the camera rejected the username or password", permanent=True)
    assert tracker.state(5.0) is CameraState.OFFLINE  # no stall to wait for: it said no
    assert tracker.last_error == "the camera rejected the username or password"
    tracker.frame(400.0)
    tracker.frame(400.1)
    assert tracker.state(400.1) is not CameraState.OFFLINE  # fixed and streaming again


def test_a_transient_failure_after_a_permanent_one_lifts_the_halt() -> None:
    tracker = HealthTracker(expected_fps=10)
    tracker.frame(0.0)
    tracker.frame(0.1)
    tracker.failed("rejected", permanent=True)
    tracker.failed("connection refused")
    assert tracker.state(0.2) is not CameraState.OFFLINE
    assert tracker.state(10.0) is CameraState.OFFLINE  # and the stall rule applies again
