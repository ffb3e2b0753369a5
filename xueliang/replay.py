"""`xueliang replay`: footage through the worker code, no hub; one JSON line per alert event."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from pathlib import Path

from cameras.source import SourceOptions
from hub.contracts import Alert, CameraSpec
from xueliang.config import default_camera, load_cameras
from xueliang.evidence_store import EvidenceFolder
from xueliang.inference import InferenceThread, batching
from xueliang.worker import CameraRun


def cameras_for(video: str, rules: Path | None) -> list[CameraSpec]:
    """The rules file's cameras, each watching `video`, or the demo's default camera."""
    if rules is None:
        return [default_camera(video)]
    return [camera.model_copy(update={"url": video}) for camera in load_cameras(rules)]


async def replay(
    video: str,
    inference: InferenceThread,
    *,
    rules: Path | None,
    epoch: datetime,
    realtime: bool,
    evidence_dir: Path | None,
    as_json: bool,
) -> list[Alert]:
    alerts: list[Alert] = []

    async def sink(alert: Alert) -> None:
        alerts.append(alert)
        if as_json:
            sys.stdout.write(alert.model_dump_json() + "\n")
        else:
            sys.stdout.write(describe(alert) + "\n")
        sys.stdout.flush()

    evidence = EvidenceFolder(evidence_dir) if evidence_dir is not None else None
    options = SourceOptions(realtime=realtime, lossless=not realtime)
    cameras = cameras_for(video, rules)
    async with batching(inference, len(cameras)) as batched:
        runs = [
            CameraRun(camera, batched, sink, options, evidence=evidence, epoch=epoch)
            for camera in cameras
        ]
        await asyncio.gather(*(run.run() for run in runs))
    return alerts


def describe(alert: Alert) -> str:
    return (
        f"{alert.updated_at:%H:%M:%S} {alert.level.value.upper():6} {alert.kind.value} "
        f"{alert.status.value:6} camera={alert.camera_id} zone={alert.zone_id} "
        f"people={alert.people_count} peak={alert.peak_people} id={alert.id[:8]} r{alert.revision}"
    )
