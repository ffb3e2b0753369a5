"""Evidence clips: the ring of sampled frames (bounded, newest kept), the MP4 writer (read back
with PyAV), and the worker writing a clip when a replayed alert starts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from cameras.pyav import write_clip
from cameras.source import SourceOptions
from detection.detections import ClassMap, Detections
from hub.contracts import Alert
from xueliang import evidence_clip
from xueliang.config import default_camera
from xueliang.evidence_clip import FrameRing
from xueliang.evidence_store import EvidenceFolder
from xueliang.inference import InferenceThread, batching
from xueliang.worker import CameraRun

EXCERPT = Path(__file__).with_name("data") / "vtest-20s.mp4"
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def image(value: int, size: tuple[int, int] = (48, 64)) -> np.ndarray[Any, Any]:
    return np.full((*size, 3), value, dtype=np.uint8)


def test_the_ring_keeps_the_newest_frames_within_its_span() -> None:
    ring = FrameRing(span_s=3.0, max_frames=10)
    for second in range(8):
        ring.push(float(second), image(second))
    assert [frame.pts_s for frame in ring.frames()] == [4.0, 5.0, 6.0, 7.0]
    assert ring.nbytes == 4 * image(0).nbytes


def test_the_ring_is_bounded_by_frames_and_by_bytes() -> None:
    by_count = FrameRing(span_s=100.0, max_frames=3)
    by_bytes = FrameRing(span_s=100.0, max_frames=100, max_bytes=2 * image(0).nbytes)
    for step in range(10):
        by_count.push(step * 0.1, image(step))
        by_bytes.push(step * 0.1, image(step))
    assert [int(f.image.flat[0]) for f in by_count.frames()] == [7, 8, 9]
    assert [int(f.image.flat[0]) for f in by_bytes.frames()] == [8, 9]
    one = FrameRing(span_s=100.0, max_bytes=1)  # a frame larger than the budget: the newest stays
    one.push(0.0, image(1))
    one.push(1.0, image(2))
    assert [int(f.image.flat[0]) for f in one.frames()] == [2]


def test_the_ring_starts_afresh_on_a_new_size_or_a_restarted_stream() -> None:
    ring = FrameRing(span_s=10.0)
    ring.push(0.0, image(1))
    ring.push(1.0, image(2))
    ring.push(2.0, image(3, size=(24, 32)))
    assert [f.image.shape for f in ring.frames()] == [(24, 32, 3)]
    ring.push(0.5, image(4, size=(24, 32)))  # time went back: a reopened source
    assert [f.pts_s for f in ring.frames()] == [0.5]


def read_back(path: Path) -> tuple[str, int, int, list[float]]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        times = [float(frame.time) for frame in container.decode(stream)]
        return stream.codec_context.name, stream.width, stream.height, times


def test_the_clip_writer_makes_an_h264_mp4_with_every_frame_at_its_time(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    frames = [image(20 * i, size=(121, 161)) for i in range(6)]  # odd sizes: cropped to even
    times_s = [10.0, 11.0, 12.0, 12.2, 12.4, 13.4]  # sampled at 1/s, then a burst
    write_clip(str(path), frames, times_s)
    codec, width, height, times = read_back(path)
    assert (codec, width, height) == ("h264", 160, 120)
    assert times == pytest.approx([0.0, 1.0, 2.0, 2.2, 2.4, 3.4], abs=0.002)
    data = path.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # faststart: playable while it loads


def test_the_clip_writer_refuses_an_empty_clip(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs frames"):
        write_clip(str(tmp_path / "none.mp4"), [], [])


class CrowdEverywhere:
    """Ten people in every frame: the demo camera's crowd rule fires a few seconds in."""

    name = "crowd-everywhere"
    class_map = ClassMap({0: "person"}, frozenset({0}))

    def detect(self, images: Sequence[np.ndarray[Any, Any]]) -> list[Detections]:
        boxes = np.array([[300 + 20 * i, 250, 320 + 20 * i, 330] for i in range(10)], np.float32)
        people = Detections(boxes, np.full(10, 0.9, np.float32), np.zeros(10, np.int64))
        return [people for _ in images]


async def replay_with_evidence(folder: Path, clip_s: float) -> list[Alert]:
    alerts: list[Alert] = []

    async def sink(alert: Alert) -> None:
        alerts.append(alert)

    inference = InferenceThread(CrowdEverywhere())
    async with batching(inference, cameras=1) as batched:
        options = SourceOptions(realtime=False, lossless=True)
        run = CameraRun(
            default_camera(str(EXCERPT)), batched, sink, options,
            evidence=EvidenceFolder(folder), clip_s=clip_s, epoch=EPOCH,
        )  # fmt: skip
        await run.run()
    inference.close()
    return alerts


async def test_a_replayed_alert_gets_a_clip_of_the_frames_before_it(tmp_path: Path) -> None:
    alerts = await replay_with_evidence(tmp_path, clip_s=10.0)
    first, last = alerts[0], alerts[-1]
    assert first.revision == 0 and first.clip_ref is None  # written after the first report
    assert last.id == first.id and last.status.value == "ended"
    assert last.clip_ref is not None and last.clip_ref.endswith("-clip.mp4")
    assert {a.clip_ref for a in alerts if a.clip_ref} == {last.clip_ref}  # one clip per alert
    codec, width, height, times = read_back(tmp_path / last.clip_ref)
    assert (codec, width, height) == ("h264", 768, 576)
    raised_s = (first.updated_at - EPOCH).total_seconds()
    assert raised_s == 5.0  # the demo rule holds 5 s; sampled at 1 frame/s from 0 s
    assert times == pytest.approx([0.0, 1.0, 2.0, 3.0, 4.0, 5.0], abs=0.002)  # up to its frame
    assert not list(tmp_path.glob("*.part"))  # noqa: ASYNC240 (written atomically: no leftovers)


async def test_no_clip_when_clips_are_off(tmp_path: Path) -> None:
    alerts = await replay_with_evidence(tmp_path, clip_s=0)
    assert alerts and all(alert.clip_ref is None for alert in alerts)
    assert not list(tmp_path.glob("*.mp4"))  # noqa: ASYNC240


async def test_a_clip_that_cannot_be_written_is_logged_and_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_encoder(path: str, *_args: object) -> None:
        Path(path).write_bytes(b"half a clip")
        raise OSError("disk full")

    monkeypatch.setattr(evidence_clip, "write_clip", broken_encoder)
    clips = evidence_clip.ClipWriter(EvidenceFolder(tmp_path))
    clips.start("alert-1", "alert-1-clip.mp4", [evidence_clip.ClipFrame(0.0, image(1))])
    assert clips.ref("alert-1") is None  # still being written
    await clips.drain()
    assert clips.ref("alert-1") is None
    assert "alert-1-clip.mp4 not written: disk full" in caplog.text
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # noqa: ASYNC240 (no half file)
