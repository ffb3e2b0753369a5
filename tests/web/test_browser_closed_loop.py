"""The whole loop in two browsers: a worker's alert shows on the operator's console within 2 s;
the operator claims, verifies and dispatches it; the responder, on a phone in a second browser
context, accepts, goes, arrives, clears and sends feedback; the operator checks the feedback and
approves, and the incident closes as resolved. Every step is the hub's, read back from its API."""

from __future__ import annotations

import time

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
    work_the_incident,
)
from tests.web.test_browser_responder import jpeg, phone, work_it

__all__ = ["grid_hub", "phone"]  # fixtures, imported for this module's test
LIVE_WITHIN_S = 2.0


async def test_browser_operator_and_responder_close_the_loop(
    page: Page, phone: Page, grid_hub: Hub
) -> None:
    hub = grid_hub
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as admin:
        wang = await add_responder(admin, "r-wang", IN_SQUARE_CELL)
        zhao = await add_responder(admin, "r-zhao", EAST_CELL)
        try:
            token = wang.headers["Authorization"].removeprefix("Bearer ")
            await phone.goto(f"{hub.base}/responder#token={token}")
            await expect(phone.locator("#empty")).to_be_visible()
            await go_live_with_incidents(page, hub)

            (hub.settings.evidence_dir / "square.jpg").write_bytes(jpeg(320, 180))
            published = time.monotonic()
            await hub.publish(alert("cam-square", SQUARE, people=23, snapshot_ref="square.jpg"))
            card = page.locator("#alerts li").filter(has_text="cam-square")
            await expect(card).to_be_visible(timeout=LIVE_WITHIN_S * 1000)
            assert time.monotonic() - published < LIVE_WITHIN_S

            incident = await only_incident(admin)
            await work_the_incident(page, admin, incident["id"])  # claim, verify, dispatch
            task = phone.locator(f'li.task[data-incident-id="{incident["id"]}"]')
            await expect(task).to_be_visible(timeout=8000)
            await work_it(phone, task)  # accept, en route, on scene, clear, feedback

            detail = page.locator("#incident-detail")
            state = detail.locator("#d-state")
            await expect(state).to_have_text("已反馈 feedback submitted", timeout=8000)
            await detail.get_by_role("button", name="开始核查 Start check").click()
            await expect(state).to_have_text("核查中 checking")
            await detail.get_by_label("备注 Note").fill("摄像头复核已疏散 camera shows it cleared")
            await detail.get_by_role("button", name="核查通过 Approve").click()
            await expect(state).to_contain_text("已结案 closed")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=SCREENSHOTS / "console-closed-loop.png", full_page=True)

            body = (await admin.get(f"/api/incidents/{incident['id']}")).json()
            assert (body["state"], body["close_reason"]) == ("closed", "resolved")
            trail = (await admin.get(f"/api/incidents/{incident['id']}/audit")).json()
            done = [(r["event"], r["actor"]["id"]) for r in trail]
            assert done[-7:] == [
                ("acknowledge", "r-wang"), ("depart", "r-wang"), ("arrive", "r-wang"),
                ("clear", "r-wang"), ("submit_feedback", "r-wang"),
                ("start_check", "admin"), ("approve", "admin"),
            ]  # fmt: skip
            assert trail[-1]["why"].endswith("camera shows it cleared")
        finally:
            for client in (wang, zhao):
                await client.aclose()
