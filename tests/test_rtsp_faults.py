"""RTSP ingest faults with real parts: a silent port, a stalled stream, a stream that ends, a
corrupt stream, a resolution change. Each keeps the worker alive, reports a redacted error on the
camera's health and retries with backoff; measured figures go to test-artifacts/rtsp-faults.json.

`tests/data/resolution-change.ts`: 3 s of 640x360 then 3 s of 320x180 (ffmpeg's testsrc2, 10 fps,
H.264 with a 1 s GOP), two MPEG-TS segments concatenated. Regenerate with, for each of
`640x360 0 a` and `320x180 3.2 b` as `SIZE OFFSET NAME`:
    ffmpeg -f lavfi -i testsrc2=size=SIZE:rate=10 -t 3 -c:v libx264 -preset veryfast -crf 35 \\
        -g 10 -sc_threshold 0 -pix_fmt yuv420p -map_metadata -1 -fflags +bitexact \\
        -flags:v +bitexact -output_ts_offset OFFSET -f mpegts NAME.ts
then `cat a.ts b.ts > tests/data/resolution-change.ts`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cameras.health import is_stalled, stall_deadline_s
from cameras.pyav import VideoError
from cameras.source import FrameSource, SourceOptions
from detection.detections import ClassMap, Detections
from hub.contracts import (
    Alert,
    CameraHealth,
    CameraSpec,
    CameraState,
    CrowdRuleSpec,
    ZoneSpec,
)
from tests.fakes import RecordingDetector
from tests.rtsp_server import (
    GarbageServer,
    RtspServer,
    SilentListener,
    StallingProxy,
    record_figures,
    wait_for,
)
from xueliang.config import default_camera
from xueliang.inference import BatchedInference, InferenceThread, batching
from xueliang.supervise import CameraWatch

DATA = Path(__file__).with_name("data")
RESOLUTION_CHANGE = DATA / "resolution-change.ts"
CORRUPT = DATA / "corrupt.mp4"
CANARY = "c4n4ry%40pw"  # a password (percent-encoded "@") that must surface nowhere
LIVE = SourceOptions(realtime=False)


@pytest.mark.parametrize(
    ("fps", "deadline_s"), [(None, 5.0), (0.0, 5.0), (25.0, 5.0), (2.0, 5.0), (1.0, 10.0)]
)
def test_stall_deadline_is_five_seconds_or_ten_frames(fps: float | None, deadline_s: float) -> None:
    assert stall_deadline_s(fps) == deadline_s


@pytest.mark.parametrize(
    ("now_s", "reading_since_s", "last_packet_s", "fps", "stalled"),
    [
        (105.0, 100.0, 100.0, 25.0, False),  # exactly the deadline: not yet
        (105.1, 100.0, 100.0, 25.0, True),
        (105.1, 100.0, 104.0, 25.0, False),  # a packet since
        (105.1, 104.0, 100.0, 25.0, False),  # back from the consumer since
        (500.0, None, 100.0, 25.0, False),  # waiting on the consumer: not the camera's fault
        (109.0, 100.0, 100.0, 1.0, False),  # a 1 fps camera gets ten frames: 10 s
        (110.1, 100.0, 100.0, 1.0, True),
    ],
)
def test_is_stalled(
    now_s: float, reading_since_s: float | None, last_packet_s: float, fps: float, stalled: bool
) -> None:
    assert is_stalled(now_s, reading_since_s, last_packet_s, fps) is stalled


def camera(camera_id: str, url: str, **update: Any) -> CameraSpec:
    spec = default_camera(url).model_copy(update={"id": camera_id, **update})
    return CameraSpec.model_validate(spec.model_dump())


class Recorder:
    """The alert and health sinks of one or more cameras."""

    def __init__(self) -> None:
        self.alerts: list[Alert] = []
        self.health: dict[str, list[CameraHealth]] = {}

    async def alert(self, alert: Alert) -> None:
        self.alerts.append(alert)

    async def report(self, report: CameraHealth) -> None:
        self.health.setdefault(report.camera_id, []).append(report)

    def last(self, camera_id: str) -> CameraHealth | None:
        reports = self.health.get(camera_id)
        return reports[-1] if reports else None

    def errors(self, camera_id: str) -> list[str]:
        return [r.last_error for r in self.health.get(camera_id, []) if r.last_error]


@contextlib.asynccontextmanager
async def watching(*watches: CameraWatch) -> AsyncIterator[list[asyncio.Task[None]]]:
    """The watches running until the block ends; a crash of one surfaces here."""
    stop = asyncio.Event()
    tasks = [asyncio.create_task(watch.run(stop)) for watch in watches]
    try:
        yield tasks
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 15)


def watch(
    spec: CameraSpec, batched: BatchedInference, recorder: Recorder, **options: Any
) -> CameraWatch:
    source = options.pop("source", LIVE)
    return CameraWatch(
        spec, batched, recorder.alert, recorder.report, source, health_interval_s=1.0, **options
    )


def assert_no_canary(recorder: Recorder) -> None:
    for reports in recorder.health.values():
        for report in reports:
            text = report.model_dump_json()
            assert "c4n4ry" not in text and CANARY not in text


async def test_silent_camera_gives_up_within_5_s_and_others_keep_streaming(
    rtsp_server: RtspServer,
) -> None:
    silent = SilentListener()
    recorder = Recorder()
    detector = RecordingDetector()
    inference = InferenceThread(detector)
    hung = camera("hung", f"rtsp://admin:{CANARY}@127.0.0.1:{silent.port}/x")
    good = camera("good", rtsp_server.url)
    async with batching(inference, cameras=2) as batched:
        good_watch, hung_watch = watch(good, batched, recorder), watch(hung, batched, recorder)
        samples: list[float] = []  # when the good camera's frames reached the detector
        started = time.monotonic()
        async with watching(good_watch, hung_watch):
            give_up_s = await wait_for(lambda: hung_watch.tracker.last_error, 10)

            def sample() -> bool:
                run = good_watch._current  # the test looks inside
                count = run.progress.samples if run is not None else 0
                while len(samples) < count:
                    samples.append(time.monotonic())
                return (
                    hung_watch.opened >= 2
                    and hung_watch.tracker.reconnects >= 1
                    and (time.monotonic() - started > give_up_s + 6)
                )

            await wait_for(sample, 15)  # through a second give-up of the silent camera
    inference.close()
    silent.close()
    assert give_up_s <= 5.0
    assert silent.accepted >= 2  # it really connected, twice
    last_hung = recorder.last("hung")
    assert last_hung is not None and last_hung.state is CameraState.OFFLINE
    error = hung_watch.tracker.last_error or ""
    assert "no answer within" in error and "rtsp://***@127.0.0.1" in error
    assert_no_canary(recorder)
    # The other camera never stalled: one sample a second (its sampling interval), no gap.
    assert len(samples) >= 8
    gaps = np.diff([started, *samples])
    assert gaps[1:].max() < 2.5, gaps
    good_states = [r.state for r in recorder.health["good"]]
    since_up = good_states[good_states.index(CameraState.ONLINE) :]
    assert CameraState.OFFLINE not in since_up, good_states
    record_figures(silent_camera_open_give_up_s=give_up_s)


async def test_stalled_stream_is_reopened_by_the_watchdog(rtsp_server: RtspServer) -> None:
    proxy = StallingProxy(rtsp_server.port)
    await proxy.start()
    recorder = Recorder()
    detector = RecordingDetector()
    inference = InferenceThread(detector)
    spec = camera("stalls", f"rtsp://admin:{CANARY}@127.0.0.1:{proxy.port}/cam")
    async with batching(inference, cameras=1) as batched:
        stalls = watch(spec, batched, recorder)
        async with watching(stalls):
            await wait_for(lambda: sum(detector.calls) >= 2, 15)
            proxy.stall()  # the connection stays open, nothing comes any more
            stalled_at = time.monotonic()
            last_packet = [0, stalled_at]  # the buffers still hold a few seconds of video

            def reopened() -> bool:
                run = stalls._current  # the test looks inside
                packets = run.source.packets_in if run and run.source else 0
                if stalls.opened == 1 and packets != last_packet[0]:
                    last_packet[:] = [packets, time.monotonic()]
                return stalls.opened >= 2

            await wait_for(reopened, 20)
            reopen_s = time.monotonic() - last_packet[1]
            frames_then = sum(detector.calls)
            await wait_for(lambda: sum(detector.calls) > frames_then, 10)
            frames_again_s = time.monotonic() - stalled_at
    inference.close()
    await proxy.close()
    # No packet for the deadline, then the backoff's first delay (at most 1 s) and the poll.
    assert stall_deadline_s(10.0) <= reopen_s <= stall_deadline_s(10.0) + 1.5
    error = stalls.tracker.last_error or ""
    assert "read failed" in error or "watchdog" in error, error
    assert "rtsp://***@127.0.0.1" in error
    assert_no_canary(recorder)
    record_figures(stalled_stream_reopened_s=reopen_s, stalled_stream_frames_again_s=frames_again_s)


async def test_watchdog_fires_where_ffmpeg_has_no_deadline(tmp_path: Path) -> None:
    """A local pipe whose writer stops: FFmpeg blocks for good; the consumer side gives up."""
    fifo = tmp_path / "camera.ts"
    os.mkfifo(fifo)
    release = threading.Event()

    def write_some_then_hang() -> None:
        with fifo.open("wb") as pipe:
            pipe.write(RESOLUTION_CHANGE.read_bytes()[:100_000])
            pipe.flush()
            release.wait(30)

    writer = threading.Thread(target=write_some_then_hang, daemon=True)
    writer.start()
    source = FrameSource(str(fifo), LIVE)
    frames = 0
    last_frame_at = time.monotonic()
    with pytest.raises(VideoError, match="no video for 5 s"):
        async for _frame in source.frames():
            frames, last_frame_at = frames + 1, time.monotonic()
    waited_s = time.monotonic() - last_frame_at
    release.set()  # the writer hangs up: the decode thread reads the end and leaves
    writer.join(5)
    assert frames >= 10
    assert 4.5 <= waited_s <= 6.5


async def test_stream_that_ends_is_reopened_with_backoff() -> None:
    recorder = Recorder()
    detector = RecordingDetector()
    inference = InferenceThread(detector)
    spec = camera("ends", str(RESOLUTION_CHANGE))
    async with batching(inference, cameras=1) as batched:
        ends = watch(spec, batched, recorder)  # not looped: the file ends after 6 s of video
        async with watching(ends) as tasks:
            await asyncio.sleep(4.0)
            assert not tasks[0].done()  # no crash
    inference.close()
    # Decoding the file takes well under a second; without backoff it would reopen hundreds of
    # times. Delays are 0.5-1 s, then 1-2 s, then 2-4 s: 2 to 4 opens in 4 s.
    assert 2 <= ends.opened <= 4, ends.opened
    assert sum(detector.calls) >= ends.opened - 1  # every pass delivered frames
    assert ends.tracker.last_error is None  # an end is no error


@pytest.mark.parametrize("kind", ["corrupt file", "garbage server"])
async def test_corrupt_stream_reports_a_redacted_error_and_backs_off(kind: str) -> None:
    server = GarbageServer()
    url = (
        str(CORRUPT)
        if kind == "corrupt file"
        else f"rtsp://admin:{CANARY}@127.0.0.1:{server.port}/x"
    )
    recorder = Recorder()
    inference = InferenceThread(RecordingDetector())
    async with batching(inference, cameras=1) as batched:
        corrupt = watch(camera("corrupt", url), batched, recorder)
        async with watching(corrupt) as tasks:
            await wait_for(lambda: recorder.errors("corrupt"), 10)
            first_error_at = time.monotonic()
            await asyncio.sleep(4.0)
            assert not tasks[0].done()
            opens = corrupt.opened
    inference.close()
    server.close()
    assert time.monotonic() - first_error_at >= 4.0
    assert 2 <= opens <= 4, opens  # backoff 0.5-1 s, 1-2 s, 2-4 s: no hot loop
    error = recorder.errors("corrupt")[-1]
    assert error.startswith("cannot open video"), error
    last = recorder.last("corrupt")
    assert last is not None and last.state is CameraState.OFFLINE
    if kind == "garbage server":
        assert "rtsp://***@127.0.0.1" in error and server.accepted >= 2
    assert_no_canary(recorder)


class CentreDetector:
    """One person in the middle of every image, whatever its size; records the image shapes."""

    name = "centre"
    class_map = ClassMap({0: "person"}, frozenset({0}))

    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []

    def detect(self, images: Sequence[np.ndarray[Any, Any]]) -> list[Detections]:
        found = []
        for image in images:
            height, width = image.shape[:2]
            self.shapes.append(image.shape)
            box = [0.45 * width, 0.4 * height, 0.55 * width, 0.6 * height]  # feet at (0.5, 0.6)
            found.append(
                Detections(
                    np.array([box], dtype=np.float32),
                    np.array([0.9], dtype=np.float32),
                    np.array([0], dtype=np.int64),
                )
            )
        return found


async def test_resolution_change_mid_stream_keeps_frames_and_zones_working() -> None:
    server = RtspServer(RESOLUTION_CHANGE)
    server.start()
    centre = [(0.3, 0.3), (0.7, 0.3), (0.7, 0.7), (0.3, 0.7)]
    corner = [(0.9, 0.9), (1.0, 0.9), (1.0, 1.0), (0.9, 1.0)]
    spec = camera(
        "resizes",
        server.url,
        zones=[ZoneSpec(id="centre", polygon=centre), ZoneSpec(id="corner", polygon=corner)],
        rules=[
            CrowdRuleSpec(id="c", zone_id="centre", min_people=1, hold_s=0, report_interval_s=0.5),
            CrowdRuleSpec(id="k", zone_id="corner", min_people=1, hold_s=0),
        ],
        sampling=default_camera("x").sampling.model_copy(update={"interval_s": 0.2}),
    )
    detector = CentreDetector()
    inference = InferenceThread(detector)
    recorder = Recorder()
    seen: list[tuple[Alert, tuple[int, ...]]] = []  # each alert with the frame it came from

    async def alert(alert: Alert) -> None:
        seen.append((alert, detector.shapes[-1]))

    async with batching(inference, cameras=1) as batched:
        resizes = CameraWatch(spec, batched, alert, recorder.report, LIVE, health_interval_s=1.0)
        async with watching(resizes) as tasks:
            await wait_for(lambda: detector.shapes.count((180, 320, 3)) >= 5, 20)
            assert not tasks[0].done()
    inference.close()
    server.kill()
    widths = [shape[1] for shape in detector.shapes]
    first_small = widths.index(320)
    assert widths[0] == 640 and first_small > 5
    assert set(widths[first_small:]) == {320}  # it changed once and stayed
    assert all(alert.zone_id == "centre" for alert, _ in seen), "the corner zone fired"
    after = [alert for alert, shape in seen if shape[1] == 320]
    assert after, "no alert report from the smaller frames"
    for report in after:
        assert report.people_count == 1
        box = report.detections.boxes[0]
        assert (box.x1, box.y1, box.x2, box.y2) == pytest.approx((0.45, 0.4, 0.55, 0.6), abs=0.01)
    assert resizes.tracker.last_error is None
