"""The responder's phone page in a real browser (390×844, touch, a fixed GPS fix): an operator
dispatches a crowd incident over the API; the page shows it within seconds with its snapshot and
map, the responder taps Accept, En route, On scene, Clear, then sends feedback with a note and a
photo; the hub's audit trail holds those steps in order, the page shared the browser's position,
and the feedback's evidence is the stored, downscaled photo, which an operator can fetch."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from playwright.async_api import Browser, Geolocation, Page, expect

from hub.contracts import GeoPoint
from tests.hub.conftest import Hub, _serve
from tests.hub.incident_world import GRID_FILE, SQUARE, alert
from tests.hub.test_incident_scenario import add_responder
from tests.hub.test_responder_page_api import first_open_incident
from tests.web.conftest import SCREENSHOTS, fresh_page

IN_SQUARE_CELL = GeoPoint(lat=30.6572, lon=104.0662)  # where the API first puts r-wang
PHONE_FIX: Geolocation = {
    "latitude": 30.6575,
    "longitude": 104.0668,
}  # the browser's GPS, ~80 m further
NOTE = "人群已疏散 crowd dispersed, nobody hurt"


@pytest.fixture
async def grid_hub(tmp_path: Path) -> AsyncIterator[Hub]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async for running in _serve(tmp_path, url, grid_file=GRID_FILE):
        yield running


@pytest.fixture
async def phone(browser: Browser) -> AsyncIterator[Page]:
    async with fresh_page(
        browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
        device_scale_factor=2, geolocation=PHONE_FIX, permissions=["geolocation"],
    ) as opened:  # fmt: skip
        yield opened


def jpeg(width: int, height: int) -> bytes:
    image = np.zeros((height, width, 3), np.uint8)
    image[:, : width // 2] = (40, 160, 40)
    ok, data = cv2.imencode(".jpg", image)
    assert ok
    return bytes(data.tobytes())


async def dispatched(hub: Hub, admin: httpx.AsyncClient) -> str:
    """A verified crowd incident in the square, dispatched to the first recommendation."""
    (hub.settings.evidence_dir / "square.jpg").write_bytes(jpeg(320, 180))
    await hub.publish(alert("cam-square", SQUARE, people=23, snapshot_ref="square.jpg"))
    incident_id = await first_open_incident(admin)
    path = f"/api/incidents/{incident_id}/events"
    for body in ({"type": "claim"}, {"type": "verify"}, {"type": "dispatch"}):
        assert (await admin.post(path, json=body)).status_code == 200
    return incident_id


async def test_browser_responder_works_a_dispatch_on_a_phone(phone: Page, grid_hub: Hub) -> None:
    hub = grid_hub
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as admin:
        wang = await add_responder(admin, "r-wang", IN_SQUARE_CELL)
        token = wang.headers["Authorization"].removeprefix("Bearer ")
        try:
            await phone.goto(f"{hub.base}/responder#token={token}")
            assert "token" not in phone.url  # it left the address bar
            await expect(phone.locator("#empty")).to_be_visible()
            shared = phone.locator("#position")
            await expect(shared).to_contain_text("位置已共享 Position shared")
            incident_id = await dispatched(hub, admin)
            sent = time.monotonic()
            card = phone.locator(f'li.task[data-incident-id="{incident_id}"]')
            await expect(card).to_be_visible(timeout=8000)
            assert time.monotonic() - sent < 8
            await work_it(phone, card)
            await check_hub(admin, incident_id)
            await check_availability(phone, admin)
        finally:
            await wang.aclose()
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            await phone.screenshot(path=SCREENSHOTS / "responder-phone.png", full_page=True)


async def work_it(phone: Page, card: Any) -> None:
    await expect(card).to_have_class("task colour-yellow new")
    await expect(card.locator(".state")).to_have_text("新派单 New dispatch")
    await expect(card.locator(".kind")).to_have_text("人员聚集 Crowd gathering")
    await expect(card.locator(".place")).to_contain_text("g-001")
    await expect(card.locator(".deadline-name")).to_have_text("接受期限 Accept by")
    await expect(card.locator(".snapshot img")).to_be_visible()
    await expect(card.locator(".task-map .leaflet-interactive")).to_have_count(2)  # incident, me
    await expect(phone.locator("#availability-now")).to_have_text("· 执行中 committed")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await phone.screenshot(path=SCREENSHOTS / "responder-phone-dispatch.png", full_page=True)
    steps = [
        ("接受 Accept", "已接受 Accepted"),
        ("出发 En route", "在途 En route"),
        ("到达 On scene", "到场 On scene"),
        ("处置完毕 Clear", "待反馈 Feedback due"),
    ]
    for label, state in steps:
        await card.get_by_role("button", name=label).tap()
        await expect(card.locator(".state")).to_have_text(state)
        await expect(card.locator(".error")).to_be_hidden()
    await card.get_by_label("处置说明 Note").fill(NOTE)
    photo = {"name": "scene.jpg", "mimeType": "image/jpeg", "buffer": jpeg(2400, 1200)}
    await card.get_by_label("现场照片 Photo").set_input_files(photo)
    await expect(card.locator("canvas.preview")).to_be_visible()
    await card.get_by_role("button", name="提交反馈 Send feedback").tap()
    await expect(card).to_be_hidden()  # feedback in: the assignment is done
    await expect(phone.locator("#empty")).to_be_visible()
    await expect(phone.locator("#notice")).to_be_hidden()  # no error on the way


async def check_hub(admin: httpx.AsyncClient, incident_id: str) -> None:
    trail = (await admin.get(f"/api/incidents/{incident_id}/audit")).json()
    mine = [(r["event"], r["assignment_to"]) for r in trail if r["actor"]["id"] == "r-wang"]
    assert mine == [
        ("acknowledge", "acknowledged"), ("depart", "en_route"), ("arrive", "on_scene"),
        ("clear", "cleared"), ("submit_feedback", "cleared"),
    ]  # fmt: skip
    arrive = next(r for r in trail if r["event"] == "arrive")
    assert arrive["evidence"] == ["gps:30.657500,104.066800"]  # the phone's fix
    feedback = trail[-1]
    assert feedback["why"].endswith(NOTE)
    [ref] = feedback["evidence"]
    assert ref.startswith(f"/api/incidents/{incident_id}/photos/feedback-")
    stored = await admin.get(ref)
    assert (stored.status_code, stored.headers["content-type"]) == (200, "image/jpeg")
    image = cv2.imdecode(np.frombuffer(stored.content, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape[:2] == (
        800,
        1600,
    )  # downscaled in the browser, the aspect kept
    people = {r["id"]: r for r in (await admin.get("/api/responders")).json()}
    where = people["r-wang"]["position"]["location"]
    assert (where["lat"], where["lon"]) == (PHONE_FIX["latitude"], PHONE_FIX["longitude"])


async def check_availability(phone: Page, admin: httpx.AsyncClient) -> None:
    await phone.get_by_label("下班 Off shift").tap()
    async with asyncio.timeout(5):
        while True:
            people = {r["id"]: r for r in (await admin.get("/api/responders")).json()}
            if people["r-wang"]["availability"] == "off_shift":
                break
            await asyncio.sleep(0.05)
    await expect(phone.get_by_label("下班 Off shift")).to_be_checked()


async def test_browser_responder_declines_with_a_reason(browser: Browser, grid_hub: Hub) -> None:
    """No location permission: the page says so; a decline asks for a reason, which the hub
    records, and the card goes."""
    hub = grid_hub
    context = await browser.new_context(
        viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True
    )
    phone = await context.new_page()
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as admin:
        wang = await add_responder(admin, "r-wang", IN_SQUARE_CELL)
        token = wang.headers["Authorization"].removeprefix("Bearer ")
        try:
            await phone.goto(f"{hub.base}/responder#token={token}")
            await expect(phone.locator("#position")).to_contain_text("定位权限被拒绝")
            incident_id = await dispatched(hub, admin)
            card = phone.locator(f'li.task[data-incident-id="{incident_id}"]')
            await card.get_by_role("button", name="拒绝 Decline").tap()
            confirm = card.get_by_role("button", name="确认拒绝 Confirm decline")
            await confirm.tap()  # no reason yet: the form refuses
            await expect(card).to_be_visible()
            await card.get_by_label("拒绝原因 Reason for declining").fill("车辆故障 car broke down")
            await confirm.tap()
            await expect(card).to_be_hidden()
            trail = (await admin.get(f"/api/incidents/{incident_id}/audit")).json()
            declined = [r for r in trail if r["event"] == "decline"]
            assert [r["why"].endswith("车辆故障 car broke down") for r in declined] == [True]
        finally:
            await wang.aclose()
            await context.close()


async def test_browser_responder_without_a_token_goes_to_sign_in(page: Page, hub: Hub) -> None:
    await page.goto(f"{hub.base}/responder")
    await expect(page).to_have_url(f"{hub.base}/login?next=%2Fresponder")
