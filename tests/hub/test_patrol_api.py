"""Video patrol over HTTP on SQLite and PostgreSQL: plans (validation, revisions), the append-only
patrol log (filters, coverage, the database refusing edits) and a report that opens an incident
with the operator as the actor and the log entry as evidence."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from hub import patrol_store
from hub.gateway import Credentials
from tests.hub.conftest import Hub, _serve
from tests.hub.incident_world import GRID_FILE, SQUARE
from tests.hub.test_login import add_user, signed_in
from xueliang.gateway import CameraAccess, network_policy

INTEGRATOR = "integrator-token-3e8c"
COLOURS = {"cam-a": (0, 0, 200), "cam-b": (200, 0, 0), "cam-c": (0, 160, 0)}  # BGR


class SnapshotGateway(CameraAccess):
    """The real gateway (URL checks), with a solid-colour JPEG per camera as its snapshot."""

    async def snapshot(
        self, stream_url: str, snapshot_url: str | None, credentials: Credentials
    ) -> bytes:
        camera_id = stream_url.rsplit("/", 1)[-1]
        image = np.zeros((90, 160, 3), np.uint8)
        image[:] = COLOURS.get(camera_id, (90, 90, 90))
        return bytes(cv2.imencode(".jpg", image)[1])


def camera(camera_id: str, tags: list[str], lat: float = SQUARE.lat) -> dict[str, Any]:
    return {"id": camera_id, "name": f"Camera {camera_id[-1].upper()}",
            "rtsp_url": f"rtsp://127.0.0.1:8554/{camera_id}", "tags": tags,
            "location": {"lat": lat, "lon": SQUARE.lon}}  # fmt: skip


async def serve_patrol_hub(tmp_path: Path, database_url: str) -> AsyncIterator[Hub]:
    """The real hub with the demo grid and three registered cameras (two tagged `plaza`)."""
    gateway = SnapshotGateway(network_policy("127.0.0.1/32"), timeout_s=2.0)
    async for hub in _serve(tmp_path, database_url, gateway, grid_file=GRID_FILE,
                            integrator_token=SecretStr(INTEGRATOR)):  # fmt: skip
        async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as admin:
            for body in (camera("cam-a", ["plaza"]), camera("cam-b", ["plaza"]),
                         camera("cam-c", [], lat=SQUARE.lat + 0.01)):  # fmt: skip
                assert (await admin.post("/api/cameras", json=body)).status_code == 201
        yield hub


@pytest.fixture
async def hub(tmp_path: Path, database_url: str) -> AsyncIterator[Hub]:
    async for running in serve_patrol_hub(tmp_path, database_url):
        yield running


@pytest.fixture
async def admin(hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth, timeout=10) as client:
        yield client


PLAN: dict[str, Any] = {"name": "广场 Plaza", "dwell_s": 5,
        "steps": [{"tag": "plaza"}, {"camera_id": "cam-c", "dwell_s": 20}]}  # fmt: skip


async def make_plan(admin: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    created = await admin.post("/api/patrol/plans", json={**PLAN, **changes})
    assert created.status_code == 201, created.text
    return dict(created.json())


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


async def test_plan_round_trip_with_resolved_route(admin: httpx.AsyncClient) -> None:
    plan = await make_plan(admin)
    assert [(s["camera_id"], s["dwell_s"]) for s in plan["route"]] == [
        ("cam-a", 5), ("cam-b", 5), ("cam-c", 20)]  # fmt: skip
    assert plan["revision"] == 0 and plan["on_shift"] is True
    assert (await admin.get(f"/api/patrol/plans/{plan['id']}")).json() == plan
    assert [p["id"] for p in (await admin.get("/api/patrol/plans")).json()] == [plan["id"]]
    changed = await admin.put(f"/api/patrol/plans/{plan['id']}", headers={"If-Match": '"0"'},
                              json={**PLAN, "steps": [{"camera_id": "cam-b"}]})  # fmt: skip
    assert changed.status_code == 200 and changed.json()["revision"] == 1
    assert [s["camera_id"] for s in changed.json()["route"]] == ["cam-b"]
    stale = await admin.put(f"/api/patrol/plans/{plan['id']}", headers={"If-Match": '"0"'},
                            json=PLAN)  # fmt: skip
    assert stale.status_code == 409
    assert (await admin.delete(f"/api/patrol/plans/{plan['id']}")).status_code == 204
    assert (await admin.get(f"/api/patrol/plans/{plan['id']}")).status_code == 404


PLAN_REFUSALS: list[tuple[dict[str, Any], str]] = [
    ({"dwell_s": 0}, "greater than or equal to 1"),
    ({"dwell_s": 3601}, "less than or equal to 3600"),
    ({"steps": []}, "at least 1"),
    ({"steps": [{"camera_id": "cam-a", "tag": "plaza"}]}, "either camera_id or tag"),
    ({"steps": [{"camera_id": "nope"}]}, "no such camera: nope"),
    ({"steps": [{"tag": "nobody-has-it"}]}, "the route is empty"),
    ({"name": ""}, "at least 1 character"),
    ({"shift": {"windows": [{"start": "25:00"}]}}, "not a time of day"),
    ({"colour": "red"}, "Extra inputs are not permitted"),
]  # one hub for the table: starting one per row would cost seconds each


async def test_plan_validation_errors_are_clear_422s(admin: httpx.AsyncClient) -> None:
    for changes, says in PLAN_REFUSALS:
        refused = await admin.post("/api/patrol/plans", json={**PLAN, **changes})
        assert (refused.status_code, says in refused.text) == (422, True), refused.text
    assert (await admin.get("/api/patrol/plans")).json() == []  # nothing half-made stays


async def test_position_agrees_with_the_dwell_times(admin: httpx.AsyncClient) -> None:
    plan = await make_plan(admin)
    anchor = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    query = {"anchor": iso(anchor), "at": iso(anchor + timedelta(seconds=30 + 7))}
    found = (await admin.get(f"/api/patrol/plans/{plan['id']}/position", params=query)).json()
    assert (found["camera_id"], found["lap"], found["index"]) == ("cam-b", 1, 1)
    assert found["next_switch_at"] == "2026-03-01T09:00:40Z"


async def test_snapshots_of_route_cameras_only(admin: httpx.AsyncClient) -> None:
    plan = await make_plan(admin, steps=[{"camera_id": "cam-a"}])
    shot = await admin.get(f"/api/patrol/plans/{plan['id']}/cameras/cam-a/snapshot.jpg")
    assert shot.status_code == 200 and shot.content[:2] == b"\xff\xd8"
    off_route = await admin.get(f"/api/patrol/plans/{plan['id']}/cameras/cam-b/snapshot.jpg")
    assert off_route.status_code == 404


async def test_log_is_append_only_filtered_and_covers_the_plan(
    hub: Hub, admin: httpx.AsyncClient
) -> None:
    plan = await make_plan(admin)
    now = datetime.now(UTC)
    views = [("cam-a", 9, 4), ("cam-b", 4, 2.5), ("cam-a", 2, 1)]  # camera, ago s, seen s
    for camera_id, ago_s, seen_s in views:
        start = now - timedelta(seconds=ago_s)
        body = {"plan_id": plan["id"], "camera_id": camera_id, "started_at": iso(start),
                "ended_at": iso(start + timedelta(seconds=seen_s))}  # fmt: skip
        written = await admin.post("/api/patrol/log", json=body)
        assert written.status_code == 201, written.text
        assert (written.json()["operator"], written.json()["seconds_viewed"]) == ("admin", seen_s)
    entry_id = written.json()["id"]
    day = now.date().isoformat()
    log = (await admin.get("/api/patrol/log", params={"day": day, "tz": "UTC"})).json()
    assert [(e["camera_id"], e["seconds_viewed"]) for e in log] == [(c, s) for c, _, s in views]
    by_camera = {"day": day, "tz": "UTC", "camera_id": "cam-b", "operator": "admin"}
    assert len((await admin.get("/api/patrol/log", params=by_camera)).json()) == 1
    nobody = {"day": day, "tz": "UTC", "operator": "someone-else"}
    assert (await admin.get("/api/patrol/log", params=nobody)).json() == []
    other_day = {"day": (now - timedelta(days=2)).date().isoformat(), "tz": "UTC"}
    assert (await admin.get("/api/patrol/log", params=other_day)).json() == []
    cover = (await admin.get(f"/api/patrol/plans/{plan['id']}/coverage",
                             params={"day": day, "tz": "UTC"})).json()  # fmt: skip
    assert (cover["planned"], cover["viewed"], cover["missed"]) == (3, 2, ["cam-c"])
    assert cover["ratio"] == 0.6667 and cover["seconds_viewed"] == 7.5
    for method in ("PUT", "PATCH", "DELETE"):  # no route changes the log
        answer = await admin.request(method, f"/api/patrol/log/{entry_id}", json={})
        assert answer.status_code in (404, 405)
    await assert_database_refuses_edits(hub, entry_id)


async def assert_database_refuses_edits(hub: Hub, entry_id: str) -> None:
    for statement in ("UPDATE patrol_log SET seconds_viewed = 0 WHERE id = :id",
                      "DELETE FROM patrol_log WHERE id = :id"):  # fmt: skip
        with pytest.raises(DBAPIError, match="append-only"):
            async with hub.store.engine.begin() as connection:
                await connection.execute(text(statement), {"id": entry_id})


LOG_REFUSALS: list[tuple[dict[str, Any], str]] = [
    ({"camera_id": "cam-z"}, "not on the route"),
    ({"plan_id": "plan-none"}, "no such patrol plan"),
    ({"started_at": "2026-03-01T09:00:00"}, "must carry a timezone"),
    ({"ended_at": "OLDER"}, "ended_at is before started_at"),
    ({"started_at": "FUTURE", "ended_at": "FUTURE"}, "in the future"),
    ({"started_at": "LONG_AGO", "ended_at": "LONG_AGO"}, "within 3600 s of its end"),
    ({"operator": "someone-else"}, "Extra inputs are not permitted"),
]


async def test_log_validation_errors_are_clear_422s(admin: httpx.AsyncClient) -> None:
    plan = await make_plan(admin)
    now = datetime.now(UTC)
    times = {"OLDER": now - timedelta(seconds=30), "FUTURE": now + timedelta(minutes=5),
             "LONG_AGO": now - timedelta(hours=2)}  # fmt: skip
    good = {"plan_id": plan["id"], "camera_id": "cam-a",
            "started_at": iso(now - timedelta(seconds=10)), "ended_at": iso(now)}  # fmt: skip
    for changes, says in LOG_REFUSALS:
        body = good | {key: iso(times[v]) if v in times else v for key, v in changes.items()}
        refused = await admin.post("/api/patrol/log", json=body)
        assert (refused.status_code, says in refused.text) == (422, True), refused.text
    day = {"day": now.date().isoformat(), "tz": "UTC"}
    assert (await admin.get("/api/patrol/log", params=day)).json() == []


async def test_report_opens_incident_at_the_camera_with_the_operator_as_actor(
    admin: httpx.AsyncClient,
) -> None:
    plan = await make_plan(admin)
    now = datetime.now(UTC)
    view = {"plan_id": plan["id"], "camera_id": "cam-a",
            "started_at": iso(now - timedelta(seconds=3)), "ended_at": iso(now)}  # fmt: skip
    entry = (await admin.post("/api/patrol/log", json=view)).json()
    report = {"log_entry_id": entry["id"], "kind": "fight", "note": "两人扭打 two men fighting"}
    opened = await admin.post("/api/patrol/reports", json=report)
    assert opened.status_code == 201, opened.text
    incident_id = opened.json()["incident_id"]
    incident = (await admin.get(f"/api/incidents/{incident_id}")).json()
    assert (incident["kind"], incident["colour"], incident["state"]) == (
        "fight", "orange", "pending_review")  # fmt: skip
    assert (incident["grid_cell"], incident["ring_min"]) == ("g-001", 1)  # Tianfu Square
    assert incident["location"] == {"lat": SQUARE.lat, "lon": SQUARE.lon}
    listed = (await admin.get("/api/incidents", params={"open": "true"})).json()["incidents"]
    assert [i["id"] for i in listed] == [incident_id]
    (record,) = (await admin.get(f"/api/incidents/{incident_id}/audit")).json()
    assert record["actor"] == {"id": "admin", "role": "operator"}
    assert record["evidence"] == [f"patrol-log:{entry['id']}", "camera:cam-a"]
    assert "two men fighting" in record["why"]
    again = await admin.post("/api/patrol/reports", json={**report, "kind": "fire"})
    assert again.status_code == 200  # the same view reported twice: one incident
    assert again.json() == {**opened.json(), "created": False}


REPORT_REFUSALS: list[tuple[dict[str, Any], int, str]] = [
    ({"log_entry_id": "view-none", "kind": "fire"}, 404, "no such patrol log entry"),
    ({"log_entry_id": "ENTRY", "kind": "riot"}, 422, "crowd_gathering"),
    ({"log_entry_id": "ENTRY", "kind": "other", "note": "x" * 481}, 422, "at most 480"),
]


async def test_report_refusals(admin: httpx.AsyncClient) -> None:
    plan = await make_plan(admin)
    now = datetime.now(UTC)
    view = {"plan_id": plan["id"], "camera_id": "cam-a", "started_at": iso(now),
            "ended_at": iso(now)}  # fmt: skip
    entry = (await admin.post("/api/patrol/log", json=view)).json()
    for body, status, says in REPORT_REFUSALS:
        named = body | ({"log_entry_id": entry["id"]} if body["log_entry_id"] == "ENTRY" else {})
        refused = await admin.post("/api/patrol/reports", json=named)
        assert (refused.status_code, says in refused.text) == (status, True), refused.text
    assert (await admin.get("/api/incidents")).json()["incidents"] == []


async def test_patrol_needs_a_reader_and_changes_need_an_operator(
    hub: Hub, admin: httpx.AsyncClient
) -> None:
    plan = await make_plan(admin)
    now = iso(datetime.now(UTC))
    view = {"plan_id": plan["id"], "camera_id": "cam-a", "started_at": now, "ended_at": now}
    calls = [("GET", "/api/patrol/plans", None), ("POST", "/api/patrol/plans", PLAN),
             ("POST", "/api/patrol/log", view), ("GET", "/api/patrol/log?day=2026-03-01", None),
             ("POST", "/api/patrol/reports", {"log_entry_id": "view-x", "kind": "fire"}),
             ("GET", f"/api/patrol/plans/{plan['id']}/cameras/cam-a/snapshot.jpg", None),
             ("GET", f"/api/patrol/plans/{plan['id']}/coverage?day=2026-03-01", None)]  # fmt: skip
    async with httpx.AsyncClient(base_url=hub.base) as anonymous:
        for method, path, body in calls:
            assert (await anonymous.request(method, path, json=body)).status_code == 401, path
            integrator = {"Authorization": f"Bearer {INTEGRATOR}"}  # cameras, not patrol
            refused = await anonymous.request(method, path, json=body, headers=integrator)
            assert refused.status_code == 403, path
    assert len((await admin.get("/api/patrol/plans")).json()) == 1


async def test_signed_in_operator_logs_and_reports_as_themselves(
    hub: Hub, admin: httpx.AsyncClient
) -> None:
    plan = await make_plan(admin)
    await add_user(hub, "wang.op", "operator")
    await add_user(hub, "li.view", "viewer")
    now = datetime.now(UTC)
    view = {"plan_id": plan["id"], "camera_id": "cam-b",
            "started_at": iso(now - timedelta(seconds=2)), "ended_at": iso(now)}  # fmt: skip
    async with signed_in(hub, "li.view") as viewer:
        assert (await viewer.get(f"/api/patrol/plans/{plan['id']}")).status_code == 200
        assert (await viewer.post("/api/patrol/log", json=view)).status_code == 403
    async with signed_in(hub, "wang.op") as operator:
        entry = (await operator.post("/api/patrol/log", json=view)).json()
        assert entry["operator"] == "wang.op"
        report = {"log_entry_id": entry["id"], "kind": "crowd_gathering"}
        theirs = await admin.post("/api/patrol/reports", json=report)
        assert theirs.status_code == 404  # nobody reports on another operator's view
        opened = await operator.post("/api/patrol/reports", json=report)
        assert opened.status_code == 201, opened.text
    incident_id = opened.json()["incident_id"]
    (record,) = (await admin.get(f"/api/incidents/{incident_id}/audit")).json()
    assert record["actor"] == {"id": "wang.op", "role": "operator"}
    mine = {"day": now.date().isoformat(), "tz": "UTC", "operator": "wang.op"}
    assert [e["id"] for e in (await admin.get("/api/patrol/log", params=mine)).json()] == [
        entry["id"]]  # fmt: skip


async def test_a_scoped_operator_patrols_only_its_cells_cameras(
    hub: Hub, admin: httpx.AsyncClient
) -> None:
    plan = await make_plan(admin)
    await add_user(hub, "op.square", "operator", grid_scope="g-001")  # cam-a, cam-b are there
    await add_user(hub, "op.east", "operator", grid_scope="g-002")
    now = datetime.now(UTC)
    view = {"plan_id": plan["id"], "camera_id": "cam-a",
            "started_at": iso(now - timedelta(seconds=2)), "ended_at": iso(now)}  # fmt: skip
    snapshot = f"/api/patrol/plans/{plan['id']}/cameras/cam-a/snapshot.jpg"
    async with signed_in(hub, "op.east") as east:
        assert (await east.get(snapshot)).status_code == 404
        assert (await east.post("/api/patrol/log", json=view)).status_code == 404
    async with signed_in(hub, "op.square") as square:
        assert (await square.get(snapshot)).status_code == 200
        entry = await square.post("/api/patrol/log", json=view)
        assert entry.status_code == 201, entry.text


async def test_a_scoped_operator_sees_and_changes_only_its_part_of_the_patrol_plans(
    hub: Hub, admin: httpx.AsyncClient
) -> None:
    """op.square (g-001) holds cam-a and cam-b; cam-c lies outside it and op.east (g-002) holds
    none of the three. A plan of all three shows op.square its part only and is op.square's to
    read, not to change; op.east does not see it at all."""
    plan = await make_plan(admin)
    path = f"/api/patrol/plans/{plan['id']}"
    await add_user(hub, "op.square", "operator", grid_scope="g-001")
    await add_user(hub, "op.east", "operator", grid_scope="g-002")
    async with signed_in(hub, "op.east") as east:
        assert (await east.get("/api/patrol/plans")).json() == []
        foreign = await east.get(path)
        unknown = await east.get("/api/patrol/plans/no-such-plan")
        assert (foreign.status_code, foreign.json()) == (404, unknown.json())
        assert (await east.get(f"{path}/coverage", params={"day": "2026-01-01"})).status_code == 404
    async with signed_in(hub, "op.square") as square:
        (listed,) = (await square.get("/api/patrol/plans")).json()
        assert [stop["camera_id"] for stop in listed["route"]] == ["cam-a", "cam-b"]
        assert listed["steps"] == [{"camera_id": None, "tag": "plaza", "dwell_s": None}]
        assert "cam-c" not in (await square.get(path)).text
        assert (await square.put(path, json=PLAN)).status_code == 403
        assert (await square.delete(path)).status_code == 403
        named_foreign = await square.post("/api/patrol/plans", json={
            **PLAN, "steps": [{"camera_id": "cam-c"}]})  # fmt: skip
        assert named_foreign.status_code == 422 and "cam-c" in named_foreign.text
        mine = await square.post("/api/patrol/plans", json={**PLAN, "steps": [{"tag": "plaza"}]})
        assert mine.status_code == 201, mine.text
        own_path = f"/api/patrol/plans/{mine.json()['id']}"
        assert (await square.put(own_path, json={**PLAN, "steps": [{"camera_id": "cam-a"}]})
                ).status_code == 200  # fmt: skip
    everything = (await admin.get(path)).json()
    assert [stop["camera_id"] for stop in everything["route"]] == ["cam-a", "cam-b", "cam-c"]
    assert everything["revision"] == 0  # the refused change wrote nothing


@pytest.mark.parametrize("max_in", [5000, 0], ids=["in-query", "large-scope"])
async def test_a_scoped_reader_reads_the_patrol_log_of_its_cameras_only(
    hub: Hub, admin: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, max_in: int
) -> None:
    monkeypatch.setattr(patrol_store, "MAX_IN", max_in)  # 0: as a scope of 5,001 cameras
    plan = await make_plan(admin)
    now = datetime.now(UTC)
    for age_s, camera_id in ((2, "cam-c"), (1, "cam-a")):  # another cell's view first
        started_at = iso(now - timedelta(seconds=age_s))
        view = {"plan_id": plan["id"], "camera_id": camera_id, "started_at": started_at,
                "ended_at": iso(now)}  # fmt: skip
        assert (await admin.post("/api/patrol/log", json=view)).status_code == 201
    await add_user(hub, "view.square", "viewer", grid_scope="g-001")
    day = {"day": now.date().isoformat(), "tz": "UTC"}
    everyone = (await admin.get("/api/patrol/log", params=day)).json()
    assert sorted(entry["camera_id"] for entry in everyone) == ["cam-a", "cam-c"]
    async with signed_in(hub, "view.square") as square:
        seen = (await square.get("/api/patrol/log", params=day)).json()
        first = (await square.get("/api/patrol/log", params=day | {"limit": 1})).json()
    assert [entry["camera_id"] for entry in seen] == ["cam-a"]
    assert [entry["camera_id"] for entry in first] == ["cam-a"]  # the limit counts its rows
