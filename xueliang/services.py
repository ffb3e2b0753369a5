"""Production mode: `xueliang hub` and `xueliang worker`, separate processes joined by Redis."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path

import uvicorn
from prometheus_client import start_http_server

from cameras.source import SourceOptions
from cameras.urls import is_network_url, redact_url
from hub.app import InsecureBindError, create_app
from hub.contracts import STREAM_ALERTS, STREAM_CAMERA_HEALTH, Alert, CameraHealth, CameraSpec
from hub.runtime import tune_gc_for_serving
from hub.sealing import Sealer, SealingError
from hub.settings import HubSettings
from hub.store import AlertStore
from xueliang.bus import make_bus
from xueliang.bus.redis_leases import RedisLeases
from xueliang.config import ConfigError
from xueliang.evidence_store import EvidenceFolder
from xueliang.fleet import Fleet, FleetSource, default_worker_id
from xueliang.gateway import CameraAccess, network_policy
from xueliang.inference import InferenceThread, batching
from xueliang.metrics import WorkerMetrics
from xueliang.supervise import CameraWatch

log = logging.getLogger("xueliang.worker")

RETRY_MAX_S = 30.0
MAX_BATCH = 8  # frames per inference batch, across the cameras this worker holds


async def serve_hub(log_level: str) -> int:
    settings = HubSettings()
    bus = make_bus(settings.redis_url, claim_idle_ms=int(settings.bus_claim_idle_s * 1000))
    store = await AlertStore.open(settings.database_url)
    try:
        try:
            gateway = CameraAccess(network_policy(settings.camera_networks))
            app = create_app(settings, bus, store, gateway=gateway)
        except (InsecureBindError, SealingError, ValueError) as error:
            raise ConfigError(str(error)) from None
        # No per-message deflate: each socket compresses every frame with its own context, which
        # cut live throughput to 200 consoles 2.6x in bench/hub.py (382 vs 1,015 alerts/s).
        config = uvicorn.Config(
            app, host=settings.host, port=settings.port, log_level=log_level,
            ws_per_message_deflate=False,
        )  # fmt: skip
        tune_gc_for_serving()
        await uvicorn.Server(config).serve()
    finally:
        await bus.close()
        await store.close()
    return 0


async def run_worker(
    fleet_source: FleetSource, inference: InferenceThread, metrics_port: int = 0
) -> int:
    """Run the cameras this worker holds leases on (Redis), out of `fleet_source`: the hub's
    fleet or a config file's cameras. Workers sharing one Redis share the cameras; a dead
    worker's are taken over within the lease bound (60 s by default). `metrics_port`: serve
    Prometheus metrics on 127.0.0.1 there (0: don't)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per fleet poll is noise
    redis_url = os.environ.get("REDIS_URL") or os.environ.get("XUELIANG_REDIS_URL")
    if not redis_url:
        raise ConfigError("the worker needs REDIS_URL (production); `xueliang demo` runs alone")
    unseal = _unsealer()
    bus = make_bus(redis_url)
    leases = RedisLeases(redis_url)
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
    try:
        async with batching(inference, MAX_BATCH, metrics) as batched:

            async def start_camera(camera: CameraSpec, camera_stop: asyncio.Event) -> None:
                watch = CameraWatch(
                    camera, batched, publish_alert, publish_health, _source_options(camera),
                    evidence=evidence, unseal=unseal,
                )  # fmt: skip
                await _guarded(watch, camera_stop)

            fleet = Fleet(default_worker_id(), fleet_source, leases, start_camera)
            log.info("worker %s started", fleet.worker_id)
            await fleet.run(stop)
    finally:
        await leases.close()
        await bus.close()
        inference.close()
    return 0


def _unsealer() -> Callable[[str], str] | None:
    key = os.environ.get("XUELIANG_SECRET_KEY")
    if not key:
        return None  # cameras with a sealed password fail with a clear error, the rest run
    try:
        return Sealer(key).open
    except SealingError as error:
        raise ConfigError(str(error)) from None


def static_fleet(cameras: list[CameraSpec]) -> FleetSource:
    """A config file's cameras as a fleet source."""

    async def source() -> list[CameraSpec]:
        return cameras

    return source


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
