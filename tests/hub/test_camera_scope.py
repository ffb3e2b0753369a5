"""Grid scopes on the camera routes: an integrator scoped to a grid cell sees, edits and removes
only the cameras placed in it (others answer 404, as unknown ones), and cannot register or move
a camera outside it (403). The camera's cell is decided as an incident's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.contracts import STREAM_CAMERA_HEALTH, CameraHealth, CameraState
from tests.hub.conftest import Hub, _serve
from tests.hub.incident_world import EAST_CELL, GRID_FILE, SQUARE
from tests.hub.test_login import add_user, signed_in
from xueliang.gateway import CameraAccess, network_policy


def camera(camera_id: str, where: Any) -> dict[str, Any]:
    return {"id": camera_id, "rtsp_url": f"rtsp://127.0.0.1:8554/{camera_id}",
            "location": where.model_dump()}  # fmt: skip


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[Hub]:
    gateway = CameraAccess(network_policy("127.0.0.1/32"), timeout_s=2.0)
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async for running in _serve(tmp_path, url, gateway, grid_file=GRID_FILE):
        async with httpx.AsyncClient(base_url=running.base, headers=running.auth) as admin:
            for body in (camera("square", SQUARE), camera("east", EAST_CELL)):  # g-001, g-002
                assert (await admin.post("/api/cameras", json=body)).status_code == 201
        await add_user(running, "int-east", "integrator", grid_scope="g-002")
        yield running


async def test_a_scoped_integrator_sees_and_changes_only_its_cells_cameras(hub: Hub) -> None:
    async with signed_in(hub, "int-east") as east:
        assert [c["id"] for c in (await east.get("/api/cameras")).json()] == ["east"]
        for method, path, body in (
            ("GET", "/api/cameras/square", None),
            ("PATCH", "/api/cameras/square", {"name": "mine now"}),
            ("DELETE", "/api/cameras/square", None),
            ("GET", "/api/cameras/square/snapshot.jpg", None),
        ):
            foreign = await east.request(method, path, json=body)
            unknown = await east.request(method, path.replace("square", "nope"), json=body)
            assert (foreign.status_code, foreign.json()) == (404, unknown.json()), path
        renamed = await east.patch("/api/cameras/east", json={"name": "东 East"})
        assert renamed.status_code == 200, renamed.text
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as admin:
        square = (await admin.get("/api/cameras/square")).json()
        assert square["name"] != "mine now"  # the refused change wrote nothing


async def test_a_scoped_integrator_cannot_place_a_camera_outside_its_scope(hub: Hub) -> None:
    async with signed_in(hub, "int-east") as east:
        outside = await east.post("/api/cameras", json=camera("new-square", SQUARE))
        assert outside.status_code == 403 and "grid scope" in outside.json()["detail"]
        inside = await east.post("/api/cameras", json=camera("new-east", EAST_CELL))
        assert inside.status_code == 201, inside.text
        moved = await east.patch("/api/cameras/new-east", json={"location": SQUARE.model_dump()})
        assert moved.status_code == 403
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as admin:
        ids = {c["id"] for c in (await admin.get("/api/cameras")).json()}
        assert ids == {"square", "east", "new-east"}
        kept = (await admin.get("/api/cameras/new-east")).json()["location"]
        assert (kept["lat"], kept["lon"]) == (EAST_CELL.lat, EAST_CELL.lon)


async def test_camera_health_shows_a_scoped_caller_its_cells_cameras_only(hub: Hub) -> None:
    now = datetime.now(UTC)
    for camera_id in ("square", "east"):
        report = CameraHealth(camera_id=camera_id, state=CameraState.ONLINE, input_fps=5.0,
                              last_frame_at=now, reported_at=now, reconnects=0,
                              dropped_frames=0)  # fmt: skip
        await hub.bus.publish(STREAM_CAMERA_HEALTH, report.model_dump_json().encode())
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as admin:
        async with asyncio.timeout(5):
            while len((await admin.get("/api/cameras/health")).json()) < 2:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    async with signed_in(hub, "int-east") as east:
        shown = (await east.get("/api/cameras/health")).json()
        assert [report["camera_id"] for report in shown] == ["east"]
