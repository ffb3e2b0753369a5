"""The incident detail plays the alert's evidence clip: none while the alert has no clip, then,
once a later report brings `clip_ref` (the worker writes the clip after the first report), a
muted <video> whose H.264 MP4 Debian's Chromium loads and decodes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

from cameras.pyav import open_video, write_clip
from tests.hub.conftest import Hub, _serve
from tests.hub.incident_world import GRID_FILE, SQUARE, alert
from tests.web.conftest import SCREENSHOTS
from tests.web.test_browser_incident import go_live_with_incidents, only_incident

EXCERPT = Path(__file__).resolve().parents[1] / "data" / "vtest-20s.mp4"


@pytest.fixture
async def grid_hub(tmp_path: Path) -> AsyncIterator[Hub]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async for running in _serve(tmp_path, url, grid_file=GRID_FILE):
        yield running


def footage_clip(path: Path, frames: int = 6) -> None:
    """The first seconds of the test footage, one frame in ten (as the worker samples it)."""
    reader = open_video(str(EXCERPT))
    try:
        decoded = zip(range(frames * 10), reader.frames(), strict=False)
        sampled = [frame for index, frame in decoded if index % 10 == 0]
    finally:
        reader.close()
    write_clip(str(path), [f.image for f in sampled], [f.pts_s for f in sampled])


async def test_browser_incident_detail_plays_the_evidence_clip(page: Page, grid_hub: Hub) -> None:
    hub = grid_hub
    footage_clip(hub.settings.evidence_dir / "square-clip.mp4")
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as admin:
        await go_live_with_incidents(page, hub)
        await hub.publish(alert("cam-square", SQUARE, people=23))  # the first report: no clip
        incident = await only_incident(admin)
        row = page.locator(f'#incidents li[data-incident-id="{incident["id"]}"]')
        await row.get_by_role("button").click()
        detail = page.locator("#incident-detail")
        await expect(detail.locator("#d-alerts")).to_have_text("1")
        video = detail.locator("#d-clip video")
        await expect(video).to_have_count(0)
        assert await detail.locator("#d-clip").is_hidden()

        later = alert("cam-square", SQUARE, people=25, revision=1, clip_ref="square-clip.mp4")
        await hub.publish(later)
        await expect(video).to_have_count(1, timeout=10_000)
        await expect(video).to_have_attribute("src", f"/api/alerts/{later.id}/clip.mp4")
        assert await video.evaluate("v => v.muted && v.controls && v.playsInline")
        await page.wait_for_function(
            "v => v.readyState >= 2 && v.videoWidth > 0", arg=await video.element_handle(),
            timeout=10_000,
        )  # fmt: skip
        size = await video.evaluate("v => [v.videoWidth, v.videoHeight, v.duration]")
        assert size[:2] == [768, 576] and size[2] == pytest.approx(5.0, abs=1.1)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=SCREENSHOTS / "console-evidence-clip.png", full_page=True)
