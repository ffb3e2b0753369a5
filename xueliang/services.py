"""Production mode: `xueliang hub` and `xueliang worker`, separate processes joined by Redis."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from pathlib import Path

import uvicorn
from prometheus_client import start_http_server

from cameras.source import SourceOptions
from cameras.urls import is_network_url, redact_url
from hub.app import InsecureBindError, create_app
from hub.contracts import STREAM_ALERTS, STREAM_CAMERA_HEALTH, Alert, CameraHealth, CameraSpec
from hub.settings import HubSettings
from hub.store import AlertStore
from xueliang.bus import make_bus
from xueliang.config import ConfigError
from xueliang.evidence_store import EvidenceFolder
from xueliang.inference import InferenceThread, batching
from xueliang.metrics import WorkerMetrics
from xueliang.supervise import CameraWatch

log = logging.getLogger("xueliang.worker")

RETRY_MAX_S = 30.0


async def serve_hub(log_level: str) -> int:
    settings = HubSettings()
    bus = make_bus(settings.redis_url)
    store = await AlertStore.open(settings.database_url)
    try:
        try:
            app = create_app(settings, bus, store)
        except InsecureBindError as error:
            raise ConfigError(str(error)) from None
        config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level=log_level)
        await uvicorn.Server(config).serve()
    finally:
        await bus.close()
        await store.close()
    return 0


async def run_worker(
    cameras: list[CameraSpec], inference: InferenceThread, metrics_port: int = 0
) -> int:
    """`metrics_port`: serve Prometheus metrics on 127.0.0.1 there (0: don't)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    redis_url = os.environ.get("REDIS_URL") or os.environ.get("XUELIANG_REDIS_URL")
    if not redis_url:
        raise ConfigError("the worker needs REDIS_URL (production); `xueliang demo` runs alone")
    bus = make_bus(redis_url)
    evidence = EvidenceFolder(Path(os.environ.get("XUELIANG_EVIDENCE_DIR", "var/evidence")))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async def publish_alert(alert: Alert) -> None:
        await bus.publish(STREAM_ALERTS, alert.model_dump_json().encode())

    async def publish_health(report: CameraHealth) -> None:
        await bus.publish(STREAM_CAMERA_HEALTH, report.model_dump_json().encode())

    metrics = WorkerMetrics()
    if metrics_port:
        start_http_server(metrics_port, addr="127.0.0.1", registry=metrics.registry)
    async with batching(inference, len(cameras), metrics) as batched:
        watches = [
            CameraWatch(
                camera, batched, publish_alert, publish_health, _source_options(camera),
                evidence=evidence,
            )
            for camera in cameras
        ]
        await asyncio.gather(*(_guarded(watch, stop) for watch in watches))
    await bus.close()
    inference.close()
    return 0


def _source_options(camera: CameraSpec) -> SourceOptions:
    # A file stands in for a camera: pace it and loop it; a live stream paces itself.
    live = is_network_url(camera.url)
    return SourceOptions(realtime=not live, loop_forever=not live)


async def _guarded(watch: CameraWatch, stop: asyncio.Event) -> None:
    """One camera's failure never stops the others: log it, wait, start it again."""
    while not stop.is_set():
        try:
            await watch.run(stop)
        except Exception as error:
            reason = redact_url(str(error))[:200]
            log.error("camera %s failed (%s: %s)", watch.camera.id, type(error).__name__, reason)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RETRY_MAX_S)
