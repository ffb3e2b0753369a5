"""The operator works an incident in a real browser: a crowd alert in a grid cell with a responder
on duty opens an incident that shows live in the panel; the operator adds a note, claims and
verifies it, sees the ranked responders with the hub's reasons, dispatches one with a click, and
the hub's own API agrees: the incident is dispatched to that responder, with every step audited."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Locator, Page, Request, expect

from hub.contracts import GeoPoint
from tests.hub.conftest import Hub, _serve
from tests.hub.incident_world import GRID_FILE, SQUARE, alert
from tests.hub.test_incident_scenario import add_responder
from tests.web.conftest import SCREENSHOTS
from tests.web.test_browser_live_queue import sign_in_and_go_live

IN_SQUARE_CELL = GeoPoint(lat=30.6572, lon=104.0662)  # r-wang: cell g-001, ~25 m from the square
EAST_CELL = GeoPoint(lat=30.6570, lon=104.0700)  # r-zhao: cell g-002, ~380 m away
NOTE = "摄像头确认 confirmed on camera"


@pytest.fixture
async def grid_hub(tmp_path: Path) -> AsyncIterator[Hub]:
    """The real hub (tests/hub/conftest.py) with the demo grid, so alerts land in grid cells."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async for running in _serve(tmp_path, url, grid_file=GRID_FILE):
        yield running


async def go_live_with_incidents(page: Page, hub: Hub) -> None:
    """Signed in and live (as in the live-queue test), and the incident panel has loaded the open
    incidents twice (at start, and when the socket opened): what comes next is pushed."""
    loads: list[int] = []

    async def count_load(request: Request) -> None:
        if "/api/incidents?open=true" in request.url:
            response = await request.response()
            loads.append(response.status if response else 0)

    page.on("requestfinished", count_load)
    await sign_in_and_go_live(page, hub)
    async with asyncio.timeout(5):
        while len(loads) < 2:  # noqa: ASYNC110 (events arrive from the browser)
            await asyncio.sleep(0.02)
    assert loads == [200, 200], "the page was refused the incident list"
    await expect(page.get_by_text("暂无未结事件 No open incidents.")).to_be_visible()


async def only_incident(admin: httpx.AsyncClient) -> dict[str, Any]:
    async with asyncio.timeout(5):
        while True:
            found = (await admin.get("/api/incidents?open=true")).json()["incidents"]
            if found:
                assert len(found) == 1
                return dict(found[0])
            await asyncio.sleep(0.05)


async def test_browser_operator_claims_and_dispatches_incident(page: Page, grid_hub: Hub) -> None:
    hub = grid_hub
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as admin:
        responders = [
            await add_responder(admin, "r-wang", IN_SQUARE_CELL),
            await add_responder(admin, "r-zhao", EAST_CELL),
        ]
        try:
            await go_live_with_incidents(page, hub)
            await hub.publish(alert("cam-square", SQUARE, people=23))
            incident = await only_incident(admin)
            assert (incident["grid_cell"], incident["state"]) == ("g-001", "pending_review")
            await work_the_incident(page, admin, incident["id"])
        finally:
            for client in responders:
                await client.aclose()
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=SCREENSHOTS / "console-incident-detail.png", full_page=True)


async def work_the_incident(page: Page, admin: httpx.AsyncClient, incident_id: str) -> None:
    row = page.locator(f'#incidents li[data-incident-id="{incident_id}"]')
    await expect(row).to_be_visible()
    await expect(row).to_have_class(re.compile(r"\bcolour-yellow\b"))
    await expect(row).to_have_class(re.compile(r"\bfresh\b"))  # pushed live, not loaded by REST
    await expect(row).to_contain_text("人员聚集 Crowd gathering")
    await expect(row).to_contain_text("待审核 pending review")
    await expect(row).to_contain_text("告警 alerts 1")

    await row.get_by_role("button").click()
    detail = page.locator("#incident-detail")
    state = detail.locator("#d-state")
    await expect(detail).to_be_visible()
    await expect(state).to_have_text("待审核 pending review · 待认领 awaiting claim")
    await expect(detail.locator("#d-colour-text")).to_have_text("黄 yellow")
    await expect(detail.locator("#d-alerts")).to_have_text("1")
    await expect(detail.locator("#d-grid")).to_contain_text("g-001")
    dispatch = detail.get_by_role("button", name="派单 Dispatch…")
    await expect(dispatch).to_be_disabled()  # the hub dispatches a verified incident only

    add_note = detail.get_by_role("button", name="添加备注 Add note")
    await expect(add_note).to_be_disabled()  # nothing written yet
    await detail.get_by_label("备注 Note").fill(NOTE)
    await add_note.click()  # its own `note` event: audited, the state stays
    await expect(detail.get_by_label("备注 Note")).to_have_value("")
    await expect(detail.locator("#d-audit > li").filter(has_text=NOTE)).to_have_count(1)
    await expect(state).to_have_text("待审核 pending review · 待认领 awaiting claim")
    await detail.get_by_role("button", name="认领 Claim").click()
    await expect(state).to_have_text("待审核 pending review · 已认领 claimed by admin")
    await expect(detail.get_by_role("button", name="认领 Claim")).to_be_disabled()
    await detail.get_by_role("button", name="核实 Verify").click()
    await expect(state).to_have_text("待审核 pending review · 已核实 verified")

    await dispatch.click()
    first = await check_recommendations(page, detail)
    await first.get_by_role("button", name="派单给 Dispatch to r-wang").click()
    await expect(state).to_have_text("派单中 dispatching")
    await expect(detail.locator("#d-assignments")).to_have_text("r-wang · 已通知 notified")
    await expect(detail.locator("#d-dispatch")).to_be_hidden()
    await check_hub_agrees(admin, incident_id)
    await check_audit_shown(detail, admin, incident_id)
    await expect(page.locator("#d-error")).to_be_hidden()


async def check_recommendations(page: Page, detail: Locator) -> Locator:
    """The ranking as the hub gives it, with its reasons: r-wang (in the cell) first."""
    ranked = detail.locator("#d-recommendations > li")
    await expect(ranked).to_have_count(2)
    first = ranked.nth(0)
    reasons = first.locator(".reasons li")
    await expect(first.locator(".title")).to_have_text("1. r-wang")
    await expect(reasons.filter(has_text="in grid cell g-001")).to_have_count(1)
    await expect(reasons.filter(has_text="ETA")).to_have_count(1)
    await expect(ranked.nth(1).locator(".title")).to_have_text("2. r-zhao")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / "console-dispatch.png", full_page=True)
    return first


async def check_hub_agrees(admin: httpx.AsyncClient, incident_id: str) -> None:
    """The hub's REST API, not the page, says who was dispatched and why."""
    body = (await admin.get(f"/api/incidents/{incident_id}")).json()
    assert body["state"] == "dispatching"
    assigned = [(a["responder_id"], a["state"]) for a in body["assignments"]]
    assert assigned == [("r-wang", "notified")]
    ranked = (await admin.get(f"/api/incidents/{incident_id}/recommendations")).json()
    assert [r["responder_id"] for r in ranked["recommendations"]] == ["r-zhao"]  # r-wang is busy
    reasons = body["assignments"][0]["reasons"]
    assert any("in grid cell g-001" in reason for reason in reasons)  # the ranking's, by the hub


async def check_audit_shown(detail: Locator, admin: httpx.AsyncClient, incident_id: str) -> None:
    trail = (await admin.get(f"/api/incidents/{incident_id}/audit")).json()
    events = [(r["event"], r["actor"]["id"], r["responder_id"]) for r in trail]
    assert events == [
        ("queue", "system", None),
        ("note", "admin", None),
        ("claim", "admin", None),
        ("verify", "admin", None),
        ("dispatch", "admin", "r-wang"),
    ]
    assert trail[1]["note"] == NOTE and trail[2]["why"] == "claimed"  # not sent with the claim
    shown = detail.locator("#d-audit > li")
    await expect(shown).to_have_count(len(trail))
    noted = shown.filter(has_text="备注 note")
    await expect(noted).to_have_count(1)
    await expect(noted).to_contain_text("admin")
    await expect(noted).to_contain_text(NOTE)
    claim = shown.filter(has_text="认领 claim")
    await expect(claim).to_have_count(1)
    await expect(claim).to_contain_text("admin")
    dispatched = shown.filter(has_text="派单 dispatch")
    await expect(dispatched).to_have_count(1)
    await expect(dispatched).to_contain_text("r-wang 已通知 notified")
    await expect(dispatched).to_contain_text("待审核 pending review → 派单中 dispatching")
