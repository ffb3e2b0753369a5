"""Who may open a live view, and the answers when one cannot be opened: without a camera
connection for anything refused, and never with the camera's password."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from tests.canary import CANARY_USER
from tests.hub.conftest import Hub, _serve, free_port
from tests.hub.incident_world import EAST_CELL, GRID_FILE, SQUARE
from tests.hub.test_live_video import Browser, CountingGateway, admin, register
from tests.hub.test_login import add_user, signed_in
from xueliang.gateway import network_policy

OFFER = "/api/cameras/{}/live/offer"


@pytest.fixture
async def hub_and_gateway(tmp_path: Path) -> AsyncIterator[tuple[Hub, CountingGateway]]:
    gateway = CountingGateway(network_policy("127.0.0.1/32"), timeout_s=2.0)
    async for running in _serve(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}", gateway,
        secret_key=SecretStr(Fernet.generate_key().decode()),
    ):  # fmt: skip
        yield running, gateway


async def test_live_view_needs_a_reader_and_a_known_camera(
    hub_and_gateway: tuple[Hub, CountingGateway],
) -> None:
    hub, gateway = hub_and_gateway
    offer = {"type": "offer", "sdp": "v=0\r\n"}
    async with httpx.AsyncClient(base_url=hub.base) as anonymous:
        assert (await anonymous.post(OFFER.format("gate"), json=offer)).status_code == 401
        assert (await anonymous.get("/api/live/cameras")).status_code == 401
        hang_up = await anonymous.delete("/api/cameras/gate/live/" + "x" * 24)
        assert hang_up.status_code == 401
    async with admin(hub) as client:
        assert (await client.post(OFFER.format("nope"), json=offer)).status_code == 404
        hang_up = await client.delete("/api/cameras/nope/live/" + "x" * 24)
        assert hang_up.status_code == 404
        await register(client, "gate", f"rtsp://127.0.0.1:{free_port()}/cam")
        bad = await client.post(OFFER.format("gate"), json=offer)
        assert bad.status_code == 400, bad.text
        wrong_type = await client.post(OFFER.format("gate"), json={"type": "answer", "sdp": "x"})
        assert wrong_type.status_code == 422
    assert gateway.opens == 0  # nothing refused cost a camera connection


async def test_an_unreachable_camera_is_a_502_without_its_password(
    hub_and_gateway: tuple[Hub, CountingGateway],
) -> None:
    hub, gateway = hub_and_gateway
    viewer = Browser()
    async with admin(hub) as client:  # the response hook fails on the canary password
        await register(client, "gate", f"rtsp://127.0.0.1:{free_port()}/cam")
        try:
            response = await viewer.watch(client, "gate")
        finally:
            await viewer.close()
        assert response.status_code == 502, response.text
        assert response.json()["reason"] == "unreachable"
        assert "rtsp://***@127.0.0.1:" in response.json()["detail"]  # redacted: no user info
        assert CANARY_USER not in response.text
        assert (await client.get("/api/live/cameras")).json()[0]["viewers"] == 0
    assert gateway.opens == 0


@pytest.fixture
async def grid_hub(tmp_path: Path) -> AsyncIterator[tuple[Hub, CountingGateway]]:
    gateway = CountingGateway(network_policy("127.0.0.1/32"), timeout_s=2.0)
    async for running in _serve(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}", gateway, grid_file=GRID_FILE,
        secret_key=SecretStr(Fernet.generate_key().decode()),
    ):  # fmt: skip
        yield running, gateway


async def test_a_scoped_viewer_sees_and_opens_only_its_cells_cameras(
    grid_hub: tuple[Hub, CountingGateway],
) -> None:
    hub, gateway = grid_hub
    async with admin(hub) as client:
        for camera_id, where in (("square", SQUARE), ("east", EAST_CELL)):  # g-001, g-002
            body = {"id": camera_id, "rtsp_url": f"rtsp://127.0.0.1:{free_port()}/cam",
                    "location": where.model_dump()}  # fmt: skip
            assert (await client.post("/api/cameras", json=body)).status_code == 201
        everything = {c["id"] for c in (await client.get("/api/live/cameras")).json()}
        assert everything == {"square", "east"}
    await add_user(hub, "view-b", "viewer", grid_scope="g-002")
    async with signed_in(hub, "view-b") as viewer:
        assert [c["id"] for c in (await viewer.get("/api/live/cameras")).json()] == ["east"]
        offer = {"type": "offer", "sdp": "v=0\r\n"}
        foreign = await viewer.post(OFFER.format("square"), json=offer)
        unknown = await viewer.post(OFFER.format("nope"), json=offer)
        assert foreign.status_code == unknown.status_code == 404
        mine = await viewer.post(OFFER.format("east"), json=offer)
        assert mine.status_code == 400  # in scope: on to the offer, which is not a real SDP
    assert gateway.opens == 0
