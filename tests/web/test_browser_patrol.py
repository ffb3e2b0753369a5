"""Video patrol in a real browser: the patrol page cycles from camera A to camera B (1 s dwell)
showing each one's snapshot, the patrol log records both views, and "report what I see" opens an
incident the hub's API shows with the view as evidence. The page's cycle arithmetic
(patrol-cycle.js) answers the hub's own table (tests/hub/test_patrol_cycle.py)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.hub.conftest import TOKEN, Hub
from tests.hub.test_patrol_api import serve_patrol_hub
from tests.hub.test_patrol_cycle import CYCLE, ROUTE, T0
from tests.web.conftest import SCREENSHOTS


@pytest.fixture
async def patrol_hub(tmp_path: Path) -> AsyncIterator[Hub]:
    async for running in serve_patrol_hub(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"):
        yield running


async def logged_cameras(admin: httpx.AsyncClient, wanted: set[str]) -> list[dict[str, Any]]:
    """The day's log once it holds a view of each `wanted` camera."""
    day = {"day": datetime.now(UTC).date().isoformat(), "tz": "UTC"}
    async with asyncio.timeout(5):
        while True:
            log: list[dict[str, Any]] = (await admin.get("/api/patrol/log", params=day)).json()
            if wanted <= {entry["camera_id"] for entry in log}:
                return log
            await asyncio.sleep(0.1)


async def test_browser_patrol_cycles_logs_and_reports(page: Page, patrol_hub: Hub) -> None:
    hub = patrol_hub
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth, timeout=10) as admin:
        plan = (await admin.post("/api/patrol/plans", json={
            "name": "广场轮巡 Plaza round", "dwell_s": 1,
            "steps": [{"camera_id": "cam-a"}, {"camera_id": "cam-b"}],
        })).json()  # fmt: skip
        await page.goto(f"{hub.base}/patrol?plan={plan['id']}#token={TOKEN}")
        name = page.locator("#camera-name")
        await expect(name).to_have_attribute("data-camera-id", "cam-a")
        await expect(page.locator("#snapshot")).to_have_attribute("src", _snapshot_of("cam-a"))
        await expect(name).to_have_attribute("data-camera-id", "cam-b", timeout=3000)
        await expect(page.locator("#snapshot")).to_have_attribute("src", _snapshot_of("cam-b"))
        assert await page.locator("#snapshot").evaluate("img => img.naturalWidth") == 160
        await expect(page.locator("#countdown")).to_contain_text("秒 s")
        log = await logged_cameras(admin, {"cam-a", "cam-b"})
        assert {entry["operator"] for entry in log} == {"admin"}
        assert all(0 < entry["seconds_viewed"] < 3 for entry in log), log

        await page.locator("#pause").click()
        await expect(page.locator("#countdown")).to_contain_text("暂停 paused")
        shown = await name.get_attribute("data-camera-id")
        await page.locator("#report-kind").select_option("fire")
        await page.locator("#report-note").fill("垃圾桶起火 bin on fire")
        await page.locator("#report-send").click()
        result = page.locator("#report-result")
        await expect(result).to_contain_text("已上报 Reported")
        incident_id = await result.get_attribute("data-incident-id")
        assert incident_id is not None
        assert await name.get_attribute("data-camera-id") == shown  # paused: it stayed
        await expect(page.locator("#views li").first).to_be_visible()
        other = "cam-b" if shown == "cam-a" else "cam-a"
        await page.locator("#next").click()  # paused, next still moves on (and stays there)
        await expect(name).to_have_attribute("data-camera-id", other)
        await page.locator("#previous").click()
        await expect(name).to_have_attribute("data-camera-id", str(shown))
        await page.screenshot(path=SCREENSHOTS / "patrol.png", full_page=True)

        incident = (await admin.get(f"/api/incidents/{incident_id}")).json()
        assert (incident["kind"], incident["colour"], incident["state"]) == (
            "fire", "red", "pending_review")  # fmt: skip
        listed = (await admin.get("/api/incidents", params={"open": "true"})).json()
        assert [i["id"] for i in listed["incidents"]] == [incident_id]
        (record,) = (await admin.get(f"/api/incidents/{incident_id}/audit")).json()
        evidence = record["evidence"][0].removeprefix("patrol-log:")
        log = await logged_cameras(admin, {"cam-a", "cam-b"})
        reported = next(entry for entry in log if entry["id"] == evidence)
        assert reported["camera_id"] == shown and "bin on fire" in record["why"]
        await expect(page.locator("#notice")).to_be_hidden()

        await result.get_by_role("link").click()  # to the console, like any other incident
        await expect(page.locator("#incidents > li")).to_have_count(1)
        await expect(page.locator("#d-title")).to_contain_text(incident_id[:8])
        await expect(page.locator("#d-audit")).to_contain_text("bin on fire")


def _snapshot_of(camera_id: str) -> re.Pattern[str]:
    return re.compile(rf"/cameras/{camera_id}/snapshot\.jpg\?t=\d+$")


async def test_browser_cycle_matches_the_hubs_table(page: Page, patrol_hub: Hub) -> None:
    await page.goto(f"{patrol_hub.base}/patrol#token={TOKEN}")
    route = [stop.model_dump() for stop in ROUTE]
    answers = await page.evaluate(
        """async ([route, anchorMs, rows]) => {
            const cycle = await import("/static/patrol-cycle.js");
            return rows.map((afterMs) => cycle.position(route, anchorMs, anchorMs + afterMs));
        }""",
        [route, T0.timestamp() * 1000, [row[0] for row in CYCLE]],
    )
    t0_ms = T0.timestamp() * 1000
    for (_, index, lap, start_ms, switch_ms), got in zip(CYCLE, answers, strict=True):
        assert (got["index"], got["lap"], got["camera_id"]) == (index, lap, ROUTE[index].camera_id)
        assert (got["startedMs"] - t0_ms, got["nextSwitchMs"] - t0_ms) == (start_ms, switch_ms)
