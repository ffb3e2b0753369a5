"""The console's live view in a real browser: the operator opens a camera's live view and
Chromium plays WebRTC video relayed by the hub from the GStreamer RTSP fixture; closing the
player lets the hub drop the viewer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.hub.conftest import Hub
from tests.hub.test_live_video import (  # noqa: F401 (fixtures)
    CountingGateway,
    admin,
    live_hub,
    protected_rtsp,
    register,
)
from tests.rtsp_server import RtspServer
from tests.web.conftest import SCREENSHOTS, chromium_path, fresh_page
from tests.web.test_browser_live_queue import sign_in_and_go_live

# No STUN server: host candidates only. aiortc (aioice) never offers 127.0.0.1, so the hub's
# answer names the machine's LAN address; Chromium then needs no flag (checked), but these keep
# it working where the page's side is loopback-only: loopback candidates, and plain addresses
# instead of mDNS names.
WEBRTC_FLAGS = [
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]
PLAYING = """() => {
  const video = document.getElementById("live-video");
  return video.videoWidth > 0 && video.currentTime > 0.5;
}"""


@pytest.fixture
async def webrtc_browser() -> AsyncIterator[Browser]:
    executable = chromium_path()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=executable, headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage", *WEBRTC_FLAGS],
        )  # fmt: skip
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def live_page(webrtc_browser: Browser) -> AsyncIterator[Page]:
    async with fresh_page(webrtc_browser, viewport={"width": 1280, "height": 900}) as opened:
        yield opened


async def test_browser_live_view_plays_the_rtsp_camera(
    live_page: Page,
    live_hub: tuple[Hub, CountingGateway],  # noqa: F811 (the fixture imported above)
    protected_rtsp: RtspServer,  # noqa: F811
) -> None:
    page = live_page
    hub, gateway = live_hub
    shot = False  # the player as the operator saw it: playing, or however it failed
    async with admin(hub) as client:
        await register(client, "gate", protected_rtsp.url)
        try:
            await sign_in_and_go_live(page, hub)
            row = page.locator('#live-cameras li[data-camera-id="gate"]')
            await expect(row).to_contain_text("东门 East gate")
            await row.get_by_role("button", name="▶ 实时画面 Live").click()
            player = page.locator("#live-player")
            await expect(player).to_be_visible()
            await expect(player.locator("#live-title")).to_have_text(
                "东门 East gate · 实时画面 Live"
            )
            await page.wait_for_function(PLAYING, timeout=15_000)
            await expect(page.locator("#live-status")).to_have_text("直播中 Live")
            size = await page.evaluate(
                "() => [document.getElementById('live-video').videoWidth,"
                " document.getElementById('live-video').videoHeight]"
            )
            assert size == [768, 576]
            assert gateway.opens == 1
            await page.screenshot(path=_screenshot(), full_page=True)
            shot = True

            await player.get_by_role("button", name="关闭 Close").click()
            await expect(player).to_be_hidden()
            async with asyncio.timeout(5):  # the page hung up: the hub has no viewer left
                while (await client.get("/api/live/cameras")).json()[0]["viewers"]:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
        finally:
            if not shot:
                await page.screenshot(path=_screenshot(), full_page=True)
            shot = True


def _screenshot() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / "console-live-video.png"
