"""GET /api/map against a real hub with the demo grid: every layer's content, who may read it, and
no camera credential or stream URL in the answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from hub import map_routes
from hub.camera_models import CameraRecord
from hub.camera_registry import CameraRegistry
from hub.contracts import GeoPoint, Level
from hub.dispatch import SpeedProfile
from hub.map_routes import page_headers
from hub.settings import HubSettings
from tests.hub.conftest import Hub, _serve
from tests.hub.incident_world import GRID_FILE, SQUARE, alert
from tests.hub.test_incident_scenario import add_responder

CANARY = "canary-pw-5d1f0e"  # must appear nowhere in the map's answer
STREAM = f"rtsp://admin:{CANARY}@10.1.2.3:554/Streaming/101"
WANG_AT = GeoPoint(lat=30.6572, lon=104.0662)  # cell g-001, by the square


@pytest.fixture
async def grid_hub(tmp_path: Path) -> AsyncIterator[Hub]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async for running in _serve(tmp_path, url, grid_file=GRID_FILE):
        yield running


async def add_camera(hub: Hub, camera_id: str, where: GeoPoint, **placement: Any) -> None:
    """Straight into the registry (the API would need a camera gateway), with a username, a
    "sealed" password and a stream URL that all carry the canary."""
    snapshot = f"http://10.1.2.3/snap?pw={CANARY}"
    record = CameraRecord(
        id=camera_id, location=where, stream_url=STREAM, snapshot_url=snapshot, **placement
    )
    await CameraRegistry(hub.store.engine).add(record, f"user-{CANARY}", CANARY, datetime.now(UTC))


async def populate(hub: Hub, admin: httpx.AsyncClient) -> list[httpx.AsyncClient]:
    """The fleet, then a red crowd alert on the square; returns the responders' clients."""
    clients = await add_fleet(hub, admin)
    await raise_red_alert(hub, admin)
    return clients


async def add_fleet(hub: Hub, admin: httpx.AsyncClient) -> list[httpx.AsyncClient]:
    """A camera with heading and FOV, one without a heading, two responders (one with a position
    an hour old); returns the responders' clients."""
    await add_camera(hub, "cam-square", SQUARE, name="天府广场 Tianfu Square", heading_deg=135,
                     fov_deg=90, grid_cell="g-001")  # fmt: skip
    await add_camera(hub, "cam-east", GeoPoint(lat=30.6571, lon=104.0701), name="East")
    wang = await add_responder(admin, "r-wang", WANG_AT)
    zhao = await add_responder(admin, "r-zhao", GeoPoint(lat=30.657, lon=104.070))
    old = {"location": {"lat": 30.657, "lon": 104.070},
           "reported_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}  # fmt: skip
    assert (await zhao.put("/api/me/position", json=old)).status_code == 200
    return [wang, zhao]


async def raise_red_alert(hub: Hub, admin: httpx.AsyncClient) -> str:
    """Publish a red crowd alert on the square; the id of the incident it opens."""
    await hub.publish(alert("cam-square", SQUARE, people=30, level=Level.RED))
    async with asyncio.timeout(5):
        while not (found := (await admin.get("/api/incidents?open=true")).json()["incidents"]):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    return str(found[0]["id"])


def by_id(layer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    assert layer["type"] == "FeatureCollection"
    return {feature["properties"]["id"]: feature for feature in layer["features"]}


async def test_map_layers(grid_hub: Hub) -> None:
    async with httpx.AsyncClient(base_url=grid_hub.base, headers=grid_hub.auth) as admin:
        clients = await populate(grid_hub, admin)
        try:
            answer = await admin.get("/api/map")
            assert answer.status_code == 200, answer.text
            for client in clients:  # responders have no map
                assert (await client.get("/api/map")).status_code == 403
        finally:
            for client in clients:
                await client.aclose()
    assert CANARY not in answer.text and "rtsp://" not in answer.text
    assert "10.1.2.3" not in answer.text
    view = answer.json()
    check_grid(view["grid"])
    check_cameras(view["cameras"])
    check_incidents(view["incidents"])
    check_responders(view["responders"])
    check_rings(view["rings"])
    meta = view["meta"]
    assert meta["tile_url"] is None and meta["ring_mode"] == "walking"
    assert meta["vendor_ready"] is map_routes.vendor_ready()


def check_grid(layer: dict[str, Any]) -> None:
    grid = by_id(layer)
    assert set(grid) == {"city-cd", "dist-qy", "st-dc", "com-tf", "g-001", "g-002"}
    cell = grid["g-001"]
    assert cell["geometry"]["type"] == "Polygon"
    assert cell["properties"] == {
        "id": "g-001",
        "name": "Square West Cell",
        "level": "grid_cell",
        "parent": "com-tf",
        "ring_min": 3,
    }
    assert layer["features"][0]["properties"]["level"] == "city"  # drawn first, under the rest
    lon, lat = cell["geometry"]["coordinates"][0][0]  # GeoJSON order: lon, lat
    assert 103 < lon < 105 and 30 < lat < 31


def check_cameras(layer: dict[str, Any]) -> None:
    cameras = by_id(layer)
    square = cameras["cam-square"]
    assert square["geometry"]["coordinates"] == [SQUARE.lon, SQUARE.lat]
    assert square["properties"] == {"id": "cam-square", "name": "天府广场 Tianfu Square",
                                    "heading_deg": 135, "fov_deg": 90, "grid_cell": "g-001",
                                    "enabled": True}  # fmt: skip
    assert cameras["cam-east"]["properties"]["heading_deg"] is None


def check_incidents(layer: dict[str, Any]) -> None:
    [incident] = layer["features"]
    props = incident["properties"]
    assert incident["geometry"]["coordinates"] == [SQUARE.lon, SQUARE.lat]
    assert (props["colour"], props["kind"], props["state"]) == (
        "red",
        "crowd_gathering",
        "pending_review",
    )
    assert (props["grid_cell"], props["place_id"], props["ring_min"]) == ("g-001", "poi-square", 1)
    assert props["place_name"] == "Tianfu Square plaza"


def check_responders(layer: dict[str, Any]) -> None:
    responders = by_id(layer)
    assert set(responders) == {"r-wang", "r-zhao"}
    wang, zhao = responders["r-wang"]["properties"], responders["r-zhao"]["properties"]
    assert responders["r-wang"]["geometry"]["coordinates"] == [WANG_AT.lon, WANG_AT.lat]
    assert wang["availability"] == "available" and not wang["stale"] and wang["age_s"] < 60
    assert zhao["stale"] and 3500 < zhao["age_s"] < 3700  # older than dispatch trusts (300 s)
    assert "token" not in str(layer)


def check_rings(layer: dict[str, Any]) -> None:
    rings = by_id(layer)
    assert set(rings) == {"poi-square", "g-001", "g-002"}
    speeds = SpeedProfile()  # the defaults: no incident config in this hub
    per_minute = 60 * speeds.walking_m_s / speeds.detour_factor
    for ring_id, minutes in {"poi-square": 1, "g-001": 3, "g-002": 5}.items():
        props = rings[ring_id]["properties"]
        assert props["ring_min"] == minutes
        assert props["radius_m"] == pytest.approx(minutes * per_minute, abs=0.1)
    assert rings["poi-square"]["geometry"]["coordinates"] == pytest.approx([104.066, 30.657])


async def test_map_needs_the_token(grid_hub: Hub) -> None:
    async with httpx.AsyncClient(base_url=grid_hub.base) as anonymous:
        assert (await anonymous.get("/api/map")).status_code == 401
        wrong = {"Authorization": "Bearer not-the-token"}
        assert (await anonymous.get("/api/map", headers=wrong)).status_code == 401


async def test_map_without_grid_or_data(hub: Hub) -> None:
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as admin:
        view = (await admin.get("/api/map")).json()
    for layer in ("grid", "cameras", "incidents", "responders", "rings"):
        assert view[layer] == {"type": "FeatureCollection", "features": []}


async def test_tile_settings_reach_page_and_map(tmp_path: Path) -> None:
    tiles = "https://{s}.tiles.example/{z}/{x}/{y}.png"
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    more = {"map_tile_attribution": "© Example", "map_ring_mode": "e_bike"}
    async for running in _serve(tmp_path, url, None, map_tile_url=tiles, **more):
        async with httpx.AsyncClient(base_url=running.base, headers=running.auth) as admin:
            meta = (await admin.get("/api/map")).json()["meta"]
            page = await admin.get("/")
    assert (meta["tile_url"], meta["tile_attribution"]) == (tiles, "© Example")
    assert meta["ring_speed_m_s"] == SpeedProfile().e_bike_m_s
    policy = page.headers["content-security-policy"]
    assert "img-src 'self' data: https://*.tiles.example;" in policy


def test_page_csp_without_tiles_is_unchanged() -> None:
    base = {"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; x"}
    assert page_headers(base, HubSettings(api_token=SecretStr("t"))) == base


@pytest.mark.parametrize("bad", ["ftp://tiles/{z}/{x}/{y}.png", "https://tiles/{z}/{x}.png",
                                 "https://evil; script-src *.x/{z}/{x}/{y}"])  # fmt: skip
def test_tile_url_must_be_a_plain_template(bad: str) -> None:
    with pytest.raises(ValueError, match="template"):
        HubSettings(map_tile_url=bad)


async def test_missing_vendor_files_are_reported(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(map_routes, "VENDOR_DIR", tmp_path / "nothing")
    assert not map_routes.vendor_ready()
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as admin:
        assert (await admin.get("/api/map")).json()["meta"]["vendor_ready"] is False
