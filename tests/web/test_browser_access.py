"""Access in a real browser: the console sends a visitor without a session to the sign-in
page; a viewer scoped to grid cell g-002 signs in, sees who they are, only their cell's
incident, no controls to act, gets 404 for another cell's incident opened by link, and signs
out."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.hub.conftest import Hub, _serve
from tests.hub.incident_world import EAST_CELL, GRID_FILE, SQUARE, alert
from tests.hub.test_login import PASSWORD, add_user
from tests.web.conftest import SCREENSHOTS


@pytest.fixture
async def grid_hub(tmp_path: Path) -> AsyncIterator[Hub]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async for running in _serve(tmp_path, url, grid_file=GRID_FILE):
        yield running


async def two_incidents(hub: Hub) -> dict[str, dict[str, Any]]:
    """An incident in g-001 (Tianfu Square) and one in g-002, by grid cell."""
    await hub.publish(alert("cam-square", SQUARE, people=23))
    await hub.publish(alert("cam-east", EAST_CELL, people=23))
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as admin:
        async with asyncio.timeout(5):
            while len(found := (await admin.get("/api/incidents")).json()["incidents"]) < 2:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    return {incident["grid_cell"]: incident for incident in found}


async def sign_in(page: Page, username: str, password: str) -> None:
    await page.get_by_label("用户名 Username").fill(username)
    await page.get_by_label("密码 Password").fill(password)
    await page.get_by_role("button", name="登录 Sign in").click()


async def test_browser_scoped_viewer_signs_in_and_cannot_open_another_grid(
    page: Page, grid_hub: Hub
) -> None:
    hub = grid_hub
    await add_user(hub, "view-b", "viewer", grid_scope="g-002")
    by_cell = await two_incidents(hub)
    mine, theirs = by_cell["g-002"]["id"], by_cell["g-001"]["id"]
    try:
        await page.goto(f"{hub.base}/?incident={theirs}")  # no session: off to sign in
        await expect(page).to_have_url(re.compile(r"/login\?next="))
        await sign_in(page, "view-b", "not the password")
        await expect(page.locator("#sign-in-error")).to_have_text(
            "用户名或密码错误 Wrong username or password."
        )
        await sign_in(page, "view-b", PASSWORD)
        await expect(page).to_have_url(f"{hub.base}/?incident={theirs}")  # back where it was
        await expect(page.locator("#who")).to_have_text("view-b · 查看 viewer · 网格 grid g-002")
        await expect(page.locator("#connection")).to_have_text("已连接 live")
        # The linked incident is another cell's: the hub answers as if it did not exist.
        await expect(page.locator("#d-error")).to_contain_text("404")
        await expect(page.locator("#d-title")).to_have_text("")
        rows = page.locator("#incidents li[data-incident-id]")
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_have_attribute("data-incident-id", mine)
        await rows.first.get_by_role("button").click()  # its own cell's opens
        await expect(page.locator("#d-grid")).to_contain_text("g-002")
        await expect(page.locator("#d-error")).to_be_hidden()
        await expect(page.get_by_role("button", name="认领 Claim")).to_be_hidden()  # read only
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=SCREENSHOTS / "console-scoped-viewer.png", full_page=True)
        await page.get_by_role("button", name="退出 Sign out").click()
        await expect(page).to_have_url(f"{hub.base}/login")
        await page.goto(f"{hub.base}/")  # the session is gone: signed out for real
        await expect(page).to_have_url(re.compile(r"/login"))
    finally:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=SCREENSHOTS / "console-access-last.png", full_page=True)
