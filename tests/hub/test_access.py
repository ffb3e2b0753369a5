"""Access rules beyond the token: loopback-only mode, signing out, the page's headers."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from hub.app import InsecureBindError, create_app
from hub.settings import HubSettings
from hub.store import AlertStore
from tests.hub.conftest import TOKEN, Hub
from xueliang.bus import InProcessBus


async def test_without_a_token_only_loopback_host_names_are_served(tmp_path: Path) -> None:
    store = await AlertStore.open(f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}")
    try:
        app = create_app(HubSettings(host="127.0.0.1"), InProcessBus(), store)
        transport = httpx.ASGITransport(app=app)
        for base in ("http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"):
            async with httpx.AsyncClient(transport=transport, base_url=base) as client:
                assert (await client.get("/api/alerts")).status_code == 200, base
        # A page on another site that rebinds its DNS name to 127.0.0.1 is refused.
        for base in ("http://evil.example", "http://127.0.0.1.evil.example:8000"):
            async with httpx.AsyncClient(transport=transport, base_url=base) as client:
                assert (await client.get("/api/alerts")).status_code == 400, base
    finally:
        await store.close()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "hub.example"])
async def test_a_public_bind_needs_a_token(host: str, tmp_path: Path) -> None:
    store = await AlertStore.open(f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}")
    try:
        with pytest.raises(InsecureBindError):
            create_app(HubSettings(host=host), InProcessBus(), store)
        create_app(HubSettings(host=host, api_token=TOKEN), InProcessBus(), store)
    finally:
        await store.close()


async def test_signing_out_drops_the_cookie(hub: Hub) -> None:
    async with httpx.AsyncClient(base_url=hub.base) as client:
        assert (await client.post("/api/session", json={"token": TOKEN})).status_code == 204
        assert (await client.get("/api/alerts")).status_code == 200
        signed_out = await client.delete("/api/session", headers={"Origin": hub.base})
        assert signed_out.status_code == 204
        assert (await client.get("/api/alerts")).status_code == 401


async def test_session_request_is_validated(hub: Hub) -> None:
    async with httpx.AsyncClient(base_url=hub.base) as client:
        assert (await client.post("/api/session", json={})).status_code == 422
        assert (await client.post("/api/session", content=b"token")).status_code == 422


async def test_the_page_is_public_and_locked_down(hub: Hub) -> None:
    async with httpx.AsyncClient(base_url=hub.base) as client:
        page = await client.get("/")
        assert page.status_code == 200 and 'id="alerts"' in page.text
        policy = page.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        for asset in ("/static/app.js", "/static/style.css"):
            assert (await client.get(asset)).status_code == 200, asset
        assert TOKEN not in page.text
