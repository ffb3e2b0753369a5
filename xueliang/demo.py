"""`xueliang demo`: the hub and one worker in one process on embedded defaults.

SQLite, the in-process bus, footage replayed in real time as a live camera (looped), the operator
page on localhost. Every alert is printed as it happens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import time
from pathlib import Path

import uvicorn
from pydantic import SecretStr
from rich.console import Console

from cameras.source import SourceOptions
from hub.app import create_app
from hub.camera_registry import CameraRegistry
from hub.contracts import STREAM_ALERTS, Alert
from hub.incidents import IncidentEngine
from hub.settings import HubSettings
from hub.store import AlertStore
from xueliang.bus import InProcessBus
from xueliang.config import default_camera, load_cameras
from xueliang.demo_camera import FootageGateway, register_demo_camera
from xueliang.demo_incidents import DEMO_GRID, add_demo_responders, print_changes
from xueliang.evidence_store import EvidenceFolder
from xueliang.inference import InferenceThread, batching
from xueliang.metrics import WorkerMetrics
from xueliang.replay import describe
from xueliang.worker import CameraProgress, CameraRun

LEVEL_STYLE = {"red": "bold red", "orange": "bold dark_orange", "yellow": "yellow", "blue": "blue"}


async def run_demo(args: argparse.Namespace, inference: InferenceThread) -> int:
    console = Console(highlight=False)
    started = time.monotonic()
    token = os.environ.get("XUELIANG_API_TOKEN") or secrets.token_urlsafe(18)
    data_dir = args.data_dir
    settings = HubSettings(
        database_url=f"sqlite+aiosqlite:///{data_dir / 'demo.db'}",
        redis_url=None,
        evidence_dir=data_dir / "evidence",
        api_token=SecretStr(token),
        host=args.host,
        port=args.port,
        grid_file=DEMO_GRID,
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    bus = InProcessBus()
    store = await AlertStore.open(settings.database_url)
    metrics = WorkerMetrics()
    camera = load_cameras(args.rules)[0] if args.rules else default_camera(args.video)
    camera = camera.model_copy(update={"url": args.video})
    footage = FootageGateway(Path(args.video))  # the live view plays the footage
    app = create_app(settings, bus, store, metrics.registry, footage)
    incidents: IncidentEngine = app.state.incidents
    await add_demo_responders(incidents)
    await register_demo_camera(CameraRegistry(store.engine), camera)  # on the map, live view
    incidents.on_change = print_changes(incidents, lambda line: console.print(line, soft_wrap=True))
    server = uvicorn.Server(
        uvicorn.Config(app, host=args.host, port=args.port, log_level="warning", access_log=False,
                       ws_per_message_deflate=False)  # as `xueliang hub` (see services.py)
    )

    async def sink(alert: Alert) -> None:
        await bus.publish(STREAM_ALERTS, alert.model_dump_json().encode())
        style = LEVEL_STYLE.get(alert.level.value, "")
        console.print(f"[{style}]ALERT[/] {describe(alert)}", soft_wrap=True)

    server_task = asyncio.create_task(server.serve())
    while not server.started:
        if server_task.done():
            await store.close()
            await server_task  # re-raises why it could not start
            return 1
        await asyncio.sleep(0.05)
    console.print(f"[bold]xueliang demo[/] model={inference.detector.name} camera={camera.id}")
    console.print(f"operator page: http://{args.host}:{args.port}/#token={token}")
    console.print("Ctrl-C stops the demo.")
    try:
        with console.status("starting the camera ...") as status:

            def show(progress: CameraProgress) -> None:
                status.update(_progress_line(progress, inference, time.monotonic() - started))

            async with batching(inference, cameras=1, metrics=metrics) as batched:
                run = CameraRun(
                    camera,
                    batched,
                    sink,
                    SourceOptions(realtime=True, loop_forever=not args.once),
                    evidence=EvidenceFolder(settings.evidence_dir),
                    on_progress=show,
                )
                await run.run()
        await asyncio.sleep(1.0)  # let the hub ingest the last alert before stopping
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await server_task
        await bus.close()
        await store.close()
        inference.close()
    return 0


def _progress_line(progress: CameraProgress, inference: InferenceThread, uptime_s: float) -> str:
    return (
        f"up {uptime_s:5.0f} s | stream {progress.stream_s:6.1f} s | samples {progress.samples} | "
        f"people {progress.people_in_frame:2d} | alerts {progress.alerts} | "
        f"inference {inference.frames_per_s:4.1f} frames/s | dropped {progress.dropped}"
    )
