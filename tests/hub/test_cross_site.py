"""Cross-site request forgery: a change the session cookie authenticates needs this hub's Origin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from hub.app import create_app
from hub.settings import HubSettings
from hub.store import AlertStore
from tests.hub.conftest import TOKEN, Hub, _serve
from xueliang.bus import InProcessBus


@asynccontextmanager
async def _signed_in(hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    """A client holding the session cookie, as the page does (and no Authorization header)."""
    async with httpx.AsyncClient(base_url=hub.base) as client:
        assert (await client.post("/api/session", json={"token": TOKEN})).status_code == 204
        yield client


async def _responders(client: httpx.AsyncClient) -> list[str]:
    return [r["id"] for r in (await client.get("/api/responders")).json()]


async def test_a_cookie_change_from_another_site_is_refused(hub: Hub) -> None:
    async with _signed_in(hub) as client:
        refused = await client.post(
            "/api/responders", json={"id": "r-li"}, headers={"Origin": "https://evil.example"}
        )
        assert refused.status_code == 403
        detail = refused.json()["detail"]
        assert "cross-site request refused" in detail and "evil.example" in detail
        # A Referer from another site (no Origin) is refused the same way.
        via_referer = await client.put(
            "/api/responders/r-li/availability", json={"availability": "off_shift"},
            headers={"Referer": "https://evil.example/page"},
        )  # fmt: skip
        assert via_referer.status_code == 403
        assert await _responders(client) == []  # nothing was created


async def test_a_cookie_change_from_this_hub_is_allowed(hub: Hub) -> None:
    async with _signed_in(hub) as client:
        created = await client.post(
            "/api/responders", json={"id": "r-li"}, headers={"Origin": hub.base}
        )
        assert created.status_code == 201, created.text
        # Without Origin, the Referer's origin counts (a path and query do not matter).
        changed = await client.put(
            "/api/responders/r-li/availability", json={"availability": "off_shift"},
            headers={"Referer": f"{hub.base}/?incident=x"},
        )  # fmt: skip
        assert changed.status_code == 200 and changed.json()["availability"] == "off_shift"


async def test_a_cookie_change_without_origin_or_referer_is_refused(hub: Hub) -> None:
    async with _signed_in(hub) as client:
        refused = await client.post("/api/responders", json={"id": "r-li"})
        assert refused.status_code == 403 and "Origin" in refused.json()["detail"]
        assert (await client.get("/api/alerts")).status_code == 200  # reading needs no Origin
        assert await _responders(client) == []


async def test_a_bearer_change_needs_no_origin(hub: Hub) -> None:
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as client:
        created = await client.post("/api/responders", json={"id": "r-li"})
        assert created.status_code == 201, created.text
        # Even from another site: a browser cannot attach the header cross-site.
        foreign = {"Origin": "https://evil.example"}
        other = await client.post("/api/responders", json={"id": "r-wang"}, headers=foreign)
        assert other.status_code == 201, other.text


@pytest.fixture
async def console_hub(tmp_path: Path) -> AsyncIterator[Hub]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async for running in _serve(tmp_path, url, allowed_origins=["https://console.example"]):
        yield running


async def test_a_cookie_change_from_an_allowed_origin_is_allowed(console_hub: Hub) -> None:
    async with _signed_in(console_hub) as client:
        allowed = {"Origin": "https://console.example"}
        created = await client.post("/api/responders", json={"id": "r-li"}, headers=allowed)
        assert created.status_code == 201, created.text
        other = {"Origin": "https://other.example"}
        refused = await client.post("/api/responders", json={"id": "r-wang"}, headers=other)
        assert refused.status_code == 403


async def test_loopback_mode_refuses_a_foreign_origin_without_any_credential(
    tmp_path: Path,
) -> None:
    """Without an API token no credential means admin: a page elsewhere must not use that."""
    store = await AlertStore.open(f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}")
    try:
        app = create_app(HubSettings(host="127.0.0.1"), InProcessBus(), store)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as local:
            foreign = {"Origin": "http://evil.example"}
            refused = await local.post("/api/responders", json={"id": "r-li"}, headers=foreign)
            assert refused.status_code == 403
            script = await local.post("/api/responders", json={"id": "r-wang"})  # curl: no Origin
            assert script.status_code == 201, script.text
    finally:
        await store.close()
