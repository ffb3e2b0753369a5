"""Memory benchmark: does a worker's resident memory stay flat while it runs for a long time?

    .venv/bin/python bench/memory.py [--minutes 10] [--cameras 4] [--detector fake|model]

N cameras replay `tests/data/vtest-20s.mp4` looped, unpaced (stream time runs faster than wall
time, so ten minutes here are hours of camera time), through the real worker shell: decode
thread, sampler, batched inference, zones, the crowd rule, alerts with evidence JPEGs, health
reports. The fake detector (default) reports 12 people for 60 sampled frames, then none for 60,
so crowd alerts open, re-report and end over and over. RSS (VmRSS) is sampled every 5 s; the
growth rate is the least-squares slope after the first fifth of the run (warm-up: caches,
allocator pools). Target (issue 4): under 1 MB per minute. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.record import emit, stamp  # noqa: E402
from cameras.source import SourceOptions  # noqa: E402
from detection.detections import ClassMap, Detections  # noqa: E402
from hub.contracts import Alert, CameraHealth  # noqa: E402
from xueliang.config import default_camera  # noqa: E402
from xueliang.evidence_store import EvidenceFolder  # noqa: E402
from xueliang.inference import InferenceThread, batching  # noqa: E402
from xueliang.supervise import CameraWatch  # noqa: E402

TARGET_MB_PER_MIN = 1.0
SAMPLE_EVERY_S = 5.0


class CrowdThenEmpty:
    """Twelve people spread over the frame for 60 calls per camera batch, then none for 60."""

    name = "fake-crowd"
    class_map = ClassMap({0: "person"}, frozenset({0}))

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, images: Sequence[np.ndarray[Any, Any]]) -> list[Detections]:
        self.calls += 1
        people = 12 if (self.calls // 60) % 2 == 0 else 0
        return [self._people(image, people) for image in images]

    @staticmethod
    def _people(image: np.ndarray[Any, Any], count: int) -> Detections:
        height, width = image.shape[:2]
        xs = np.linspace(0.05, 0.85, max(count, 1))[:count] * width
        boxes = np.stack([xs, np.full(count, 0.4 * height), xs + 30, np.full(count, 0.6 * height)])
        return Detections(
            boxes.T.astype(np.float32).reshape(-1, 4),
            np.full(count, 0.9, dtype=np.float32),
            np.zeros(count, dtype=np.int64),
        )


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def slope_mb_per_min(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB), in MB per minute."""
    t = np.array([s for s, _ in samples])
    mb = np.array([m for _, m in samples])
    return float(np.polyfit(t, mb, 1)[0] * 60) if len(samples) >= 3 else float("nan")


async def run(minutes: float, cameras: int, detector: Any, video: Path) -> dict[str, Any]:
    alerts = 0
    health_reports = 0

    async def on_alert(_alert: Alert) -> None:
        nonlocal alerts
        alerts += 1

    async def on_health(_report: CameraHealth) -> None:
        nonlocal health_reports
        health_reports += 1

    inference = InferenceThread(detector)
    stop = asyncio.Event()
    samples: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory(prefix="xl-memory-") as folder:
        evidence = EvidenceFolder(Path(folder))
        async with batching(inference, cameras) as batched:
            watches = [
                CameraWatch(
                    default_camera(str(video)).model_copy(update={"id": f"cam-{index}"}),
                    batched, on_alert, on_health,
                    SourceOptions(realtime=False, loop_forever=True), evidence=evidence,
                    health_interval_s=1.0,
                )
                for index in range(cameras)
            ]
            tasks = [asyncio.create_task(watch.run(stop)) for watch in watches]
            started = time.monotonic()
            while (elapsed := time.monotonic() - started) < minutes * 60:
                samples.append((elapsed, rss_mb()))
                await asyncio.sleep(SAMPLE_EVERY_S)
            samples.append((time.monotonic() - started, rss_mb()))
            stop.set()
            await asyncio.gather(*tasks)
    inference.close()
    settled = [s for s in samples if s[0] >= samples[-1][0] / 5]
    slope = slope_mb_per_min(settled)
    return {
        "minutes": minutes,
        "cameras": cameras,
        "detector": getattr(detector, "name", "?"),
        "alerts": alerts,
        "health_reports": health_reports,
        "rss_start_mb": round(samples[0][1], 1),
        "rss_after_warmup_mb": round(settled[0][1], 1),
        "rss_end_mb": round(samples[-1][1], 1),
        "rss_peak_mb": round(max(mb for _, mb in samples), 1),
        "growth_mb_per_min": round(slope, 3),
        "target_mb_per_min": TARGET_MB_PER_MIN,
        "within_target": bool(slope < TARGET_MB_PER_MIN),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--detector", choices=["fake", "model"], default="fake")
    parser.add_argument("--model", default=None, help="with --detector model")
    parser.add_argument("--video", type=Path, default=ROOT / "tests" / "data" / "vtest-20s.mp4")
    parser.add_argument("--record", type=Path, help="also write the JSON result to this file")
    args = parser.parse_args()
    if args.detector == "model":
        from detection.backends.ultralytics import UltralyticsDetector
        from detection.weights import resolve

        detector: Any = UltralyticsDetector(resolve(ROOT / "models", args.model))
    else:
        detector = CrowdThenEmpty()
    result = asyncio.run(run(args.minutes, args.cameras, detector, args.video))
    emit({"bench": "memory", **stamp(), **result}, args.record)


if __name__ == "__main__":
    main()
