"""The console's filter bar and red-alert sound in a real browser: filters by grid cell, kind,
level and state hide and show alerts and incidents (loaded and pushed live), survive a reload
through the URL and reach the server; a live red alert sounds once, a yellow one never, and
muting (kept across a reload) silences it. The sound is observed by counting the page's
OscillatorNode.start calls (an init script), since a headless browser has no speaker."""

from __future__ import annotations

import re

from playwright.async_api import Locator, Page, Request, expect

from hub.contracts import AlertKind, Level
from tests.factories import make_alert
from tests.hub.conftest import Hub
from tests.hub.incident_world import EAST_CELL, SQUARE, alert
from tests.web.conftest import SCREENSHOTS
from tests.web.test_browser_incident import go_live_with_incidents, grid_hub  # noqa: F401
from tests.web.test_browser_live_queue import sign_in_and_go_live

COUNT_OSCILLATORS = """
window.__alarms = 0;
const start = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) {
  window.__alarms += 1;
  return start.apply(this, args);
};
"""


def alert_row(page: Page, camera: str) -> Locator:
    return page.locator("#alerts > li").filter(has_text=f"Camera {camera} ")


def incident_row(page: Page, cell: str) -> Locator:
    return page.locator("#incidents > li").filter(has_text=f"网格 cell {cell} ")


def showing(shown: int, held: int) -> str:
    return f"显示 {shown} / 共 {held} · showing {shown} of {held}"


async def test_browser_filters_hide_show_and_survive_reload(page: Page, grid_hub: Hub) -> None:  # noqa: F811
    hub = grid_hub
    api_calls: list[str] = []

    def note(request: Request) -> None:
        if "/api/alerts?" in request.url or "/api/incidents?" in request.url:
            api_calls.append(request.url)

    page.on("request", note)
    alerts_count, incidents_count = page.locator("#alerts-count"), page.locator("#incidents-count")
    try:
        await go_live_with_incidents(page, hub)
        await hub.publish(alert("cam-square", SQUARE, level=Level.RED))  # g-001, crowd
        await hub.publish(alert("cam-east", EAST_CELL, kind=AlertKind.LOITERING))  # g-002
        await expect(incident_row(page, "g-002")).to_be_visible()
        await expect(alerts_count).to_have_text(showing(2, 2))
        await expect(incidents_count).to_have_text(showing(2, 2))

        await page.get_by_label("网格 Grid cell").select_option("g-001")  # named from /api/map
        await expect(alert_row(page, "cam-square")).to_be_visible()
        await expect(alert_row(page, "cam-east")).to_be_hidden()
        await expect(incident_row(page, "g-001")).to_be_visible()
        await expect(incident_row(page, "g-002")).to_be_hidden()
        await expect(alerts_count).to_have_text(showing(1, 2))
        await expect(incidents_count).to_have_text(showing(1, 2))
        assert "grid=g-001" in page.url

        # Pushed live and not matching: kept, hidden, counted.
        await hub.publish(alert("cam-east-2", EAST_CELL, kind=AlertKind.LOITERING))
        await expect(alerts_count).to_have_text(showing(1, 3))
        await expect(alert_row(page, "cam-east-2")).to_be_hidden()

        # A reload keeps the filter, and the lists load only what it matches from the server.
        api_calls.clear()
        await page.reload()
        await expect(page.locator("#connection")).to_have_text("已连接 live")
        await expect(page.get_by_label("网格 Grid cell")).to_have_value("g-001")
        await expect(alert_row(page, "cam-square")).to_be_visible()
        await expect(alerts_count).to_have_text(showing(1, 1))
        await expect(incidents_count).to_have_text(showing(1, 1))
        assert any("grid_cell=g-001" in url and "/api/alerts?" in url for url in api_calls)
        assert any("grid_cell=g-001" in url and "/api/incidents?" in url for url in api_calls)

        await page.get_by_label("级别 Level").select_option("yellow")  # g-001's alert is red
        await expect(alert_row(page, "cam-square")).to_be_hidden()
        await expect(alerts_count).to_have_text(showing(0, 1))
        await page.get_by_role("button", name="清除筛选 Clear filters").click()
        await expect(alerts_count).to_have_text(showing(3, 3))  # reloaded without the filter
        await expect(incidents_count).to_have_text(showing(2, 2))
        assert "grid=" not in page.url and "level=" not in page.url

        await page.get_by_label("类型 Kind").select_option("loitering")
        await page.get_by_label("告警状态 Alert status").select_option("active")
        await expect(alerts_count).to_have_text(showing(2, 3))
        await expect(incident_row(page, "g-002")).to_be_visible()
        await expect(incident_row(page, "g-001")).to_be_hidden()
        await page.get_by_label("事件状态 Incident state").select_option("assigned")  # none are
        await expect(incidents_count).to_have_text(showing(0, 2))
    finally:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=SCREENSHOTS / "console-filters.png", full_page=True)


async def alarms(page: Page) -> int:
    return int(await page.evaluate("window.__alarms"))


async def arrive(page: Page, hub: Hub, camera: str, level: Level, started_s: float) -> None:
    await hub.publish(make_alert(camera, level=level, started_s=started_s))
    await expect(alert_row(page, camera)).to_have_class(re.compile(r"\bfresh\b"))


async def test_browser_red_alert_sounds_once_and_mute_silences(page: Page, hub: Hub) -> None:
    await page.add_init_script(COUNT_OSCILLATORS)
    hint = page.get_by_role("button", name="点击启用提示音 Click to enable alert sound")
    toggle = page.locator("#sound-toggle")
    try:
        await sign_in_and_go_live(page, hub)
        await expect(hint).to_be_visible()  # no gesture yet: the browser would block the audio
        await arrive(page, hub, "cam-before", Level.RED, 0)
        assert await alarms(page) == 0
        await hint.click()
        await expect(hint).to_be_hidden()

        await arrive(page, hub, "cam-yellow", Level.YELLOW, 10)
        assert await alarms(page) == 0

        await toggle.click()
        await expect(toggle).to_have_text("🔕 提示音关 Sound off")
        await arrive(page, hub, "cam-muted", Level.RED, 20)
        assert await alarms(page) == 0

        await page.reload()  # the mute choice is kept
        await expect(page.locator("#connection")).to_have_text("已连接 live")
        await expect(toggle).to_have_text("🔕 提示音关 Sound off")
        await expect(hint).to_be_hidden()  # muted: nothing to enable
        await toggle.click()  # a gesture, too
        await expect(toggle).to_have_text("🔔 提示音开 Sound on")
        assert await alarms(page) == 0  # what the reload loaded never sounds

        await arrive(page, hub, "cam-red", Level.RED, 30)  # with its red incident: one alarm
        assert await alarms(page) == 1
        await arrive(page, hub, "cam-red-2", Level.RED, 40)  # within the gap: no second alarm
        assert await alarms(page) == 1
    finally:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=SCREENSHOTS / "console-alert-sound.png", full_page=True)
