"""Worker metrics after footage went through the real source, sampler and batching loop."""

from __future__ import annotations

from pathlib import Path

from cameras.source import SourceOptions
from tests.fakes import RecordingDetector
from xueliang.config import default_camera
from xueliang.inference import InferenceThread, batching
from xueliang.metrics import WorkerMetrics
from xueliang.worker import CameraRun

EXCERPT = Path(__file__).with_name("data") / "vtest-20s.mp4"


def value(metrics: WorkerMetrics, name: str, labels: dict[str, str]) -> float:
    sample = metrics.registry.get_sample_value(name, labels)
    return 0.0 if sample is None else sample


async def test_counts_per_camera_and_per_detector() -> None:
    metrics = WorkerMetrics()
    inference = InferenceThread(RecordingDetector())

    async def sink(_alert: object) -> None:
        return None

    async with batching(inference, cameras=1, metrics=metrics) as batched:
        camera = default_camera(str(EXCERPT))
        options = SourceOptions(realtime=False, lossless=True)
        await CameraRun(camera, batched, sink, options).run()
    inference.close()
    cam = {"camera": "demo-plaza"}
    assert value(metrics, "xl_camera_frames_sampled_total", cam) == 20  # 1 frame/s over 20 s
    assert 190 <= value(metrics, "xl_camera_frames_in_total", cam) <= 200  # 10 frames/s read
    assert value(metrics, "xl_frames_dropped_total", {**cam, "cause": "queue_full"}) == 0
    detector = {"detector": "recording"}
    assert value(metrics, "xl_detector_batch_size_count", detector) == 20
    assert value(metrics, "xl_detector_batch_size_sum", detector) == 20
    assert value(metrics, "xl_detector_inference_seconds_count", detector) == 20
    assert value(metrics, "xl_batcher_queue_age_seconds_count", detector) == 20
