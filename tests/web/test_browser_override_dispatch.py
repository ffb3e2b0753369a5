"""An operator overrides the ranking in a real browser: the responder who declined is listed as not
eligible with an override control (a reason required), an off-shift one without it; the override
dispatches the one who declined, and the hub stores the operator's reason first."""

from __future__ import annotations

import httpx
from playwright.async_api import Page, expect

from tests.hub.conftest import Hub
from tests.hub.incident_world import SQUARE, alert
from tests.hub.test_incident_scenario import add_responder
from tests.web.conftest import SCREENSHOTS
from tests.web.test_browser_incident import (
    EAST_CELL,
    IN_SQUARE_CELL,
    go_live_with_incidents,
    grid_hub,
    only_incident,
)

__all__ = ["grid_hub"]  # the fixture, imported for this module's tests
REASON = "电话确认可以前往 phoned: he can go now"


async def test_browser_operator_overrides_a_decline_with_a_reason(
    page: Page, grid_hub: Hub
) -> None:
    hub = grid_hub
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as admin:
        wang = await add_responder(admin, "r-wang", IN_SQUARE_CELL)
        zhao = await add_responder(admin, "r-zhao", EAST_CELL)
        assert (await admin.post("/api/responders", json={"id": "r-li"})).status_code == 201
        try:
            await go_live_with_incidents(page, hub)
            await hub.publish(alert("cam-square", SQUARE, people=23))
            incident = await only_incident(admin)
            path = f"/api/incidents/{incident['id']}/events"
            for body in ({"type": "claim"}, {"type": "verify"},
                         {"type": "dispatch", "responder_id": "r-wang"}):  # fmt: skip
                assert (await admin.post(path, json=body)).status_code == 200
            declined = await wang.post(path, json={"type": "decline", "responder_id": "r-wang"})
            assert declined.status_code == 200, declined.text  # the hub re-dispatches to r-zhao

            await page.locator(f'#incidents li[data-incident-id="{incident["id"]}"]').get_by_role(
                "button"
            ).click()
            detail = page.locator("#incident-detail")
            await detail.get_by_role("button", name="派单 Dispatch…").click()
            wang_row = detail.locator('#d-rejected li[data-responder-id="r-wang"]')
            await expect(wang_row).to_contain_text("declined")
            off_shift = detail.locator('#d-rejected li[data-responder-id="r-li"]')
            await expect(off_shift).to_contain_text("off shift")
            await expect(off_shift.get_by_role("button")).to_have_count(0)

            override = wang_row.get_by_role("button", name="强制派单 Override: dispatch r-wang")
            await override.click()  # no reason yet
            await expect(page.locator("#d-error")).to_have_text(
                "强制派单需要原因 An override needs a reason."
            )
            await wang_row.get_by_label("强制派单原因 Override reason for r-wang").fill(REASON)
            await override.click()
            assignments = detail.locator("#d-assignments")
            await expect(assignments).to_contain_text("r-wang · 已通知 notified")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=SCREENSHOTS / "console-override.png", full_page=True)

            body = (await admin.get(path.removesuffix("/events"))).json()
            *_, latest = [a for a in body["assignments"] if a["responder_id"] == "r-wang"]
            assert latest["state"] == "notified"
            assert latest["reasons"][0] == f"dispatcher override: {REASON}"
        finally:
            for client in (wang, zhao):
                await client.aclose()
