"""The `xueliang` command. Expected failures print one line and exit 2, never a traceback."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from cameras.pyav import VideoError
from detection.rules.filters import RuleConfigError
from detection.weights import WeightsError
from xueliang import camera_cli, report_cli, users_cli
from xueliang.config import DEFAULT_FOOTAGE, ConfigError
from xueliang.inference import InferenceThread

EXIT_USAGE = 2


def models_dir() -> Path:
    return Path(os.environ.get("XUELIANG_MODELS_DIR", "models"))


def load_inference(
    model: str | None, device: str, detector: str = "auto", nms_iou: float = 0.7
) -> InferenceThread:
    """`detector`: "torch" (letterbox, fp16 and NMS on the device), "ultralytics" (its own
    predict), or "auto": torch on CUDA, ultralytics on the CPU. `nms_iou`: boxes overlapping
    more are one object (bench/accuracy.py --nms-iou measures what it changes)."""
    from detection.backends.ultralytics import UltralyticsDetector, load_torch_model
    from detection.weights import resolve  # slow imports above: torch

    resolved = resolve(models_dir(), model)
    if detector == "torch" or (detector == "auto" and device.startswith("cuda")):
        from detection.backends.torch_pipeline import TorchDetector

        return InferenceThread(
            TorchDetector(
                load_torch_model(resolved, device=device), device=device, nms_iou=nms_iou
            )
        )
    return InferenceThread(UltralyticsDetector(resolved, device=device, nms_iou=nms_iou))


def _nms_iou(text: str) -> float:
    """Checked here so that a bad value is a usage error before torch loads (the detectors
    check the same bounds)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.05 <= value <= 0.95:
        raise argparse.ArgumentTypeError(f"must be between 0.05 and 0.95, not {value:g}")
    return value


def _inference(args: argparse.Namespace) -> InferenceThread:
    return load_inference(args.model, args.device, args.detector, args.nms_iou)


def _timestamp(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("give a timezone, e.g. 2026-01-01T08:00:00+08:00")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xueliang", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="hub and a worker in one process, footage as camera")
    demo.add_argument("--video", default=str(DEFAULT_FOOTAGE), help="footage replayed as live")
    demo.add_argument("--rules", type=Path, help="YAML camera/zone/rule file (default: demo's)")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--data-dir", type=Path, default=Path("var/demo"), help="SQLite, evidence")
    demo.add_argument("--once", action="store_true", help="play the footage once, then stop")

    replay = commands.add_parser("replay", help="footage through the worker, alerts as lines")
    replay.add_argument("video")
    replay.add_argument("--rules", type=Path, help="YAML camera/zone/rule file (default: demo's)")
    replay.add_argument("--json", action="store_true", help="one JSON object per alert event")
    replay.add_argument("--realtime", action="store_true", help="pace frames as a live camera")
    replay.add_argument(
        "--start-time", type=_timestamp, help="wall time of the footage's start (default: now)"
    )
    replay.add_argument("--evidence-dir", type=Path, help="write evidence JPEGs here")

    hub = commands.add_parser("hub", help="serve the hub (settings from XUELIANG_* variables)")
    hub.add_argument("--log-level", default="info")

    worker = commands.add_parser(
        "worker", help="watch cameras: the hub's fleet, or a config file's (shared by leases)"
    )
    fleet = worker.add_mutually_exclusive_group(required=True)
    fleet.add_argument(
        "--hub", help="hub URL: run its registered cameras (token: XUELIANG_WORKER_TOKEN)"
    )
    fleet.add_argument("--config", type=Path, help="YAML file of cameras")
    worker.add_argument(
        "--metrics-port", type=int, default=9108, help="Prometheus on 127.0.0.1 (0: off)"
    )

    commands.add_parser("keygen", help="print a new XUELIANG_SECRET_KEY (seals camera passwords)")
    camera_cli.add_parser(commands)
    report_cli.add_parser(commands)
    users_cli.add_parser(commands)

    for sub in (demo, replay, worker):
        sub.add_argument("--model", help="model name from models/manifest.toml (default: auto)")
        sub.add_argument("--device", default="cpu", help="cpu, cuda, cuda:0 ...")
        sub.add_argument(
            "--detector", choices=["auto", "torch", "ultralytics"], default="auto",
            help="torch: pre/post-processing on the device (auto: on CUDA)",
        )
        sub.add_argument(
            "--nms-iou", type=_nms_iou, default=0.7,
            help="boxes overlapping more than this are one object (0.05-0.95; default 0.7)",
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "cameras":
            return camera_cli.run(args)
        if args.command == "report":
            return report_cli.run(args)
        if args.command == "users":
            return users_cli.run(args)
        if args.command == "keygen":
            from hub.sealing import new_key

            print(new_key())
            return 0
        return asyncio.run(_dispatch(args))
    except _USER_ERRORS as error:
        print(f"xueliang: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


_USER_ERRORS = (VideoError, WeightsError, ConfigError, RuleConfigError, camera_cli.HubCallError)


async def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "replay":
        from xueliang.replay import replay

        _require_file(args.video)
        inference = _inference(args)
        try:
            await replay(
                args.video,
                inference,
                rules=args.rules,
                epoch=args.start_time or datetime.now(UTC),
                realtime=args.realtime,
                evidence_dir=args.evidence_dir,
                as_json=args.json,
            )
        finally:
            inference.close()
        return 0
    if args.command == "demo":
        from xueliang.demo import run_demo

        _require_file(args.video, hint="run `make footage` (scripts/fetch_footage.sh)")
        return await run_demo(args, _inference(args))
    if args.command == "hub":
        from xueliang.services import serve_hub

        return await serve_hub(args.log_level)
    if args.command == "worker":
        from xueliang.config import load_cameras
        from xueliang.fleet import FleetSource
        from xueliang.fleet_source import HubFleet
        from xueliang.services import run_worker, static_fleet

        source: FleetSource
        if args.hub:
            source = HubFleet(args.hub, os.environ.get("XUELIANG_WORKER_TOKEN"))
        else:
            source = static_fleet(load_cameras(args.config))
        inference = _inference(args)
        return await run_worker(source, inference, args.metrics_port)
    raise AssertionError(args.command)


def _require_file(path: str, hint: str = "check the path") -> None:
    """Local files are checked up front for a clear message; stream URLs are left to the reader."""
    if "://" not in path and not Path(path).is_file():
        raise VideoError(f"video not found: {path} ({hint})")


if __name__ == "__main__":
    sys.exit(main())
