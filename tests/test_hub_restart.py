"""The hub killed (SIGKILL) between its durable writes and the bus acknowledgement, then started
again on the same Redis (append-only file on) and database: every alert becomes exactly one
incident with exactly one dispatch, none is lost, nothing stays pending on the bus.

The kill comes from inside (hub/failpoints.py) so it falls exactly in the window under test; the
red alerts are dispatched automatically (`auto_dispatch: [red]`), so a second handling of a
redelivered alert would show up as a second dispatch.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from hub.contracts import STREAM_ALERTS, GeoPoint, Level
from tests.factories import make_alert
from tests.redis_server import RedisServer, free_port
from xueliang.bus.redis_streams import RedisStreamsBus

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "restart-test-token-4d2a"
ALERTS = 8
CONFIG = """
auto_dispatch: [red]
merge_radius_m: 50
deadlines:
  red: {acknowledge_s: 3600, claim_s: 3600, verify_s: 3600, dispatch_s: 3600}
"""


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    folder = tmp_path / "redis"
    folder.mkdir()
    server = RedisServer(folder)
    server.start()
    yield server
    server.kill()


class HubProcess:
    def __init__(self, tmp_path: Path, redis_url: str) -> None:
        self.port = free_port()
        config = tmp_path / "incidents.yaml"
        config.write_text(CONFIG, encoding="utf-8")
        self.log = tmp_path / "hub.log"
        self.env = {
            **os.environ,
            "XUELIANG_API_TOKEN": TOKEN,
            "XUELIANG_PORT": str(self.port),
            "XUELIANG_REDIS_URL": redis_url,
            "XUELIANG_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}",
            "XUELIANG_EVIDENCE_DIR": str(tmp_path / "evidence"),
            "XUELIANG_INCIDENT_CONFIG": str(config),
            "XUELIANG_BUS_CLAIM_IDLE_S": "1",
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, failpoint: str | None = None) -> None:
        env = dict(self.env)
        if failpoint:
            env["XUELIANG_FAILPOINT"] = failpoint
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "xueliang.cli", "hub", "--log-level", "warning"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text(errors="replace")[-2000:]
            try:
                if httpx.get(f"{self.base}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError("the hub did not become healthy within 60 s")

    def wait_killed(self, timeout_s: float = 60) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout_s)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _api(hub: HubProcess, method: str, path: str, **kwargs: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    return httpx.request(method, hub.base + path, headers=headers, timeout=10, **kwargs)  # type: ignore[arg-type]


def _add_responders(hub: HubProcess, count: int) -> None:
    for index in range(count):
        body = {"id": f"resp-{index}", "name": f"Responder {index}", "availability": "available"}
        assert _api(hub, "POST", "/api/responders", json=body).status_code == 201


async def _publish(redis_url: str) -> list[str]:
    """Red alerts far apart (about 1.1 km): each must open its own incident."""
    bus = RedisStreamsBus(redis_url)
    ids = []
    try:
        for index in range(ALERTS):
            alert = make_alert(
                f"cam-{index}", level=Level.RED, grid_cell=None,
                location=GeoPoint(lat=30.60 + index * 0.01, lon=104.06),
            )  # fmt: skip
            ids.append(alert.id)
            await bus.publish(STREAM_ALERTS, alert.model_dump_json().encode())
    finally:
        await bus.close()
    return ids


async def _pending(redis_url: str) -> int:
    client = Redis.from_url(redis_url)
    try:
        summary = await client.xpending(STREAM_ALERTS, "hub")
        return int(summary["pending"])
    finally:
        await client.aclose()


def _incidents(hub: HubProcess) -> list[dict[str, Any]]:
    answer = _api(hub, "GET", "/api/incidents", params={"limit": 500})
    assert answer.status_code == 200
    incidents: list[dict[str, Any]] = answer.json()["incidents"]
    return incidents


def _settled(hub: HubProcess, redis_url: str, timeout_s: float = 60) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = _incidents(hub)
        linked = sum(len(incident["alerts"]) for incident in found)
        if linked >= ALERTS and asyncio.run(_pending(redis_url)) == 0:
            return found
        time.sleep(0.3)
    raise AssertionError(f"not settled: {len(_incidents(hub))} incidents")


@pytest.mark.parametrize(
    ("failpoint", "batch"),
    [("ingest.before_ack:3", 1), ("ingest.after_alert_write:3", 1),  # the third alert
     ("ingest.before_ack:1", 100), ("ingest.after_alert_write:1", 100)],  # the first batch
    ids=["after-incident-and-dispatch", "after-alert-before-incident",
         "batch-after-incident-and-dispatch", "batch-after-alert-before-incident"],
)  # fmt: skip
def test_hub_killed_mid_dispatch_loses_nothing(
    tmp_path: Path, redis_server: RedisServer, failpoint: str, batch: int
) -> None:
    hub = HubProcess(tmp_path, redis_server.url)
    hub.env["XUELIANG_INGEST_BATCH"] = str(batch)
    hub.start(failpoint)
    try:
        _add_responders(hub, ALERTS)
        alert_ids = asyncio.run(_publish(redis_server.url))
        assert hub.wait_killed() == -signal.SIGKILL  # it died in the window, no cleanup
        hub.start()
        incidents = _settled(hub, redis_server.url)
    finally:
        hub.stop()
        hub_log = hub.log.read_text(errors="replace")

    assert len(incidents) == ALERTS, hub_log[-2000:]
    linked = sorted(a for incident in incidents for a in incident["alerts"])
    assert linked == sorted(alert_ids)  # each alert in exactly one incident, none lost
    for incident in incidents:
        assignments = incident["assignments"]
        assert isinstance(assignments, list)
        assert len(assignments) == 1, incident  # dispatched exactly once
        assert assignments[0]["state"] == "notified"
    dispatched = {incident["assignments"][0]["responder_id"] for incident in incidents}
    assert len(dispatched) == ALERTS  # nobody was sent twice (each was committed after one)
