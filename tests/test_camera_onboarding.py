"""An integrator registers a camera by ONVIF address and credentials; a worker picks it up from
the hub's fleet and streams it; the camera is online on the hub with a snapshot. Real parts: the
hub over HTTP, the ONVIF simulator (SOAP from the WSDLs), GStreamer's RTSP server, PyAV."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from cameras.source import SourceOptions
from hub.contracts import STREAM_ALERTS, STREAM_CAMERA_HEALTH, CameraHealth, CameraSpec
from hub.sealing import Sealer, new_key
from tests.canary import CANARY_PASSWORD, CANARY_USER, assert_response_clean, leaks
from tests.fakes import RecordingDetector
from tests.hub.conftest import Hub, _serve
from tests.onvif_sim import DeviceConfig, OnvifSimulator, SimProfile
from tests.onvif_sim.fixtures import discovery_responder
from tests.rtsp_server import RtspServer
from xueliang.fleet_source import HubFleet
from xueliang.gateway import CameraAccess, network_policy
from xueliang.inference import InferenceThread, batching
from xueliang.supervise import CameraWatch

INTEGRATOR, WORKER, KEY = "integrator-7a1c", "worker-3e9d", new_key()


@pytest.fixture
def onvif_device(rtsp_server: RtspServer) -> Iterator[OnvifSimulator]:
    config = DeviceConfig(
        username=CANARY_USER, password=CANARY_PASSWORD, stream_port=rtsp_server.port,
        profiles=(SimProfile("cam", "mainStream", 768, 576), SimProfile("sub", "sub", 384, 288)),
    )  # fmt: skip
    with OnvifSimulator(config) as device:
        yield device


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[Hub]:
    gateway = CameraAccess(network_policy("127.0.0.1/32"), timeout_s=3.0)
    async for running in _serve(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}", gateway,
        integrator_token=SecretStr(INTEGRATOR), worker_token=SecretStr(WORKER),
        secret_key=SecretStr(KEY),
    ):  # fmt: skip
        yield running


def integrator(hub: Hub) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=hub.base, headers={"Authorization": f"Bearer {INTEGRATOR}"},
        event_hooks={"response": [assert_response_clean]}, timeout=20,
    )  # fmt: skip


async def test_camera_registered_by_onvif_goes_online_with_a_snapshot(
    hub: Hub, onvif_device: OnvifSimulator, rtsp_server: RtspServer
) -> None:
    async with integrator(hub) as client:
        probe = await client.post(
            "/api/cameras/probe",
            json={"onvif": {"host": "127.0.0.1", "port": onvif_device.port},
                  "username": CANARY_USER, "password": CANARY_PASSWORD},
        )  # fmt: skip
        assert probe.status_code == 200, probe.text
        assert [p["token"] for p in probe.json()["profiles"]] == ["cam", "sub"]
        wrong = await client.post(
            "/api/cameras",
            json={"onvif": {"host": "127.0.0.1", "port": onvif_device.port},
                  "username": CANARY_USER, "password": "wrong", "location": {"lat": 1, "lon": 2}},
        )  # fmt: skip
        assert wrong.status_code == 422 and wrong.json()["reason"] == "bad_credentials"
        created = await client.post(
            "/api/cameras",
            json={"id": "gate", "onvif": {"host": "127.0.0.1", "port": onvif_device.port},
                  "username": CANARY_USER, "password": CANARY_PASSWORD,
                  "location": {"lat": 30.6, "lon": 104.1}, "grid_cell": "g-7"},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        camera = created.json()
        assert camera["stream_url"] == f"rtsp://127.0.0.1:{rtsp_server.port}/cam"
        assert camera["device"]["manufacturer"] and camera["has_password"]
        snapshot = await client.get("/api/cameras/gate/snapshot.jpg")
        assert snapshot.status_code == 200 and snapshot.content[:2] == b"\xff\xd8"
        assert onvif_device.records.snapshots == 1  # from the device's snapshot URI

        published: list[bytes] = []
        publish = hub.bus.publish

        async def spy(stream: str, data: bytes) -> str:
            published.append(data)
            return await publish(stream, data)

        hub.bus.publish = spy  # type: ignore[method-assign]
        health = await _run_fleet_until_online(hub, "gate")
        assert published and not leaks(b"\n".join(published))  # no bus message carries it
        assert health.input_fps > 0 and health.last_error is None
        shown = await client.get("/api/cameras/health", headers={})
        assert shown.status_code == 200  # the integrator's health dashboard reads it too
        [gate] = [report for report in shown.json() if report["camera_id"] == "gate"]
        assert gate["state"] == "online" and not leaks(shown.content)


async def test_a_camera_without_snapshot_uri_gets_a_decoded_frame(
    hub: Hub, rtsp_server: RtspServer
) -> None:
    async with integrator(hub) as client:
        created = await client.post(
            "/api/cameras",
            json={"id": "direct", "rtsp_url": rtsp_server.url, "username": CANARY_USER,
                  "password": CANARY_PASSWORD, "location": {"lat": 30.6, "lon": 104.1}},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        snapshot = await client.get("/api/cameras/direct/snapshot.jpg")
        assert snapshot.status_code == 200, snapshot.text
        assert snapshot.content[:2] == b"\xff\xd8" and len(snapshot.content) > 5_000
        rtsp_server.kill()
        gone = await client.get("/api/cameras/direct/snapshot.jpg")
        assert gone.status_code == 502 and gone.json()["transient"] is True


async def _run_fleet_until_online(hub: Hub, camera_id: str) -> CameraHealth:
    """A worker's view: the fleet from the hub, passwords opened with the shared key, health
    back over the bus; returns the hub's first `online` report for the camera."""
    fleet = HubFleet(hub.base, WORKER)
    specs: list[CameraSpec] = await fleet()
    await fleet.close()
    assert [spec.id for spec in specs] == [camera_id]
    assert specs[0].password_sealed and not leaks(specs[0].model_dump_json())
    sealer = Sealer(KEY)

    async def publish_alert(alert: object) -> None:
        await hub.bus.publish(STREAM_ALERTS, alert.model_dump_json().encode())  # type: ignore[attr-defined]

    async def publish_health(report: CameraHealth) -> None:
        await hub.bus.publish(STREAM_CAMERA_HEALTH, report.model_dump_json().encode())

    inference = InferenceThread(RecordingDetector())
    stop = asyncio.Event()
    headers = {"Authorization": f"Bearer {hub.settings.api_token.get_secret_value()}"}  # type: ignore[union-attr]
    try:
        async with batching(inference, cameras=1) as batched:
            watch = CameraWatch(
                specs[0], batched, publish_alert, publish_health, SourceOptions(realtime=False),
                health_interval_s=0.5, unseal=sealer.open,
            )  # fmt: skip
            task = asyncio.create_task(watch.run(stop))
            async with httpx.AsyncClient(base_url=hub.base, headers=headers) as operator:
                async with asyncio.timeout(20):
                    while True:
                        board = (await operator.get("/api/cameras/health")).json()
                        online = [h for h in board if h["camera_id"] == camera_id
                                  and h["state"] == "online"]  # fmt: skip
                        if online:
                            break
                        await asyncio.sleep(0.2)
            stop.set()
            await asyncio.wait_for(task, 10)
    finally:
        inference.close()
    return CameraHealth.model_validate(online[0])


async def test_discover_register_and_send_to_a_ptz_preset(
    tmp_path: Path, onvif_device: OnvifSimulator
) -> None:
    xaddr = f"http://127.0.0.1:{onvif_device.port}/onvif/device_service"
    async with discovery_responder(xaddr) as (_, address):
        gateway = CameraAccess(network_policy("127.0.0.1/32"), discovery_targets=[address])
        async for hub in _serve(
            tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}", gateway,
            integrator_token=SecretStr(INTEGRATOR), secret_key=SecretStr(KEY),
        ):  # fmt: skip
            async with integrator(hub) as client:
                found = await client.post("/api/cameras/discover", json={"timeout_s": 0.5})
                assert found.status_code == 200, found.text
                [device] = found.json()
                assert (device["host"], device["port"]) == ("127.0.0.1", onvif_device.port)
                assert device["allowed"] is True
                created = await client.post(
                    "/api/cameras",
                    json={"id": "dome", "onvif": {"host": device["host"], "port": device["port"]},
                          "username": CANARY_USER, "password": CANARY_PASSWORD,
                          "location": {"lat": 30.6, "lon": 104.1}},
                )  # fmt: skip
                assert created.status_code == 201, created.text
                camera = created.json()
                assert camera["onvif"]["profile"] == "cam"
                assert [p["token"] for p in camera["ptz_presets"]] == ["1", "2"]
                moved = await client.post("/api/cameras/dome/ptz/goto", json={"preset": "2"})
                assert moved.status_code == 204, moved.text
                assert onvif_device.records.gotos == [("cam", "2")]
                unknown = await client.post("/api/cameras/dome/ptz/goto", json={"preset": "9"})
                assert unknown.status_code == 422
