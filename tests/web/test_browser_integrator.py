"""The integrator page in a real browser: discover the simulated ONVIF device, probe it, pick a
profile, register it, draw a zone (mouse clicks on the snapshot canvas, a drag, a double-click)
and a line, add a crowd rule and a line-crossing rule, save; the hub's API then holds those
relative points and rules. A save over a stale revision is refused with a clear message; the
health list shows what a worker reported; the camera password is nowhere in the page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect
from pydantic import SecretStr

from hub.contracts import STREAM_CAMERA_HEALTH, CameraHealth, CameraState
from hub.sealing import new_key
from tests.canary import CANARY_PASSWORD, CANARY_USER, assert_response_clean, leaks
from tests.hub.conftest import Hub, _serve
from tests.onvif_sim import DeviceConfig, OnvifSimulator, SimProfile
from tests.onvif_sim.fixtures import discovery_responder
from tests.web.conftest import SCREENSHOTS
from xueliang.gateway import CameraAccess, network_policy

INTEGRATOR, KEY = "integrator-browser-4e1b", new_key()
TOLERANCE = 0.01  # a click lands within a pixel or two of where it was aimed
# Where the test clicks, as shares of the canvas: a zone (the 2nd point is dragged after) ...
ZONE_CLICKS = [(0.2, 0.3), (0.7, 0.3), (0.6, 0.8), (0.2, 0.8)]
DRAGGED_TO = (0.8, 0.25)
ZONE = [ZONE_CLICKS[0], DRAGGED_TO, ZONE_CLICKS[2], ZONE_CLICKS[3]]
LINE = [(0.1, 0.9), (0.9, 0.9)]  # ... and a line near the bottom, drawn left to right


@pytest.fixture
def onvif_device() -> Iterator[OnvifSimulator]:
    config = DeviceConfig(
        username=CANARY_USER, password=CANARY_PASSWORD,
        profiles=(SimProfile("main", "mainStream", 1920, 1080),
                  SimProfile("sub", "subStream", 640, 360)),
    )  # fmt: skip
    with OnvifSimulator(config) as device:
        yield device


@pytest.fixture
async def hub(tmp_path: Path, onvif_device: OnvifSimulator) -> AsyncIterator[Hub]:
    """The real hub, reaching loopback cameras only, with the simulator answering discovery."""
    xaddr = f"http://127.0.0.1:{onvif_device.port}/onvif/device_service"
    async with discovery_responder(xaddr) as (_, address):
        gateway = CameraAccess(
            network_policy("127.0.0.1/32"), timeout_s=3.0, discovery_targets=[address]
        )
        async for running in _serve(
            tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}", gateway,
            integrator_token=SecretStr(INTEGRATOR), secret_key=SecretStr(KEY),
        ):  # fmt: skip
            yield running


def api(hub: Hub) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=hub.base, headers={"Authorization": f"Bearer {INTEGRATOR}"},
        event_hooks={"response": [assert_response_clean]}, timeout=10,
    )  # fmt: skip


async def click_at(page: Page, share: tuple[float, float], double: bool = False) -> None:
    box = await page.locator("#overlay").bounding_box()
    assert box is not None
    x, y = box["x"] + share[0] * box["width"], box["y"] + share[1] * box["height"]
    await (page.mouse.dblclick(x, y) if double else page.mouse.click(x, y))


async def drag(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    box = await page.locator("#overlay").bounding_box()
    assert box is not None
    width, height = box["width"], box["height"]
    await page.mouse.move(box["x"] + start[0] * width, box["y"] + start[1] * height)
    await page.mouse.down()
    await page.mouse.move(box["x"] + end[0] * width, box["y"] + end[1] * height, steps=5)
    await page.mouse.up()


async def assert_no_password_in_page(page: Page) -> None:
    """Not in the document, not in any input left filled in, not in either web storage."""
    html = await page.content()
    stored = await page.evaluate(
        "() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage),"
        " [...document.querySelectorAll('input')].map((input) => input.value)])"
    )
    assert not leaks(html), "the camera password is in the page's HTML"
    assert not leaks(stored), "the camera password is in an input or in web storage"


def assert_close(points: list[list[float]], expected: list[tuple[float, float]]) -> None:
    assert len(points) == len(expected), points
    for got, wanted in zip(points, expected, strict=True):
        assert abs(got[0] - wanted[0]) <= TOLERANCE and abs(got[1] - wanted[1]) <= TOLERANCE, (
            f"{got} is not near {wanted} (all: {points})"
        )


async def register_through_the_wizard(page: Page, hub: Hub, device: OnvifSimulator) -> None:
    # /integrator serves the page with the console's strict CSP (hub/app.py PAGE_HEADERS).
    opened = await page.goto(f"{hub.base}/integrator#token={INTEGRATOR}")
    assert opened is not None and "default-src 'self'" in opened.headers["content-security-policy"]
    await expect(page.get_by_text("尚无摄像头 No cameras registered yet.")).to_be_visible()
    assert INTEGRATOR not in page.url  # the token left the address bar
    await page.get_by_role("button", name="发现设备 Discover (WS-Discovery)").click()
    where = f"127.0.0.1:{device.port}"
    await page.get_by_role("button", name=f"使用设备 Use device {where}").click()
    await expect(page.locator("#w-host")).to_have_value("127.0.0.1")
    await expect(page.locator("#w-port")).to_have_value(str(device.port))
    await page.get_by_label("用户名 Username").fill(CANARY_USER)
    await page.get_by_label("密码 Password").fill("wrong password")
    await page.get_by_role("button", name="探测 Probe").click()
    await expect(page.locator("#wizard-error")).to_contain_text("Wrong camera username or password")
    await page.get_by_label("密码 Password").fill(CANARY_PASSWORD)
    await page.get_by_role("button", name="探测 Probe").click()
    profiles = page.locator("#profiles label")
    await expect(profiles).to_have_count(2)
    await expect(profiles.first).to_contain_text("rtsp://127.0.0.1:8554/main")
    await expect(profiles.first.locator("input")).to_be_checked()  # the main stream
    await expect(page.locator("#device-info")).to_contain_text("Xueliang Sim SIM-1080")
    await profiles.nth(1).locator("input").check()  # the integrator picks the sub stream
    await page.get_by_label("编号 Camera id").fill("gate")
    await page.get_by_label("名称 Name").fill("南门 South gate")
    await page.get_by_label("纬度 Latitude").fill("30.657")
    await page.get_by_label("经度 Longitude").fill("104.066")
    await page.get_by_label("朝向 Heading").fill("135")
    await page.get_by_label("网格 Grid cell").fill("g-001")
    await page.get_by_role("button", name="注册 Register").click()
    await expect(page).to_have_url(re.compile(r"#camera=gate$"))
    await expect(page.locator("#camera-title")).to_have_text("南门 South gate")
    await expect(page.locator("#overlay")).to_have_attribute("data-snapshot", "loaded")
    await assert_no_password_in_page(page)


async def draw_and_add_rules(page: Page) -> None:
    await page.get_by_role("button", name="新建区域 New zone").click()
    for share in ZONE_CLICKS[:3]:
        await click_at(page, share)
    await expect(page.get_by_role("button", name="闭合区域 Close zone")).to_be_enabled()
    await click_at(page, ZONE_CLICKS[3], double=True)  # the 4th point, and the zone closes
    await expect(page.locator("#shape-list li")).to_have_count(1)
    await expect(page.locator("#shape-list")).to_contain_text("zone-1 (区域 zone · 4 点 points)")
    await drag(page, ZONE_CLICKS[1], DRAGGED_TO)
    await page.get_by_role("textbox", name="zone-1 (区域 zone").fill("入口 Entrance")
    await page.get_by_role("textbox", name="zone-1 (区域 zone").press("Enter")
    await page.get_by_role("button", name="新建绊线 New line").click()
    for share in LINE:
        await click_at(page, share)
    await expect(page.locator("#shape-list li")).to_have_count(2)

    await page.get_by_label("类型 Kind").select_option("crowd_gathering")
    await expect(page.get_by_label("区域/绊线 Zone or line")).to_have_value("zone-1")
    await page.get_by_label("最少人数 Min people").fill("7")
    await page.get_by_label("持续秒数 Hold (s)").fill("15")
    await page.get_by_role("button", name="应用规则 Apply rule").click()
    await page.get_by_label("类型 Kind").select_option("line_crossing")
    await expect(page.get_by_label("区域/绊线 Zone or line")).to_have_value("line-1")
    await page.get_by_label("方向 Direction").select_option("out")
    await page.get_by_role("button", name="应用规则 Apply rule").click()
    await page.get_by_label("类型 Kind").select_option("intrusion")  # armed at night, not Sundays
    await page.get_by_label("进入秒数 Inside for (s)").fill("3")
    await page.get_by_label("布防时间 Armed only at these times").check()
    await page.get_by_label("日 Sun").uncheck()
    await page.get_by_label("开始 From").fill("22:30")
    await page.get_by_label("结束 Until").fill("06:00")
    await page.get_by_role("button", name="应用规则 Apply rule").click()
    await expect(page.locator("#rule-list li")).to_have_count(3)
    await expect(page.locator("#rule-error")).to_be_hidden()
    await page.get_by_role("button", name="保存到中心 Save to hub").click()
    await expect(page.locator("#save-status")).to_have_text("已保存 Saved (revision 1)")


def assert_saved(camera: dict[str, Any]) -> None:
    assert camera["revision"] == 1 and camera["onvif"]["profile"] == "sub"
    assert camera["stream_url"] == "rtsp://127.0.0.1:8554/sub"
    assert (camera["heading_deg"], camera["grid_cell"]) == (135, "g-001")
    assert camera["location"] == {"lat": 30.657, "lon": 104.066}
    [zone] = camera["zones"]
    assert (zone["id"], zone["name"]) == ("zone-1", "入口 Entrance")
    assert_close(zone["polygon"], ZONE)
    [line] = camera["lines"]
    assert_close([line["a"], line["b"]], LINE)
    crowd, crossing, intrusion = camera["rules"]
    assert intrusion["kind"] == "intrusion" and intrusion["zone_id"] == "zone-1"
    assert intrusion["min_inside_s"] == 3
    assert intrusion["schedule"] == {
        "timezone": "Asia/Shanghai",
        "windows": [{"days": [1, 2, 3, 4, 5, 6], "start": "22:30", "end": "06:00"}],
    }
    assert [rule["id"] for rule in camera["rules"]] == ["crowd-1", "crossing-1", "intrusion-1"]
    assert crowd["kind"] == "crowd_gathering" and crowd["zone_id"] == "zone-1"
    assert (crowd["min_people"], crowd["hold_s"], crowd["clear_s"]) == (7, 15, 10)
    assert crossing["kind"] == "line_crossing" and crossing["line_id"] == "line-1"
    assert crossing["direction"] == "out"


async def test_browser_integrator_registers_draws_a_zone_and_sets_rules(
    page: Page, hub: Hub, onvif_device: OnvifSimulator
) -> None:
    try:
        await register_through_the_wizard(page, hub, onvif_device)
        await draw_and_add_rules(page)
        async with api(hub) as integrator:
            camera = (await integrator.get("/api/cameras/gate")).json()
            assert_saved(camera)
            # Someone else changes the camera; the page, still at revision 1, must not overwrite.
            other = await integrator.patch("/api/cameras/gate", json={"name": "南门 Gate 2"})
            assert other.json()["revision"] == 2
            await page.get_by_role("button", name="删除规则 Delete rule crossing-1").click()
            await page.get_by_role("button", name="保存到中心 Save to hub").click()
            await expect(page.locator("#save-error")).to_contain_text(
                "Changed by someone else, reload"
            )
            assert len((await integrator.get("/api/cameras/gate")).json()["rules"]) == 3
            await page.get_by_role("button", name="重新加载 Reload").click()
            await expect(page.locator("#camera-revision")).to_have_text("版本 revision 2")
            await expect(page.locator("#rule-list li")).to_have_count(3)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=SCREENSHOTS / "integrator-camera.png", full_page=True)

        now = datetime.now(UTC)
        report = CameraHealth(
            camera_id="gate", state=CameraState.ONLINE, input_fps=12.5, last_frame_at=now,
            reconnects=3, dropped_frames=4, last_error="rtsp read timeout", reported_at=now,
        )  # fmt: skip
        await hub.bus.publish(STREAM_CAMERA_HEALTH, report.model_dump_json().encode())
        await page.get_by_role("link", name="← 摄像头列表 Cameras").click()
        row = page.locator('tr[data-camera-id="gate"]')
        await expect(row.locator(".state-badge")).to_have_text("在线 online")
        await expect(row.locator(".fps")).to_have_text("12.5")
        await expect(row.locator(".reconnects")).to_have_text("3")
        await expect(row.locator(".dropped")).to_have_text("4")
        await expect(row.locator(".last-error")).to_have_text("rtsp read timeout")
        await expect(row.locator(".last-seen")).to_contain_text("s ago")
        await expect(row).to_contain_text("南门 Gate 2")
        await assert_no_password_in_page(page)
    finally:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=SCREENSHOTS / "integrator-health.png", full_page=True)


async def test_browser_integrator_page_without_a_session_signs_in(page: Page, hub: Hub) -> None:
    """A 401 leads to the sign-in page where the hub has one, else to a token prompt here."""
    login = re.compile(r"/login(\?.*)?$")
    await page.route(login, lambda route: route.fulfill(status=200, body="<p>sign in</p>"))
    await page.goto(f"{hub.base}/integrator#camera=gate")
    await page.wait_for_url(re.compile(r"/login\?next="))
    assert "next=%2Fintegrator%23camera%3Dgate" in page.url  # and back after
    await page.unroute(login)
    await page.route(login, lambda route: route.fulfill(status=404, body="not found"))
    await page.goto(f"{hub.base}/integrator")
    await expect(page.get_by_label("访问令牌 Access token")).to_be_visible()
    await page.get_by_label("访问令牌 Access token").fill("not-the-token")
    await page.get_by_role("button", name="登录 Sign in").click()
    await expect(page.locator("#notice")).to_have_text("令牌无效 The token was refused.")
    await page.get_by_label("访问令牌 Access token").fill(INTEGRATOR)
    await page.get_by_role("button", name="登录 Sign in").click()
    await expect(page.get_by_text("尚无摄像头 No cameras registered yet.")).to_be_visible()
    await expect(page.locator("#token-form")).to_be_hidden()


async def test_browser_editing_a_rule_keeps_what_the_form_does_not_show(
    page: Page, hub: Hub
) -> None:
    """A camera registered through the API, whose stream is down: the page says why there is
    no snapshot, still lets the integrator draw, and an edited rule keeps its other fields."""
    levels = [{"min_people": 1, "level": "yellow"}, {"min_people": 20, "level": "red"}]
    crowd = {"id": "crowd", "zone_id": "z", "min_people": 5, "levels": levels,
             "min_confidence": 0.4, "classes": ["person"]}  # fmt: skip
    camera = {"id": "lane", "rtsp_url": "rtsp://127.0.0.1:9/none", "location": {"lat": 1, "lon": 2},
              "zones": [{"id": "z", "polygon": [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5]]}],
              "rules": [crowd]}  # fmt: skip
    async with api(hub) as integrator:
        assert (await integrator.post("/api/cameras", json=camera)).status_code == 201
        await page.goto(f"{hub.base}/static/integrator.html#token={INTEGRATOR}&camera=lane")
        await expect(page.locator("#snapshot-error")).to_contain_text("Snapshot unavailable")
        await expect(page.locator("#overlay")).to_have_attribute("data-snapshot", "failed")
        await page.get_by_role("button", name="编辑规则 Edit rule crowd").click()
        await expect(page.get_by_label("最少人数 Min people")).to_have_value("5")
        await page.get_by_label("最少人数 Min people").fill("12")
        await page.get_by_role("button", name="更新规则 Update rule").click()
        await page.get_by_role("button", name="新建区域 New zone").click()
        for share in [(0.6, 0.6), (0.9, 0.6), (0.9, 0.9)]:
            await click_at(page, share)
        await page.get_by_role("button", name="闭合区域 Close zone").click()
        await page.get_by_role("button", name="保存到中心 Save to hub").click()
        await expect(page.locator("#save-status")).to_have_text("已保存 Saved (revision 1)")
        saved = (await integrator.get("/api/cameras/lane")).json()
    [rule] = saved["rules"]
    assert rule["min_people"] == 12 and rule["levels"] == levels
    assert rule["min_confidence"] == 0.4
    assert [zone["id"] for zone in saved["zones"]] == ["z", "zone-1"]
    assert saved["zones"][0]["polygon"] == [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5]]
    assert_close(saved["zones"][1]["polygon"], [(0.6, 0.6), (0.9, 0.6), (0.9, 0.9)])
