"""The operator raises an incident's colour and closes it as a duplicate from its detail view;
the hub's API agrees (colour, close reason, the note kept as the close's words)."""

from __future__ import annotations

import httpx
from playwright.async_api import Page, expect

from tests.hub.conftest import Hub
from tests.hub.incident_world import SQUARE, alert
from tests.web.test_browser_incident import go_live_with_incidents, grid_hub, only_incident

__all__ = ["grid_hub"]  # the fixture, imported for this module's test
WHY = "与 1 号事件重复 same crowd as the first report"


async def test_browser_operator_raises_the_colour_and_closes_as_duplicate(
    page: Page, grid_hub: Hub
) -> None:
    hub = grid_hub
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as admin:
        await go_live_with_incidents(page, hub)
        await hub.publish(alert("cam-square", SQUARE, people=23))
        incident = await only_incident(admin)
        await page.locator(f'#incidents li[data-incident-id="{incident["id"]}"]').get_by_role(
            "button"
        ).click()
        detail = page.locator("#incident-detail")
        raise_colour = detail.get_by_role("button", name="提高颜色 Raise colour")
        await detail.get_by_label("颜色 Colour").select_option("yellow")
        await expect(raise_colour).to_be_disabled()  # yellow already: nothing to raise
        await detail.get_by_label("颜色 Colour").select_option("red")
        await raise_colour.click()
        await expect(detail.locator("#d-colour-text")).to_have_text("红 red")
        await expect(raise_colour).to_be_disabled()

        await detail.get_by_label("备注 Note").fill(WHY)
        await detail.get_by_label("结案原因 Close as").select_option("duplicate")
        await detail.get_by_role("button", name="结案 Close").click()
        await expect(detail.locator("#d-state")).to_contain_text("已结案 closed")
        body = (await admin.get(f"/api/incidents/{incident['id']}")).json()
        assert (body["colour"], body["state"], body["close_reason"]) == (
            "red", "closed", "duplicate")  # fmt: skip
        trail = (await admin.get(f"/api/incidents/{incident['id']}/audit")).json()
        assert [r["event"] for r in trail[-2:]] == ["raise_colour", "close"]
        assert WHY in trail[-1]["why"]
