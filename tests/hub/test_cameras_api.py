"""Camera registration over HTTP: round trip, write-only passwords sealed at rest, refused URLs,
roles, updates and removal. Every response of these tests is scanned for the canary password."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from hub.sealing import Sealer, new_key
from tests.canary import CANARY_PASSWORD, CANARY_USER, assert_response_clean, leaks
from tests.hub.conftest import TOKEN, Hub, _serve
from xueliang.gateway import CameraAccess, network_policy

INTEGRATOR = "integrator-token-5d2a"
WORKER = "worker-token-9b3f"
KEY = new_key()
CAMERA: dict[str, Any] = {
    "id": "plaza-east",
    "name": "Plaza east",
    "rtsp_url": "rtsp://127.0.0.1:8554/plaza",
    "username": CANARY_USER,
    "password": CANARY_PASSWORD,
    "location": {"lat": 30.66, "lon": 104.07},
    "heading_deg": 90,
    "fov_deg": 70,
    "grid_cell": "g-001",
    "tags": ["plaza", "east"],
    "zones": [{"id": "z", "polygon": [[0, 0], [1, 0], [1, 1]]}],
    "rules": [{"id": "crowd", "zone_id": "z", "min_people": 5}],
}


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[Hub]:
    gateway = CameraAccess(network_policy("127.0.0.1/32"), timeout_s=2.0)
    async for running in _serve(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}", gateway,
        integrator_token=SecretStr(INTEGRATOR), worker_token=SecretStr(WORKER),
        secret_key=SecretStr(KEY),
    ):  # fmt: skip
        yield running


def client(hub: Hub, token: str | None = INTEGRATOR) -> httpx.AsyncClient:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return httpx.AsyncClient(
        base_url=hub.base,
        headers=headers,
        event_hooks={"response": [assert_response_clean]},
        timeout=10,
    )


async def test_registered_camera_round_trips_without_its_password(hub: Hub) -> None:
    async with client(hub) as integrator:
        created = await integrator.post("/api/cameras", json=CAMERA)
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["has_password"] is True and "password" not in body
        assert body["username"] == CANARY_USER
        assert body["stream_url"] == CAMERA["rtsp_url"] and body["revision"] == 0
        assert body["tags"] == ["plaza", "east"] and body["fov_deg"] == 70
        assert (await integrator.get("/api/cameras/plaza-east")).json() == body
        assert [c["id"] for c in (await integrator.get("/api/cameras")).json()] == ["plaza-east"]
        again = await integrator.post("/api/cameras", json=CAMERA)
        assert again.status_code == 409
    row = sqlite3.connect(hub.settings.database_url.split("///", 1)[1]).execute(
        "SELECT body, password_sealed FROM cameras"
    ).fetchone()
    assert not leaks(row[0]) and not leaks(row[1])  # sealed at rest
    async with client(hub, WORKER) as worker:
        fleet = (await worker.get("/api/fleet")).json()
    assert [spec["id"] for spec in fleet] == ["plaza-east"]
    assert Sealer(KEY).open(fleet[0]["password_sealed"]) == CANARY_PASSWORD
    assert fleet[0]["url"] == CAMERA["rtsp_url"]


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("file:///etc/passwd", "scheme"),
        ("/etc/passwd", "scheme"),
        ("exec:ls", "scheme"),
        ("pipe:0", "scheme"),
        ("concat:rtsp://127.0.0.1/a|file:///etc/passwd", "scheme"),
        ("http://127.0.0.1:8554/x", "scheme"),
        ("rtsp://127.0.0.1:8554/x -i /etc/passwd", "spaces"),
        ("rtsp://127.0.0.1:8554/x\r\nX: y", "control"),
        ("rtsp://admin:pw@127.0.0.1:8554/x", "credentials"),
        ("rtsp://127.0.0.2:8554/x", "outside"),
        ("rtsp://169.254.169.254/latest", "outside"),
        ("rtsp://[::ffff:127.0.0.2]:8554/x", "outside"),
        ("rtsp://10.0.0.5/x", "outside"),  # allowed by default, not by this hub's setting
        ("rtsp://no-such-host.invalid/x", "resolve"),
        ("rtsp://127.0.0.1:99999/x", "malformed"),
    ],
)
async def test_refused_stream_urls_are_clear_4xx_and_store_nothing(
    hub: Hub, url: str, why: str
) -> None:
    async with client(hub) as integrator:
        response = await integrator.post("/api/cameras", json=CAMERA | {"rtsp_url": url})
        assert response.status_code == 422, response.text
        assert why in response.text.lower()
        assert (await integrator.get("/api/cameras")).json() == []


async def test_roles_decide_who_registers_and_who_reads_the_fleet(hub: Hub) -> None:
    async with client(hub, None) as anonymous:
        assert (await anonymous.post("/api/cameras", json=CAMERA)).status_code == 401
        assert (await anonymous.get("/api/fleet")).status_code == 401
    async with client(hub, WORKER) as worker:
        assert (await worker.post("/api/cameras", json=CAMERA)).status_code == 403
    async with client(hub, INTEGRATOR) as integrator:
        assert (await integrator.get("/api/fleet")).status_code == 403
        assert (await integrator.get("/api/alerts")).status_code == 403  # known, not a reader
    async with client(hub, TOKEN) as admin:
        assert (await admin.post("/api/cameras", json=CAMERA)).status_code == 201
        assert (await admin.get("/api/fleet")).status_code == 200


async def test_validation_errors_never_echo_the_password(hub: Hub) -> None:
    broken = [
        CAMERA | {"location": "nowhere"},
        CAMERA | {"password": CANARY_PASSWORD * 40},  # too long
        CAMERA | {"unknown": CANARY_PASSWORD},
        {k: v for k, v in CAMERA.items() if k != "username"},  # a password without a user
        CAMERA | {"onvif": {"host": "127.0.0.1"}},  # two sources
        CAMERA | {"rules": [{"id": "r", "zone_id": "nowhere"}]},
    ]
    async with client(hub) as integrator:
        for body in broken:
            response = await integrator.post("/api/cameras", json=body)
            assert response.status_code == 422, body.keys()
            assert response.json()["detail"]  # says where and why
        raw = await integrator.post(
            "/api/cameras", content=b'{"password": "' + CANARY_PASSWORD.encode() + b'"',
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        assert raw.status_code == 422


async def test_updates_change_fields_and_password_null_removes_it(hub: Hub) -> None:
    async with client(hub) as integrator:
        await integrator.post("/api/cameras", json=CAMERA)
        changed = await integrator.patch(
            "/api/cameras/plaza-east",
            json={"name": "Plaza east gate", "heading_deg": None, "enabled": False},
        )
        assert changed.status_code == 200, changed.text
        body = changed.json()
        assert body["name"] == "Plaza east gate" and body["heading_deg"] is None
        assert body["enabled"] is False and body["has_password"] and body["revision"] == 1
        async with client(hub, WORKER) as worker:
            assert (await worker.get("/api/fleet")).json() == []  # disabled: not run
        cleared = await integrator.patch("/api/cameras/plaza-east", json={"password": None})
        assert cleared.json()["has_password"] is False
        moved = await integrator.patch(
            "/api/cameras/plaza-east", json={"rtsp_url": "rtsp://127.0.0.2/x"}
        )
        assert moved.status_code == 422  # the same guard on updates
        bad_rules = await integrator.patch(
            "/api/cameras/plaza-east", json={"zones": []}
        )  # the crowd rule would name a missing zone
        assert bad_rules.status_code == 422
        assert (await integrator.delete("/api/cameras/plaza-east")).status_code == 204
        assert (await integrator.get("/api/cameras/plaza-east")).status_code == 404
        assert (await integrator.delete("/api/cameras/plaza-east")).status_code == 404


async def test_reserved_and_generated_ids(hub: Hub) -> None:
    async with client(hub) as integrator:
        reserved = await integrator.post("/api/cameras", json=CAMERA | {"id": "health"})
        assert reserved.status_code == 422
        made_up = await integrator.post("/api/cameras", json={**CAMERA, "id": None})
        assert made_up.status_code == 201 and made_up.json()["id"].startswith("cam-")


async def test_a_password_needs_the_secret_key(tmp_path: Path) -> None:
    gateway = CameraAccess(network_policy("127.0.0.1/32"))
    async for hub in _serve(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}", gateway):
        async with client(hub, TOKEN) as admin:
            refused = await admin.post("/api/cameras", json=CAMERA)
            assert refused.status_code == 503 and "XUELIANG_SECRET_KEY" in refused.text
            no_password = {k: v for k, v in CAMERA.items() if k != "password"}
            assert (await admin.post("/api/cameras", json=no_password)).status_code == 201


# The bottom half of the image is 20 m x 10 m of pavement (see tests/test_ground_calibration.py).
CALIBRATION = {
    "image": [[0.0, 0.5], [1.0, 0.5], [1.0, 1.0], [0.0, 1.0]],
    "ground_m": [[0.0, 10.0], [20.0, 10.0], [20.0, 0.0], [0.0, 0.0]],
}
DENSE_RULE = {"id": "dense", "zone_id": "z", "min_people": 5, "min_density_per_m2": 2}


def _messages(response: httpx.Response) -> str:
    return " ".join(item["msg"] for item in response.json()["detail"])


async def test_a_density_rule_needs_the_cameras_ground_calibration(hub: Hub) -> None:
    async with client(hub) as integrator:
        refused = await integrator.post("/api/cameras", json=CAMERA | {"rules": [DENSE_RULE]})
        assert refused.status_code == 422, refused.text
        assert "'dense' sets min_density_per_m2, which needs the camera's ground_calibration" in (
            _messages(refused)
        )
        assert (await integrator.get("/api/cameras")).json() == []
        calibrated = CAMERA | {"rules": [DENSE_RULE], "ground_calibration": CALIBRATION}
        created = await integrator.post("/api/cameras", json=calibrated)
        assert created.status_code == 201, created.text
        assert created.json()["ground_calibration"] == CALIBRATION
        assert (await integrator.get("/api/cameras/plaza-east")).json() == created.json()
    async with client(hub, WORKER) as worker:
        [spec] = (await worker.get("/api/fleet")).json()
    assert spec["ground_calibration"] == CALIBRATION  # what the worker runs measures areas
    assert spec["rules"][0]["min_density_per_m2"] == 2


async def test_updates_set_keep_and_clear_the_ground_calibration(hub: Hub) -> None:
    async with client(hub) as integrator:
        await integrator.post("/api/cameras", json=CAMERA)
        url = "/api/cameras/plaza-east"
        # A density rule on a camera without a calibration: refused, nothing changes.
        refused = await integrator.patch(url, json={"rules": [DENSE_RULE]})
        assert refused.status_code == 422 and "ground_calibration" in _messages(refused)
        # Calibration and rule in one change: accepted.
        both = await integrator.patch(
            url, json={"ground_calibration": CALIBRATION, "rules": [DENSE_RULE]}
        )
        assert both.status_code == 200, both.text
        assert both.json()["ground_calibration"] == CALIBRATION and both.json()["revision"] == 1
        # A change that leaves the field out keeps it.
        renamed = await integrator.patch(url, json={"name": "Plaza east gate"})
        assert renamed.json()["ground_calibration"] == CALIBRATION
        # Clearing it under the density rule is refused; with the rule gone it is cleared.
        orphaned = await integrator.patch(url, json={"ground_calibration": None})
        assert orphaned.status_code == 422 and "min_density_per_m2" in _messages(orphaned)
        assert (await integrator.get(url)).json()["ground_calibration"] == CALIBRATION
        cleared = await integrator.patch(
            url, json={"ground_calibration": None, "rules": CAMERA["rules"]}
        )
        assert cleared.status_code == 200 and cleared.json()["ground_calibration"] is None
        # A calibration whose points fold over is refused with what to fix.
        folded = CALIBRATION | {"ground_m": [[0, 10], [20, 10], [0, 0], [20, 0]]}
        bad = await integrator.patch(url, json={"ground_calibration": folded})
        assert bad.status_code == 422 and "different orders" in _messages(bad)
    async with client(hub, WORKER) as worker:
        [spec] = (await worker.get("/api/fleet")).json()
    assert spec["ground_calibration"] is None


async def test_a_density_zone_past_the_horizon_is_refused_with_what_to_fix(hub: Hub) -> None:
    # A road seen in perspective: the horizon crosses the image at y = 0.15.
    road = {
        "image": [[0.2, 0.9], [0.8, 0.9], [0.6, 0.4], [0.4, 0.4]],
        "ground_m": [[0, 0], [10, 0], [10, 20], [0, 20]],
    }
    whole_view = [{"id": "z", "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]]}]
    body = CAMERA | {"zones": whole_view, "rules": [DENSE_RULE], "ground_calibration": road}
    async with client(hub) as integrator:
        refused = await integrator.post("/api/cameras", json=body)
        assert refused.status_code == 422, refused.text
        assert "zone 'z' (vertices 1, 2) reaches past the ground_calibration's horizon" in (
            _messages(refused)
        )
        below = [{"id": "z", "polygon": [[0, 0.3], [1, 0.3], [1, 1], [0, 1]]}]
        accepted = await integrator.post("/api/cameras", json=body | {"zones": below})
        assert accepted.status_code == 201, accepted.text
