"""Inference benchmark: the naive ultralytics loop against our detector path, same frames, one run.

    .venv/bin/python bench/inference.py [--device cpu|cuda] [--frames N] [--batch B] [--model NAME]

(a) naive: `YOLO.predict(frame)` one frame at a time with ultralytics' defaults;
(b) pipeline: our `UltralyticsDetector` (one inference thread, batches of B, person classes only,
    torch on every core: ultralytics leaves it cpu_count - 1 threads, one on a 2-core machine);
(c) torch: our `TorchDetector` in the same thread and batches (letterbox, normalisation and
    batched NMS on the device; fp16 and pinned host memory on CUDA).
The last line printed is one JSON object with `naive_fps`, `pipeline_fps`, `ratio` (b over a),
`torch_fps` and `torch_ratio` (c over a). `--model yolo11n.yaml` (any ultralytics model config)
builds the architecture with random weights: the same compute, no weights file needed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("YOLO_OFFLINE", "1")  # as our adapter does: the network is closed

from ultralytics import YOLO  # noqa: E402  (the naive baseline uses ultralytics as it is)

from bench.record import emit, stamp  # noqa: E402
from cameras.pyav import open_video  # noqa: E402
from detection.backends.torch_pipeline import TorchDetector  # noqa: E402
from detection.backends.ultralytics import UltralyticsDetector, load_torch_model  # noqa: E402
from detection.weights import ModelEntry, ResolvedModel, resolve  # noqa: E402
from xueliang.inference import InferenceThread  # noqa: E402


def load_frames(video: Path, count: int) -> list[np.ndarray[Any, Any]]:
    reader = open_video(str(video))
    frames = []
    try:
        for frame in reader.frames():
            frames.append(frame.image)
            if len(frames) == count:
                break
    finally:
        reader.close()
    return frames


def pick_model(name: str | None) -> ResolvedModel:
    if name is None or not name.endswith(".yaml"):
        return resolve(ROOT / "models", name)
    # A config, not weights: ultralytics builds it offline from its bundled yaml, classes "0".."79"
    # in COCO order, so "0" is the person.
    entry = ModelEntry(
        name=name,
        file=name,
        source="ultralytics model config, random weights",
        licence="AGPL-3.0",
        user_supplied=True,
        person_classes=("0",),
        fallen_classes=(),
    )
    return ResolvedModel(entry, Path(name))


def naive_fps(weights: Path, frames: list[np.ndarray[Any, Any]], device: str) -> float:
    model = YOLO(str(weights), task="detect")
    model.predict(frames[0], device=device, verbose=False)  # warm-up, as a fair loop would
    started = time.perf_counter()
    for frame in frames:
        model.predict(frame, device=device, verbose=False)
    return len(frames) / (time.perf_counter() - started)


async def pipeline_fps(
    inference: InferenceThread, frames: list[np.ndarray[Any, Any]], batch: int
) -> float:
    started = time.perf_counter()
    for start in range(0, len(frames), batch):
        await inference.detect(frames[start : start + batch])
    return len(frames) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--model", default=None)
    parser.add_argument("--video", type=Path, default=ROOT / "tests" / "data" / "vtest-20s.mp4")
    parser.add_argument("--record", type=Path, help="also write the JSON result to this file")
    args = parser.parse_args()

    model = pick_model(args.model)
    frames = load_frames(args.video, args.frames)
    naive = naive_fps(model.path, frames, args.device)
    inference = InferenceThread(UltralyticsDetector(model, device=args.device))
    pipeline = asyncio.run(pipeline_fps(inference, frames, args.batch))
    inference.close()
    torch_model = load_torch_model(model, device=args.device)
    inference = InferenceThread(TorchDetector(torch_model, device=args.device))
    torch_path = asyncio.run(pipeline_fps(inference, frames, args.batch))
    inference.close()
    height, width = frames[0].shape[:2]
    result = {
        "bench": "inference",
        **stamp(),
        "device": args.device,
        "model": model.entry.name,
        "frame_size": f"{width}x{height}",
        "frames": len(frames),
        "batch": args.batch,
        "naive_fps": round(naive, 2),
        "pipeline_fps": round(pipeline, 2),
        "ratio": round(pipeline / naive, 3),
        "torch_fps": round(torch_path, 2),
        "torch_ratio": round(torch_path / naive, 3),
    }
    emit(result, args.record)


if __name__ == "__main__":
    main()
