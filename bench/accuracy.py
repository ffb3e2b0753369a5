"""Accuracy benchmark: people counted by each model against counts by eye, and alert precision
and recall of the scripted rule scenarios, through the project's own code.

    .venv/bin/python bench/accuracy.py [--frames N] [--model NAME] [--scenarios a,b] [--skip-alerts]

Counts: every model of `models/manifest.toml` whose file is in `models/` (or `--model`) runs
through our `UltralyticsDetector` on the frames of `tests/expected/vtest.person-counts.toml`
(counted by eye); a frame's count is what the demo's crowd rule counts (its object filter over
the whole view). Per-frame table on stderr. Alerts: each scenario of
`tests/scenarios/catalogue.py` replayed through the worker code (`xueliang.replay`, PyAV,
ByteTrack, the rules) with the offline default model, scored by `tests/footage/replay.score`.
The last line printed is one JSON object (`models`, `alerts`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("YOLO_OFFLINE", "1")  # as our adapter does: the network is closed

from bench.record import emit, stamp  # noqa: E402
from cameras.pyav import open_video  # noqa: E402
from detection.backends.torch_pipeline import NMS_IOU  # noqa: E402
from detection.backends.ultralytics import UltralyticsDetector  # noqa: E402
from detection.rules.filters import ObjectFilter  # noqa: E402
from detection.weights import load_manifest, resolve  # noqa: E402
from tests.footage.replay import EPOCH, episodes, score  # noqa: E402
from tests.scenarios.catalogue import ALL, BY_NAME, Scenario  # noqa: E402
from xueliang.config import default_camera, load_cameras  # noqa: E402
from xueliang.inference import InferenceThread  # noqa: E402

MODELS = ROOT / "models"
COUNTS = ROOT / "tests" / "expected" / "vtest.person-counts.toml"
FULL = ROOT / ".cache" / "footage" / "vtest.avi"
Image = np.ndarray[Any, Any]


@dataclass(frozen=True)
class HandCount:
    index: int
    time_s: float
    count: int


def hand_counts(limit: int | None) -> list[HandCount]:
    frames = tomllib.loads(COUNTS.read_text(encoding="utf-8"))["frame"]
    counts = [HandCount(f["index"], f["time_s"], f["count"]) for f in frames]
    return counts[:limit] if limit else counts


def read_frames(video: Path, indices: set[int]) -> dict[int, Image]:
    """The frames at `indices`, decoded in order by our PyAV reader."""
    found: dict[int, Image] = {}
    reader = open_video(str(video))
    try:
        for index, frame in enumerate(reader.frames()):
            if index in indices:
                found[index] = frame.image
            if len(found) == len(indices):
                break
    finally:
        reader.close()
    missing = indices - set(found)
    if missing:
        raise SystemExit(f"{video} has no frames {sorted(missing)}: use vtest.avi (`make footage`)")
    return found


def present_models(name: str | None) -> list[str]:
    if name is not None:
        return [name]
    return [e.name for e in load_manifest(MODELS) if (MODELS / e.file).is_file()]


def count_errors(
    model_name: str, counts: list[HandCount], frames: dict[int, Image], nms_iou: float = NMS_IOU
) -> dict[str, Any]:
    """Count error of one model (model minus eye): MAE, bias, and the per-frame table."""
    detector = UltralyticsDetector(resolve(MODELS, model_name), nms_iou=nms_iou)
    crowd = ObjectFilter.for_rule(default_camera("unused").rules[0], detector.class_map)
    errors: list[int] = []
    table: list[list[int]] = []  # [frame index, by eye, by the model]
    print(f"{model_name}: frame  time  eye  model  error", file=sys.stderr)
    for hand in counts:
        image = frames[hand.index]
        found = detector.detect([image])[0]
        seen = len(crowd.apply(found, image.shape[1], image.shape[0]))
        errors.append(seen - hand.count)
        table.append([hand.index, hand.count, seen])
        print(f"  {hand.index:5d} {hand.time_s:5.1f} {hand.count:4d} {seen:6d} {errors[-1]:+6d}",
              file=sys.stderr)
    return {
        "count_mae": round(float(np.mean(np.abs(errors))), 3),
        "count_bias": round(float(np.mean(errors)), 3),
        "frames": len(errors),
        "per_frame": table,
    }


async def replay_scenario(scenario: Scenario, inference: InferenceThread, folder: Path) -> Any:
    from datetime import datetime

    from xueliang.replay import replay

    video = scenario.video(folder)
    with contextlib.redirect_stdout(io.StringIO()):  # replay prints each alert; keep ours clean
        alerts = await replay(
            str(video), inference, rules=scenario.rules, epoch=datetime.fromisoformat(EPOCH),
            realtime=False, evidence_dir=None, as_json=True,
        )
    return score(episodes(alerts), scenario.truth())


Tally = dict[str, int]  # matched, false, missed


def summed(tallies: list[Tally]) -> dict[str, Any]:
    """Precision and recall over `tallies`."""
    matched = sum(t["matched"] for t in tallies)
    raised = matched + sum(t["false"] for t in tallies)
    expected = matched + sum(t["missed"] for t in tallies)
    return {
        "precision": round(matched / raised, 3) if raised else 1.0,
        "recall": round(matched / expected, 3) if expected else 1.0,
        "raised": raised,
        "expected": expected,
    }


def merge(results: list[dict[str, Any]], kinds: dict[str, str]) -> dict[str, Any]:
    """Scenario scores summed per rule id (clips sharing a rules file share its rules), with
    precision and recall overall and per rule kind."""
    per_rule: dict[str, Tally] = {}
    for result in results:
        for rule_id, counts in result["rules"].items():
            total = per_rule.setdefault(rule_id, {"matched": 0, "false": 0, "missed": 0})
            for key, value in counts.items():
                total[key] += value
    per_kind = {
        kind: summed([t for rule_id, t in per_rule.items() if kinds[rule_id] == kind])
        for kind in sorted(set(kinds.values()))
    }
    return {**summed(list(per_rule.values())), "per_kind": per_kind, "per_rule": per_rule}


def rule_kinds(scenario: Scenario) -> dict[str, str]:
    return {rule.id: rule.kind for camera in load_cameras(scenario.rules) for rule in camera.rules}


def alert_scores(names: list[str]) -> dict[str, Any]:
    inference = InferenceThread(UltralyticsDetector(resolve(MODELS)))
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="xueliang-accuracy-") as folder:
            for name in names:
                result = asyncio.run(replay_scenario(BY_NAME[name], inference, Path(folder)))
                print(f"scenario {name}: {result['rules']}", file=sys.stderr)
                results.append(result)
    finally:
        inference.close()
    kinds = {k: v for name in names for k, v in rule_kinds(BY_NAME[name]).items()}
    return {**merge(results, kinds), "model": inference.detector.name, "scenarios": names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, help="only the first N counted frames")
    parser.add_argument("--model", help="one model of the manifest (default: every one present)")
    parser.add_argument("--video", type=Path, default=FULL, help="the counted footage")
    parser.add_argument("--scenarios", help="comma-separated names (default: all)")
    parser.add_argument("--skip-alerts", action="store_true")
    parser.add_argument(
        "--nms-iou", type=lambda text: [float(v) for v in text.split(",")], default=[],
        help=f"also count at these NMS overlaps, comma-separated (the detectors use {NMS_IOU})",
    )
    parser.add_argument("--record", type=Path, help="also write the JSON result to this file")
    args = parser.parse_args()

    names = args.scenarios.split(",") if args.scenarios else [s.name for s in ALL]
    unknown = set(names) - set(BY_NAME)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; known: {sorted(BY_NAME)}")
    counts = hand_counts(args.frames)
    frames = read_frames(args.video, {hand.index for hand in counts})
    result: dict[str, Any] = {"bench": "accuracy", **stamp(), "video": args.video.name}
    result["models"] = {name: count_errors(name, counts, frames)
                        for name in present_models(args.model)}
    if args.nms_iou:  # the same frames at other NMS overlaps: what merging boxes buys
        result["nms_iou"] = {
            name: {str(iou): count_errors(name, counts, frames, iou) for iou in args.nms_iou}
            for name in present_models(args.model)
        }
    if not args.skip_alerts:
        result["alerts"] = alert_scores(names)
    emit(result, args.record)


if __name__ == "__main__":
    main()
