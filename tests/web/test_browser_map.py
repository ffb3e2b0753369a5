"""The console map in a real browser with no tile server: grid polygons, a camera with its heading,
responders by availability and position age, the places' rings, and an incident marker that
appears live when an alert comes in and opens the incident's detail when clicked. Every request
the page makes goes to the hub; nothing breaks the page's CSP."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import ConsoleMessage, Page, Route, expect

from tests.hub.conftest import Hub, _serve
from tests.hub.incident_world import GRID_FILE
from tests.hub.test_map_api import add_fleet, raise_red_alert
from tests.web.conftest import SCREENSHOTS
from tests.web.test_browser_live_queue import sign_in_and_go_live

POLL_S = 30  # map.js's poll: the incident marker must come sooner, through the live push


@pytest.fixture
async def grid_hub(tmp_path: Path) -> AsyncIterator[Hub]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async for running in _serve(tmp_path, url, grid_file=GRID_FILE):
        yield running


def watch(page: Page) -> tuple[list[str], list[str]]:
    """Every URL the page requests (HTTP and WebSocket), and console errors and warnings."""
    urls: list[str] = []
    problems: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.on("websocket", lambda socket: urls.append(socket.url))

    def console(message: ConsoleMessage) -> None:
        if message.type in {"error", "warning"}:
            problems.append(message.text)

    page.on("console", console)
    return urls, problems


async def test_browser_map_shows_layers_and_live_incident(page: Page, grid_hub: Hub) -> None:
    hub = grid_hub
    urls, problems = watch(page)
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as admin:
        responders = await add_fleet(hub, admin)
        try:
            await sign_in_and_go_live(page, hub)
            await check_static_layers(page)
            incident_id = await raise_red_alert(hub, admin)
            marker = page.locator(f'#map .map-incident[data-incident-id="{incident_id}"]')
            await expect(marker).to_be_visible(timeout=POLL_S * 1000 / 3)
            await expect(marker).to_have_class(re.compile(r"\blevel-red\b"))
            await marker.click()
            await expect(page.locator("#incident-detail")).to_be_visible()
            await expect(page.locator("#d-title")).to_have_attribute("title", incident_id)
            row = page.locator(f'#incidents li[data-incident-id="{incident_id}"]')
            await expect(row).to_have_class(re.compile(r"\bselected\b"))  # as a click on the row
        finally:
            for client in responders:
                await client.aclose()
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=SCREENSHOTS / "console-map.png", full_page=True)
    outside = [
        url
        for url in urls
        if not re.match(rf"(https?|wss?)://127\.0\.0\.1:{hub.settings.port}/", url)
    ]
    assert not outside, f"the page reached outside the hub: {outside}"
    assert any("/static/vendor/leaflet/leaflet.js" in url for url in urls)
    assert not [text for text in problems if "Content Security Policy" in text], problems


async def check_static_layers(page: Page) -> None:
    """What the map shows before any incident: the demo grid, rings, cameras and responders."""
    grid = page.locator("#map path.map-grid")
    await expect(grid).to_have_count(6)  # city, district, street, community, two cells
    await expect(page.locator("#map path.map-grid.level-grid_cell")).to_have_count(2)
    await expect(page.locator("#map path.map-ring")).to_have_count(3)  # the plaza, two cells
    await expect(page.locator("#map path.map-ring.ring-1")).to_have_count(1)
    camera = page.locator('#map .map-camera[data-camera-id="cam-square"]')
    await expect(camera).to_be_visible()
    await expect(camera.locator(".arrow")).to_have_attribute(
        "style", re.compile(r"rotate\(135deg\)")
    )
    await expect(page.locator('#map .map-camera[data-camera-id="cam-east"] .arrow')).to_have_count(
        0
    )
    await expect(page.locator("#map path.map-camera-view")).to_have_count(
        1
    )  # only one has a heading
    wang = page.locator('#map .map-responder[data-responder-id="r-wang"]')
    await expect(wang).to_be_visible()
    await expect(wang).to_have_class(re.compile(r"\bavailable\b"))
    await expect(wang).not_to_have_class(re.compile(r"\bstale\b"))
    zhao = page.locator('#map .map-responder[data-responder-id="r-zhao"]')
    await expect(zhao).to_have_class(re.compile(r"\bstale\b"))  # its position is an hour old
    await expect(page.locator("#map .leaflet-tile")).to_have_count(0)  # no tile server set
    await expect(page.locator("#map")).to_have_class(re.compile(r"\bno-tiles\b"))
    await expect(page.locator("#map .map-incident")).to_have_count(0)
    await expect(page.locator("#map-status")).to_be_hidden()


async def test_browser_map_says_when_leaflet_is_missing(page: Page, grid_hub: Hub) -> None:
    """Without the built vendor files the console still works and the map says what to do."""

    async def missing(route: Route) -> None:
        await route.fulfill(status=404, body="not built")

    await page.route(re.compile(r".*/static/vendor/leaflet/.*"), missing)
    await sign_in_and_go_live(page, grid_hub)
    status = page.locator("#map-status")
    await expect(status).to_be_visible()
    await expect(status).to_contain_text("scripts/build_web.sh")
    await expect(page.locator("#connection")).to_have_text("已连接 live")
