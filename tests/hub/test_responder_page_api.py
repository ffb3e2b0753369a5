"""The responder page's routes (hub/responder_routes.py) over HTTP: the task list keeps a cleared
assignment until feedback, photos are magic-checked, size-limited and served only with their
incident, to its readers and its responder; a responder never reaches another's incident."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from hub.contracts import GeoPoint
from hub.responder_routes import MAX_PHOTO_BYTES
from tests.hub.conftest import Hub, _serve
from tests.hub.incident_world import GRID_FILE, SQUARE, alert
from tests.hub.test_incident_scenario import add_responder

JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 64
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@pytest.fixture
async def grid_hub(tmp_path: Path) -> AsyncIterator[Hub]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async for running in _serve(tmp_path, url, grid_file=GRID_FILE):
        yield running


async def first_open_incident(admin: httpx.AsyncClient) -> str:
    async with asyncio.timeout(5):
        while True:
            found = (await admin.get("/api/incidents?open=true")).json()["incidents"]
            if found:
                return str(found[0]["id"])
            await asyncio.sleep(0.05)


async def test_tasks_photos_and_who_may_see_them(grid_hub: Hub) -> None:
    hub = grid_hub
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as admin:
        wang = await add_responder(admin, "r-wang", GeoPoint(lat=30.6572, lon=104.0662))
        zhao = await add_responder(admin, "r-zhao", GeoPoint(lat=30.6570, lon=104.0700))
        try:
            await hub.publish(alert("cam-square", SQUARE, people=23))
            incident = await first_open_incident(admin)
            events = f"/api/incidents/{incident}/events"
            for body in ({"type": "claim"}, {"type": "verify"},
                         {"type": "dispatch", "responder_id": "r-wang"}):  # fmt: skip
                assert (await admin.post(events, json=body)).status_code == 200, body
            await check(hub, admin, wang, zhao, incident, events)
        finally:
            await wang.aclose()
            await zhao.aclose()


async def check(
    hub: Hub, admin: httpx.AsyncClient, wang: httpx.AsyncClient, zhao: httpx.AsyncClient,
    incident: str, events: str,
) -> None:  # fmt: skip
    tasks = (await wang.get("/api/me/tasks")).json()["tasks"]
    shown = [(t["incident"]["id"], t["assignment"]["state"], t["deadline"]["kind"],
              t["has_snapshot"]) for t in tasks]  # fmt: skip
    assert shown == [(incident, "notified", "acknowledge", False)]
    assert (await zhao.get("/api/me/tasks")).json()["tasks"] == []
    assert (await admin.get("/api/me/tasks")).status_code == 403  # a responder's page
    photos = f"/api/me/incidents/{incident}/photos"
    assert (await wang.post(photos, content=JPEG)).status_code == 409  # not on scene yet
    assert (await wang.get(f"/api/me/incidents/{incident}/snapshot.jpg")).status_code == 404
    for step in ("acknowledge", "depart", "arrive", "clear"):
        assert (await wang.post(events, json={"type": step})).status_code == 200, step
    tasks = (await wang.get("/api/me/tasks")).json()["tasks"]
    assert [(t["assignment"]["state"], t["deadline"]["kind"]) for t in tasks] == [
        ("cleared", "feedback")]  # fmt: skip
    assert (await wang.get("/api/me/incidents")).json()["incidents"] == []  # the older list
    assert (await wang.post(photos, content=b"GIF89a" + b"\0" * 64)).status_code == 415
    big = JPEG + b"\0" * MAX_PHOTO_BYTES
    assert (await wang.post(photos, content=big)).status_code == 413
    assert (await zhao.post(photos, content=JPEG)).status_code == 404  # not theirs
    stored = await wang.post(photos, content=PNG)
    assert stored.status_code == 201, stored.text
    ref, name = stored.json()["ref"], stored.json()["name"]
    assert name.endswith(".png") and (hub.settings.evidence_dir / name).read_bytes() == PNG
    fetched = await admin.get(ref)
    assert (fetched.status_code, fetched.headers["content-type"], fetched.content) == (
        200, "image/png", PNG)  # fmt: skip
    assert (await wang.get(ref)).status_code == 200
    assert (await zhao.get(ref)).status_code == 404
    other = ref.replace(f"/incidents/{incident}/", "/incidents/someone-else/")
    assert (await admin.get(other)).status_code == 404  # a photo only with its incident
    done = await wang.post(events, json={"type": "submit_feedback", "evidence": [ref]})
    assert done.status_code == 200 and done.json()["state"] == "feedback_submitted"
    assert (await wang.get("/api/me/tasks")).json()["tasks"] == []


async def test_a_responder_user_signed_in_uses_the_page_by_cookie(grid_hub: Hub) -> None:
    """The page's other sign-in: a user of the responder role at /login (a session cookie;
    a change needs the hub's own Origin, which the browser sends)."""
    hub = grid_hub
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as admin:
        wang = await add_responder(admin, "r-wang", GeoPoint(lat=30.6572, lon=104.0662))
        await wang.aclose()
        user = {"username": "wang", "password": "a-long-password-1", "role": "responder",
                "responder_id": "r-wang"}  # fmt: skip
        assert (await admin.post("/api/users", json=user)).status_code == 201
    async with httpx.AsyncClient(base_url=hub.base, headers={"Origin": hub.base}) as phone:
        assert (await phone.get("/responder")).status_code == 200  # the page itself is public
        assert (await phone.get("/api/me/tasks")).status_code == 401  # what sends it to /login
        signed = await phone.post("/api/session", json={"username": "wang",
                                                        "password": user["password"]})  # fmt: skip
        assert signed.status_code == 204, signed.text
        assert (await phone.get("/api/me/tasks")).json()["tasks"] == []
        change = await phone.put("/api/me/availability", json={"availability": "unavailable"})
        assert change.status_code == 200 and change.json()["availability"] == "unavailable"
