"""Production mode: `xueliang hub` and `xueliang worker`, separate processes joined by Redis."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
from pathlib import Path

import uvicorn

from cameras.pyav import VideoError
from cameras.source import SourceOptions
from cameras.urls import is_network_url, redact_url
from hub.app import InsecureBindError, create_app
from hub.contracts import STREAM_ALERTS, Alert, CameraSpec
from hub.settings import HubSettings
from hub.store import AlertStore
from xueliang.bus import Bus, make_bus
from xueliang.config import ConfigError
from xueliang.evidence_store import EvidenceFolder
from xueliang.inference import BatchedInference, InferenceThread, batching
from xueliang.worker import CameraRun

log = logging.getLogger("xueliang.worker")

RETRY_FIRST_S = 1.0
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


async def run_worker(cameras: list[CameraSpec], inference: InferenceThread) -> int:
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
    async with batching(inference, len(cameras)) as batched:
        tasks = [asyncio.create_task(_watch(cam, batched, bus, evidence)) for cam in cameras]
        await stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    await bus.close()
    inference.close()
    return 0


async def _watch(
    camera: CameraSpec, inference: BatchedInference, bus: Bus, evidence: EvidenceFolder
) -> None:
    """Keep one camera running: reopen after errors with jittered exponential backoff."""

    async def publish(alert: Alert) -> None:
        await bus.publish(STREAM_ALERTS, alert.model_dump_json().encode())

    # A file stands in for a camera: pace it and loop it; a live stream paces itself.
    live = is_network_url(camera.url)
    options = SourceOptions(realtime=not live, loop_forever=not live)
    delay_s = RETRY_FIRST_S
    while True:
        try:
            await CameraRun(camera, inference, publish, options, evidence=evidence).run()
            delay_s = RETRY_FIRST_S
            log.info("camera %s: input ended, reopening", camera.id)
        except VideoError as error:  # already redacted
            log.warning("camera %s: %s; retrying in %.1f s", camera.id, error, delay_s)
        except Exception as error:  # keep the other cameras running whatever happens to this one
            reason = redact_url(str(error))[:200]
            log.error("camera %s failed (%s: %s)", camera.id, type(error).__name__, reason)
        await asyncio.sleep(delay_s * random.uniform(0.5, 1.0))  # noqa: S311 (jitter, not crypto)
        delay_s = min(delay_s * 2, RETRY_MAX_S)
