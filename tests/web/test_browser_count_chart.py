"""The incident detail draws its alerts' count over time: each re-report of the crowd is a point,
and a new report pushed live adds one without reopening the detail."""

from __future__ import annotations

import httpx
from playwright.async_api import Page, expect

from tests.hub.conftest import Hub
from tests.hub.incident_world import SQUARE, alert
from tests.web.conftest import SCREENSHOTS
from tests.web.test_browser_incident import go_live_with_incidents, grid_hub, only_incident

__all__ = ["grid_hub"]  # the fixture, imported for this module's tests


async def test_browser_incident_detail_draws_the_count_over_time(
    page: Page, grid_hub: Hub
) -> None:
    hub = grid_hub
    reports = [alert("cam-square", SQUARE, people=people, revision=n)
               for n, people in enumerate((9, 13))]  # fmt: skip
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as admin:
        await go_live_with_incidents(page, hub)
        for report in reports:
            await hub.publish(report)
        incident = await only_incident(admin)
        row = page.locator(f'#incidents li[data-incident-id="{incident["id"]}"]')
        await row.get_by_role("button").click()
        counts = page.locator("#d-counts")
        await expect(counts.locator("circle")).to_have_count(2)
        summary = "最多 most 13 · 最新 latest 13 人 people · 2 次上报 reports"
        await expect(counts).to_contain_text(summary)
        await hub.publish(alert("cam-square", SQUARE, people=21, revision=2))  # pushed live
        await expect(counts.locator("circle")).to_have_count(3, timeout=10_000)
        await expect(counts).to_contain_text("最多 most 21 · 最新 latest 21")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=SCREENSHOTS / "console-count-chart.png", full_page=True)
