"""Permanent RTSP errors with a real server (GStreamer's, with RTSPAuth): the right credentials
stream, a wrong password or path is reported on the camera's health at once and not retried for
`permanent_retry_s`, a dead server is still retried quickly. The canary password (URL-special
characters, percent-encoded into the URL) surfaces in no report, error or log record."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cameras.pyav import VideoError, open_video
from cameras.source import SourceOptions
from cameras.urls import with_credentials
from hub.contracts import CameraHealth, CameraSpec, CameraState
from tests.canary import CANARY_PASSWORD, CANARY_USER, leaks
from tests.fakes import RecordingDetector
from tests.rtsp_server import RtspServer, StallingProxy, record_figures, wait_for
from xueliang.config import default_camera
from xueliang.inference import BatchedInference, InferenceThread, batching
from xueliang.supervise import CameraWatch

CLIP = Path(__file__).with_name("data") / "vtest-20s.mp4"
WRONG_PASSWORD = CANARY_PASSWORD + "!"  # still carries every form of the canary
SEALED = "sealed-token"  # stands in for the Fernet token: `unseal` maps it to a password
QUIET_S = 3.0  # a camera hammered at the transient backoff would be opened 2-3 times in this


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RtspServer]:
    protected = RtspServer(CLIP, user=CANARY_USER, password=CANARY_PASSWORD, secrets_dir=tmp_path)
    protected.start()
    yield protected
    protected.kill()


def spec(url: str, camera_id: str = "locked") -> CameraSpec:
    camera = default_camera(url).model_copy(
        update={"id": camera_id, "username": CANARY_USER, "password_sealed": SEALED}
    )
    return CameraSpec.model_validate(camera.model_dump())


def unsealing(password: str) -> Callable[[str], str]:
    def unseal(sealed: str) -> str:
        assert sealed == SEALED
        return password

    return unseal


class Reports:
    def __init__(self) -> None:
        self.health: list[CameraHealth] = []
        self.times: list[float] = []

    async def report(self, report: CameraHealth) -> None:
        self.health.append(report)
        self.times.append(time.monotonic())

    async def alert(self, _alert: object) -> None:
        pass

    def first_error_s(self) -> float | None:
        return next((t for r, t in zip(self.health, self.times, strict=True) if r.last_error), None)


@contextlib.asynccontextmanager
async def running(
    camera: CameraSpec, password: str | None, reports: Reports, **options: Any
) -> AsyncIterator[tuple[CameraWatch, RecordingDetector]]:
    detector = RecordingDetector()
    inference = InferenceThread(detector)
    stop = asyncio.Event()
    try:
        async with batching(inference, cameras=1) as batched:
            watch = _watch(camera, batched, reports, password, **options)
            task = asyncio.create_task(watch.run(stop))
            try:
                yield watch, detector
                assert not task.done(), "the watch crashed"
            finally:
                stop.set()
                await asyncio.wait_for(task, 15)
    finally:
        inference.close()


def _watch(
    camera: CameraSpec,
    batched: BatchedInference,
    reports: Reports,
    password: str | None,
    **options: Any,
) -> CameraWatch:
    unseal = unsealing(password) if password is not None else None
    return CameraWatch(
        camera, batched, reports.alert, reports.report, SourceOptions(realtime=False),
        unseal=unseal, health_interval_s=1.0, **options,
    )  # fmt: skip


def assert_clean(*texts: str) -> None:
    for text in texts:
        assert not leaks(text), f"the canary leaked: {leaks(text)}"


def assert_reports_clean(reports: Reports) -> None:
    assert_clean(*(report.model_dump_json() for report in reports.health))


@pytest.mark.parametrize("method", ["digest", "basic"])
async def test_the_right_credentials_stream(tmp_path: Path, method: str) -> None:
    server = RtspServer(
        CLIP, user=CANARY_USER, password=CANARY_PASSWORD, secrets_dir=tmp_path, auth_method=method
    )
    server.start()
    reports = Reports()
    try:
        async with running(spec(server.url), CANARY_PASSWORD, reports) as (watch, detector):
            await wait_for(lambda: sum(detector.calls) >= 2, 20)
            await wait_for(lambda: reports.health[-1].state is not CameraState.OFFLINE, 5)
    finally:
        server.kill()
    assert watch.opened == 1 and watch.tracker.last_error is None
    assert_reports_clean(reports)


def test_no_credentials_are_refused_by_the_test_server(server: RtspServer) -> None:
    """The server really checks: without credentials it answers 401 (bad_credentials)."""
    with pytest.raises(VideoError) as caught:
        open_video(server.url)
    assert caught.value.reason == "bad_credentials"


def test_a_wrong_password_is_permanent_and_says_what_to_do(server: RtspServer) -> None:
    url = with_credentials(server.url, CANARY_USER, WRONG_PASSWORD)
    with pytest.raises(VideoError) as caught:
        open_video(url)
    error = caught.value
    assert error.reason == "bad_credentials" and error.permanent
    text = str(error)
    assert "rejected the username or password" in text and "xueliang cameras update" in text
    assert text.startswith(f"cannot open video rtsp://***@127.0.0.1:{server.port}/cam")
    assert error.__context__ is None and error.__cause__ is None
    assert_clean(text, repr(error))


def test_a_wrong_path_is_permanent_not_found(server: RtspServer) -> None:
    url = with_credentials(
        server.url.replace("/cam", "/no-such-stream"), CANARY_USER, CANARY_PASSWORD
    )
    with pytest.raises(VideoError) as caught:
        open_video(url)
    error = caught.value
    assert error.reason == "not_found" and error.permanent
    assert "no stream at this path" in str(error) and "/no-such-stream" in str(error)
    assert_clean(str(error), repr(error))


async def test_a_wrong_password_is_reported_at_once_and_not_retried(
    server: RtspServer, caplog: pytest.LogCaptureFixture
) -> None:
    proxy = StallingProxy(server.port)  # counts the TCP connections the camera sees
    await proxy.start()
    camera = spec(f"rtsp://127.0.0.1:{proxy.port}/cam")
    reports = Reports()
    caplog.set_level(logging.INFO)
    started = time.monotonic()
    try:
        async with running(camera, WRONG_PASSWORD, reports) as (watch, _):
            await wait_for(reports.first_error_s, 10)
            window_from = time.monotonic()
            await asyncio.sleep(QUIET_S)  # the observation window: nothing must happen in it
            opened, connections = watch.opened, proxy.connections
    finally:
        await proxy.close()
    reported_s = (reports.first_error_s() or 0.0) - started
    assert reported_s < 2.0  # the open fails at once, the health loop polls every 0.5 s
    assert opened == 1 and connections == 1  # one login attempt, no hammering
    first = next(r for r in reports.health if r.last_error)
    assert first.state is CameraState.OFFLINE  # at once, not after the 5 s stall
    assert "rejected the username or password" in (first.last_error or "")
    assert "rtsp://***@127.0.0.1" in (first.last_error or "")
    # Still reported through the wait (health_interval_s is 1 s), offline with the error.
    later = [r for r, t in zip(reports.health, reports.times, strict=True) if t >= window_from]
    assert len(later) >= 2
    assert all(r.state is CameraState.OFFLINE and r.last_error == first.last_error for r in later)
    warnings = [r.getMessage() for r in caplog.records if r.name == "xueliang.camera"]
    assert len(warnings) == 1 and "retrying in 300 s" in warnings[0], warnings
    assert_clean(*warnings)
    assert_reports_clean(reports)
    record_figures(bad_credentials_reported_s=reported_s)


async def test_the_wait_after_a_permanent_error_is_configurable(server: RtspServer) -> None:
    camera = spec(server.url.replace("/cam", "/no-such-stream"))
    reports = Reports()
    opens: list[float] = []

    def opened_twice() -> bool:
        if len(opens) < watch.opened:
            opens.append(time.monotonic())
        return watch.opened >= 2

    async with running(camera, CANARY_PASSWORD, reports, permanent_retry_s=1.5) as (watch, _):
        await wait_for(opened_twice, 10)
    assert 1.4 <= opens[1] - opens[0] <= 2.5  # the configured wait, polled every 0.05 s
    errors = {r.last_error for r in reports.health if r.last_error}
    assert len(errors) == 1 and "no stream at this path" in errors.pop()
    assert_reports_clean(reports)


async def test_a_password_this_worker_cannot_unseal_is_reported_not_retried() -> None:
    camera = spec("rtsp://127.0.0.1:9/cam")  # never dialled: the password cannot be opened
    reports = Reports()
    async with running(camera, None, reports) as (watch, _):
        await wait_for(reports.first_error_s, 5)
        await asyncio.sleep(1.5)  # the observation window
        opened = watch.opened
    assert opened == 1
    first = next(r for r in reports.health if r.last_error)
    assert first.state is CameraState.OFFLINE
    assert "set XUELIANG_SECRET_KEY" in (first.last_error or "")


async def test_a_killed_server_stays_transient_and_is_retried_quickly(server: RtspServer) -> None:
    reports = Reports()
    async with running(spec(server.url), CANARY_PASSWORD, reports) as (watch, detector):
        await wait_for(lambda: sum(detector.calls) >= 2, 20)
        server.kill()
        killed = time.monotonic()
        # Retried at the transient backoff (0.5-1 s, 1-2 s, ...), not after permanent_retry_s.
        await wait_for(lambda: watch.opened >= 3, 15)
        retried_s = time.monotonic() - killed
        errors = [r.last_error for r in reports.health if r.last_error]
        with pytest.raises(VideoError) as caught:
            open_video(with_credentials(server.url, CANARY_USER, CANARY_PASSWORD))
        assert caught.value.reason == "unreachable" and not caught.value.permanent
        frames_before = sum(detector.calls)
        server.start()  # the same port and password: the camera is back
        await wait_for(lambda: sum(detector.calls) > frames_before, 15)
    assert errors and not any("rejected" in e or "no stream" in e for e in errors)
    assert retried_s < 12.0  # the read deadline or watchdog (5 s), then two short backoffs
    assert_clean(str(caught.value), repr(caught.value))
    assert_reports_clean(reports)
