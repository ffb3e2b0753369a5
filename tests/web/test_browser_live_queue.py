"""The operator console in a real browser: an alert published into the hub shows live."""

from __future__ import annotations

import asyncio
import re
import time

from playwright.async_api import Page, Request, expect

from hub.contracts import Level
from tests.factories import make_alert
from tests.hub.conftest import TOKEN, Hub
from tests.web.conftest import SCREENSHOTS

LIVE_WITHIN_S = 2.0
CAMERA_NAME = "东广场 Plaza East"


async def sign_in_and_go_live(page: Page, hub: Hub) -> None:
    """Open the link the hub prints (`/#token=...`), as an operator does, and wait until the page
    holds its session cookie, has loaded the current alerts and listens on the WebSocket."""
    refreshes: list[int] = []  # status of each finished GET /api/alerts

    async def count_refresh(request: Request) -> None:
        if "/api/alerts?" in request.url:
            response = await request.response()
            refreshes.append(response.status if response else 0)

    page.on("requestfinished", count_refresh)
    await page.goto(f"{hub.base}/#token={TOKEN}")
    await expect(page.locator("#connection")).to_have_class(re.compile(r"\bonline\b"))
    await expect(page.locator("#connection")).to_have_text("已连接 live")
    # The page loads the list once at start and once more when the socket opens: after the
    # second, an alert can only reach the page by the live push.
    async with asyncio.timeout(5):
        while len(refreshes) < 2:  # noqa: ASYNC110 (events arrive from the browser)
            await asyncio.sleep(0.02)
    assert refreshes == [200, 200], "the page was refused the alert list (token or cookie)"
    assert TOKEN not in page.url  # the token left the address bar
    await expect(page.locator("#notice")).to_be_hidden()
    await expect(page.get_by_text("暂无告警 No alerts yet.")).to_be_visible()


async def test_browser_operator_sees_new_alert_within_2s(page: Page, hub: Hub) -> None:
    await sign_in_and_go_live(page, hub)
    alert = make_alert("cam-plaza-east", level=Level.RED, people=14, camera_name=CAMERA_NAME)

    try:
        published = time.monotonic()
        await hub.publish(alert)
        row = page.get_by_role("listitem").filter(has_text=CAMERA_NAME)
        await expect(row).to_be_visible(timeout=LIVE_WITHIN_S * 1000)
        seen_after_s = time.monotonic() - published

        assert seen_after_s < LIVE_WITHIN_S
        await expect(row).to_have_count(1)
        await expect(row.locator(".badge")).to_have_text("红 red")
        await expect(row).to_contain_text("人员聚集 Crowd gathering")
        await expect(row).to_contain_text("人数 people 14")
        await expect(row).to_have_class(re.compile(r"\bfresh\b"))  # pushed live, not loaded by REST
        await expect(page.get_by_text("暂无告警 No alerts yet.")).to_be_hidden()
        # This hub stores no evidence: the card says so instead of a broken image.
        await expect(row.locator(".no-snapshot")).to_have_text("无快照 No snapshot")
        await expect(row.locator("img")).to_have_count(0)
        await hub.wait_stored(1)
    finally:  # also when it fails: the page as the operator saw it
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=SCREENSHOTS / "console-live-queue.png", full_page=True)
