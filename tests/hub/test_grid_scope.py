"""Grid scopes: a user scoped to a grid node sees only the objects of that node and below it.
Another cell's incident or alert answers 404 (as an unknown id would), lists leave it out, the
daily report does not count it and the live socket never mentions it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.hub.conftest import Hub, _serve
from tests.hub.incident_world import EAST_CELL, GRID_FILE, SQUARE, alert
from tests.hub.test_login import PASSWORD, add_user
from tests.hub.test_ws import ws_url

Scoped = tuple[Hub, dict[str, httpx.AsyncClient], dict[str, dict[str, Any]]]
USERS = {  # username: (role, grid scope); com-tf holds cells g-001 and g-002
    "view-a": ("viewer", "g-001"), "view-b": ("viewer", "g-002"),
    "view-com": ("viewer", "com-tf"), "op-b": ("operator", "g-002"),
}  # fmt: skip


@pytest.fixture
async def scoped(tmp_path: Path, database_url: str) -> AsyncIterator[Scoped]:
    """The demo grid, one incident in g-001 (Tianfu Square) and one in g-002, and a signed-in
    client per user of USERS, plus the admin token's."""
    async for hub in _serve(tmp_path, database_url, grid_file=GRID_FILE):
        async with AsyncExitStack() as stack:
            admin = await stack.enter_async_context(
                httpx.AsyncClient(base_url=hub.base, headers=hub.auth)
            )
            clients = {"admin": admin}
            for username, (role, scope) in USERS.items():
                await add_user(hub, username, role, grid_scope=scope)
                page = await stack.enter_async_context(
                    httpx.AsyncClient(base_url=hub.base, headers={"Origin": hub.base})
                )
                body = {"username": username, "password": PASSWORD}
                assert (await page.post("/api/session", json=body)).status_code == 204
                clients[username] = page
            await hub.publish(alert("cam-square", SQUARE, people=23))
            await hub.publish(alert("cam-east", EAST_CELL, people=23))
            yield hub, clients, await _incidents_by_cell(admin)


async def _incidents_by_cell(admin: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    async with asyncio.timeout(5):
        while len(found := (await admin.get("/api/incidents")).json()["incidents"]) < 2:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    return {incident["grid_cell"]: incident for incident in found}


def _ids(page: dict[str, Any]) -> set[str]:
    return {incident["id"] for incident in page["incidents"]}


async def test_a_scoped_viewer_cannot_read_another_cells_incident(scoped: Scoped) -> None:
    _hub, clients, by_cell = scoped
    mine, theirs = by_cell["g-002"], by_cell["g-001"]
    viewer = clients["view-b"]
    for path in (f"/api/incidents/{theirs['id']}", f"/api/incidents/{theirs['id']}/audit"):
        foreign = await viewer.get(path)
        unknown = await viewer.get(path.replace(theirs["id"], "inc-does-not-exist"))
        assert (foreign.status_code, foreign.json()) == (404, unknown.json()), path
    assert (await viewer.get(f"/api/incidents/{mine['id']}")).status_code == 200
    assert _ids((await viewer.get("/api/incidents")).json()) == {mine["id"]}
    asked_for_theirs = await viewer.get("/api/incidents", params={"grid_cell": "g-001"})
    assert _ids(asked_for_theirs.json()) == set()
    assert _ids((await clients["view-a"].get("/api/incidents")).json()) == {theirs["id"]}
    both = (await clients["view-com"].get("/api/incidents")).json()  # the parent sees below it
    assert _ids(both) == {mine["id"], theirs["id"]}


async def test_a_scoped_viewer_sees_only_its_cells_alerts(scoped: Scoped) -> None:
    _hub, clients, by_cell = scoped
    mine = next(iter(by_cell["g-002"]["alerts"]))
    theirs = next(iter(by_cell["g-001"]["alerts"]))
    viewer = clients["view-b"]
    listed = {a["id"] for a in (await viewer.get("/api/alerts")).json()}
    assert listed == {mine}
    assert {a["id"] for a in (await clients["admin"].get("/api/alerts")).json()} == {mine, theirs}
    assert (await viewer.get(f"/api/alerts/{theirs}")).status_code == 404
    assert (await viewer.get(f"/api/alerts/{theirs}/snapshot.jpg")).status_code == 404
    assert (await viewer.get(f"/api/alerts/{mine}")).status_code == 200


async def test_a_scoped_operator_cannot_act_on_another_cells_incident(scoped: Scoped) -> None:
    _hub, clients, by_cell = scoped
    operator, admin = clients["op-b"], clients["admin"]
    theirs, mine = by_cell["g-001"]["id"], by_cell["g-002"]["id"]
    note = {"type": "note", "text": "不是我的 not mine"}
    refused = await operator.post(f"/api/incidents/{theirs}/events", json=note)
    assert refused.status_code == 404
    assert (await operator.get(f"/api/incidents/{theirs}/recommendations")).status_code == 404
    trail = (await admin.get(f"/api/incidents/{theirs}/audit")).json()
    assert all(record["event"] != "note" for record in trail)  # nothing was written
    claimed = await operator.post(f"/api/incidents/{mine}/events", json={"type": "claim"})
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["claimed_by"] == "op-b"


async def test_the_daily_report_counts_only_the_callers_cells(scoped: Scoped) -> None:
    _hub, clients, by_cell = scoped
    day = by_cell["g-001"]["created_at"][:10]
    query = {"day": day, "tz": "UTC"}
    everyone = (await clients["admin"].get("/api/reports/daily", params=query)).json()
    scoped_report = (await clients["view-b"].get("/api/reports/daily", params=query)).json()
    assert (everyone["counts"]["new"], scoped_report["counts"]["new"]) == (2, 1)


async def _frames(socket: websockets.ClientConnection, quiet_s: float) -> list[dict[str, Any]]:
    """Every frame until none comes for `quiet_s`."""
    frames = []
    while True:
        try:
            frames.append(json.loads(await asyncio.wait_for(socket.recv(), quiet_s)))
        except TimeoutError:
            return frames


async def test_the_live_socket_tells_a_scoped_viewer_only_of_its_cells(scoped: Scoped) -> None:
    hub, clients, by_cell = scoped

    def headers(name: str) -> dict[str, str]:
        return {"Origin": hub.base, "Cookie": f"xl_session={clients[name].cookies['xl_session']}"}

    url = ws_url(hub)
    async with (
        websockets.connect(url, additional_headers=headers("view-b")) as viewer,
        websockets.connect(url, additional_headers={**hub.auth, "Origin": hub.base}) as admin,
    ):
        await asyncio.sleep(0.1)  # subscribed before the publish
        await hub.publish(alert("cam-square", SQUARE, people=40, revision=1))  # g-001's
        admin_frames = await _frames(admin, 2.0)
        assert admin_frames and admin_frames[0]["alerts"][0]["camera_id"] == "cam-square"
        assert await _frames(viewer, 0.5) == []  # nothing about g-001 reached g-002's viewer
        await hub.publish(alert("cam-east", EAST_CELL, people=40, revision=1))  # its own
        seen = await _frames(viewer, 2.0)
        assert [a["camera_id"] for f in seen for a in f["alerts"]] == ["cam-east"]
        assert {i["id"] for f in seen for i in f["incidents"]} <= {by_cell["g-002"]["id"]}


async def test_changing_a_users_scope_ends_its_live_socket(scoped: Scoped) -> None:
    hub, clients, _by_cell = scoped
    cookie = {"Origin": hub.base, "Cookie": f"xl_session={clients['view-b'].cookies['xl_session']}"}
    users = {u["username"]: u["id"] for u in (await clients["admin"].get("/api/users")).json()}
    async with websockets.connect(ws_url(hub), additional_headers=cookie) as socket:
        await asyncio.sleep(0.1)
        changed = await clients["admin"].patch(
            f"/api/users/{users['view-b']}", json={"grid_scope": "g-001"}
        )
        assert changed.status_code == 200 and changed.json()["grid_scope"] == "g-001"
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(socket.recv(), 5)  # reconnects with the new scope
    assert _ids((await clients["view-b"].get("/api/incidents")).json()) == {_by_cell["g-001"]["id"]}


async def test_a_scope_must_name_a_grid_node_and_an_admin_has_none(scoped: Scoped) -> None:
    _hub, clients, _by_cell = scoped
    admin = clients["admin"]
    base = {"password": PASSWORD}
    unknown = await admin.post(
        "/api/users", json={**base, "username": "zhou", "role": "viewer", "grid_scope": "g-999"}
    )
    assert unknown.status_code == 422
    boss = {**base, "username": "boss", "role": "admin", "grid_scope": "g-001"}
    assert (await admin.post("/api/users", json=boss)).status_code == 422


async def test_the_map_shows_a_scoped_viewer_only_its_cells_incidents(scoped: Scoped) -> None:
    _hub, clients, by_cell = scoped

    def shown(view: dict[str, Any]) -> set[str]:
        return {f["properties"]["id"] for f in view["incidents"]["features"]}

    everyone = (await clients["admin"].get("/api/map")).json()
    assert shown(everyone) == {by_cell["g-001"]["id"], by_cell["g-002"]["id"]}
    viewer = await clients["view-b"].get("/api/map")
    assert viewer.status_code == 200 and shown(viewer.json()) == {by_cell["g-002"]["id"]}


async def test_a_scoped_operator_sees_and_manages_the_responders_serving_its_scope(
    scoped: Scoped,
) -> None:
    """The demo grid: r-wang serves g-001, r-zhao g-002, r-com-patrol the community above both;
    r-free serves no node (only unscoped callers see them)."""
    _hub, clients, _by_cell = scoped
    admin, operator = clients["admin"], clients["op-b"]  # op-b is scoped to g-002
    for responder_id in ("r-wang", "r-zhao", "r-com-patrol", "r-free"):
        created = await admin.post("/api/responders", json={"id": responder_id})
        assert created.status_code == 201, created.text
    listed = {r["id"] for r in (await operator.get("/api/responders")).json()}
    assert listed == {"r-zhao", "r-com-patrol"}
    everyone = {r["id"] for r in (await admin.get("/api/responders")).json()}
    assert everyone == {"r-wang", "r-zhao", "r-com-patrol", "r-free"}
    on_duty = {"availability": "available"}
    foreign = await operator.put("/api/responders/r-wang/availability", json=on_duty)
    unknown = await operator.put("/api/responders/r-nobody/availability", json=on_duty)
    assert (foreign.status_code, foreign.json()) == (404, unknown.json())
    mine = await operator.put("/api/responders/r-zhao/availability", json=on_duty)
    assert mine.status_code == 200 and mine.json()["availability"] == "available"
    wang = [r for r in (await admin.get("/api/responders")).json() if r["id"] == "r-wang"]
    assert wang[0]["availability"] != "available"  # the refused change wrote nothing


async def test_a_scoped_operator_registers_responders_only_within_its_scope(
    scoped: Scoped,
) -> None:
    """op-b (scoped to g-002) places people in g-002 only: not in another cell, not in the
    community above it, not nowhere, and not under an id the grid file lists elsewhere."""
    _hub, clients, _by_cell = scoped
    admin, operator = clients["admin"], clients["op-b"]
    refused = {
        "r-other-cell": ["g-001"], "r-above": ["com-tf"], "r-nowhere": [],
        "r-mixed": ["g-002", "g-001"], "r-wang": ["g-002"],  # the grid file puts r-wang in g-001
    }  # fmt: skip
    for responder_id, grid_ids in refused.items():
        answer = await operator.post("/api/responders", json={"id": responder_id,
                                                              "grid_ids": grid_ids})  # fmt: skip
        assert answer.status_code == 403, (responder_id, answer.text)
    mine = await operator.post("/api/responders", json={"id": "r-new", "grid_ids": ["g-002"]})
    assert mine.status_code == 201, mine.text
    anywhere = await admin.post("/api/responders", json={"id": "r-free"})
    assert anywhere.status_code == 201  # an unscoped caller places people anywhere, or nowhere
    stored = {r["id"] for r in (await admin.get("/api/responders")).json()}
    assert stored == {"r-new", "r-free"}  # the refusals wrote nothing


async def test_a_scoped_operator_ranks_and_dispatches_only_its_own_responders(
    scoped: Scoped,
) -> None:
    """Only r-wang (g-001) and r-free (no node) are available: the unscoped ranking would send
    one of them into g-002, but op-b's ranking never names them and its dispatch finds nobody."""
    _hub, clients, by_cell = scoped
    admin, operator = clients["admin"], clients["op-b"]
    for responder_id, availability in (("r-wang", "available"), ("r-free", "available"),
                                       ("r-zhao", "off_shift"), ("r-com-patrol", "unavailable")):
        body = {"id": responder_id, "availability": availability}
        assert (await admin.post("/api/responders", json=body)).status_code == 201
    mine = by_cell["g-002"]["id"]

    def named(ranking: dict[str, Any]) -> set[str]:
        listed = ranking["recommendations"] + ranking["rejected"]
        return {entry["responder_id"] for entry in listed}

    everyone = (await admin.get(f"/api/incidents/{mine}/recommendations")).json()
    assert {r["responder_id"] for r in everyone["recommendations"]} == {"r-wang", "r-free"}
    for kind in ("claim", "verify"):
        done = await operator.post(f"/api/incidents/{mine}/events", json={"type": kind})
        assert done.status_code == 200, done.text
    scoped_ranking = await operator.get(f"/api/incidents/{mine}/recommendations")
    assert named(scoped_ranking.json()) == {"r-zhao", "r-com-patrol"}
    assert scoped_ranking.json()["recommendations"] == []
    best = await operator.post(f"/api/incidents/{mine}/events", json={"type": "dispatch"})
    assert best.status_code == 409 and "no responder" in best.text, best.text
    chosen = {"type": "dispatch", "responder_id": "r-wang", "override": True, "reason": "near"}
    foreign = await operator.post(f"/api/incidents/{mine}/events", json=chosen)
    unknown = await operator.post(f"/api/incidents/{mine}/events",
                                  json={**chosen, "responder_id": "r-nobody"})  # fmt: skip
    assert (foreign.status_code, unknown.status_code) == (404, 404)
    as_unknown = unknown.json()["detail"].replace("r-nobody", "r-wang")
    assert foreign.json()["detail"] == as_unknown  # as if r-wang did not exist
    incident = (await admin.get(f"/api/incidents/{mine}")).json()
    assert incident["assignments"] == []  # nobody was sent
    sent = await admin.post(f"/api/incidents/{mine}/events", json={"type": "dispatch"})
    assert sent.status_code == 200, sent.text  # the unscoped admin may send r-wang or r-free
    assert {a["responder_id"] for a in sent.json()["assignments"]} <= {"r-wang", "r-free"}


async def test_the_map_shows_a_scoped_viewer_only_the_responders_serving_its_scope(
    scoped: Scoped,
) -> None:
    hub, clients, _by_cell = scoped
    admin = clients["admin"]
    for responder_id in ("r-wang", "r-zhao", "r-free"):
        created = await admin.post("/api/responders", json={"id": responder_id})
        async with httpx.AsyncClient(
            base_url=hub.base, headers={"Authorization": f"Bearer {created.json()['token']}"}
        ) as responder:
            position = {"location": {"lat": 30.657, "lon": 104.07},
                        "reported_at": datetime.now(UTC).isoformat()}  # fmt: skip
            assert (await responder.put("/api/me/position", json=position)).status_code == 200

    def shown(view: dict[str, Any]) -> set[str]:
        return {f["properties"]["id"] for f in view["responders"]["features"]}

    assert shown((await admin.get("/api/map")).json()) == {"r-wang", "r-zhao", "r-free"}
    assert shown((await clients["view-b"].get("/api/map")).json()) == {"r-zhao"}
    assert shown((await clients["view-com"].get("/api/map")).json()) == {"r-wang", "r-zhao"}
