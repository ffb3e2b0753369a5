"""The closed loop through a real hub over HTTP: a crowd alert on the bus becomes an incident that
an operator claims, verifies and dispatches; responder A never acknowledges, the scheduler times
A out and re-dispatches to B, who acknowledges, departs, arrives, clears and reports back; the
operator checks and approves. The audit trail holds every step with who and why, and the daily
report's times match what the test measured around each request."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.contracts import Alert, GeoPoint
from hub.incident_config import load_engine_config
from hub.incident_store import IncidentStore
from hub.lifecycle import AssignmentState, AuditRecord, Incident, IncidentState
from hub.outbox import IncidentChange
from hub.reports import GroupBy, Stage, daily_report
from tests.factories import make_alert
from tests.hub.conftest import Hub, _serve

GRID_FILE = Path(__file__).parents[2] / "config" / "grid-demo.geojson"
SQUARE = GeoPoint(lat=30.657, lon=104.066)  # cell g-001 (leader r-g001-lead), 1-minute ring
ACK_S = 1.0
CONFIG = f"""
deadlines:
  yellow: {{acknowledge_s: {ACK_S}}}
  ring_arrive_s: {{1: 600, 3: 600, 5: 600}}
"""
SLACK = timedelta(milliseconds=5)  # stored timestamps are rounded to the microsecond
Client = httpx.AsyncClient


@pytest.fixture
async def hub(tmp_path: Path, database_url: str) -> AsyncIterator[Hub]:
    config = tmp_path / "incidents.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    async for running in _serve(
        tmp_path, database_url, grid_file=GRID_FILE, incident_config=config, deadline_poll_s=0.1
    ):
        yield running


@dataclass(frozen=True)
class Window:
    """When a request was sent and answered: the hub stamped its event in between."""

    sent: datetime
    done: datetime
    body: Any


def between(first: Window, second: Window) -> tuple[timedelta, timedelta]:
    """The range the recorded time from `first`'s event to `second`'s must fall in."""
    return second.sent - first.done - SLACK, second.done - first.sent + SLACK


async def timed(action: Callable[[], Awaitable[httpx.Response]], status: int = 200) -> Window:
    sent = datetime.now(UTC)
    response = await action()
    done = datetime.now(UTC)
    assert response.status_code == status, response.text
    return Window(sent, done, response.json())


async def poll(
    client: Client, path: str, done: Callable[[Any], bool], timeout_s: float = 30
) -> Window:
    """GET `path` until `done(body)`; the window spans from the first request to the last."""
    sent = datetime.now(UTC)
    async with asyncio.timeout(timeout_s):
        while True:
            response = await client.get(path)
            assert response.status_code == 200, response.text
            if done(response.json()):
                return Window(sent, datetime.now(UTC), response.json())
            await asyncio.sleep(0.05)


def crowd_alert(started_at: datetime) -> Alert:
    alert = make_alert("cam-square", location=SQUARE, grid_cell="square-zone", people=23)
    return alert.model_copy(
        update={"started_at": started_at, "updated_at": started_at + timedelta(seconds=2)}
    )


async def add_responder(admin: Client, responder_id: str, where: GeoPoint) -> Client:
    """Registered by the admin; returns a client holding the responder's own token."""
    body = {"id": responder_id, "name": responder_id, "availability": "available"}
    created = await admin.post("/api/responders", json=body)
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    client = Client(base_url=str(admin.base_url), headers={"Authorization": f"Bearer {token}"})
    position = {"location": where.model_dump(), "reported_at": datetime.now(UTC).isoformat()}
    assert (await client.put("/api/me/position", json=position)).status_code == 200
    return client


def assignments(body: Any) -> list[tuple[str, str]]:
    return [(a["responder_id"], a["state"]) for a in body["assignments"]]


async def test_crowd_alert_scenario_through_http(hub: Hub) -> None:
    async with Client(base_url=hub.base, headers=hub.auth) as admin:
        wang = await add_responder(admin, "r-wang", GeoPoint(lat=30.6572, lon=104.0662))  # A
        li = await add_responder(admin, "r-li", GeoPoint(lat=30.6600, lon=104.0630))  # B
        zhao = await add_responder(admin, "r-zhao", GeoPoint(lat=30.6570, lon=104.0700))
        try:
            await run_scenario(hub, admin, wang, li, zhao)
        finally:
            for client in (wang, li, zhao):
                await client.aclose()


async def run_scenario(hub: Hub, admin: Client, wang: Client, li: Client, zhao: Client) -> None:
    # Detection: the worker saw the crowd start 3 s before it publishes.
    started_at = datetime.now(UTC) - timedelta(seconds=3)
    alert = crowd_alert(started_at)
    published = datetime.now(UTC)
    await hub.publish(alert)
    seen = await poll(admin, "/api/incidents?open=true", lambda b: len(b["incidents"]) == 1)
    incident = Incident.model_validate(seen.body["incidents"][0])
    path = f"/api/incidents/{incident.id}"
    assert (incident.state, incident.grid_cell, incident.ring_min) == (
        IncidentState.PENDING_REVIEW, "g-001", 1,
    )  # fmt: skip
    assert published <= incident.created_at <= seen.done
    created = Window(published, seen.done, None)

    async def event(client: Client, body: dict[str, Any], status: int = 200) -> Window:
        return await timed(lambda: client.post(f"{path}/events", json=body), status)

    # The operator takes a moment, then claims and verifies.
    await asyncio.sleep(0.6)
    claimed = await event(admin, {"type": "claim"})
    await event(admin, {"type": "verify", "reason": "23 people on camera", "evidence": ["f-1"]})
    ranked = (await admin.get(f"{path}/recommendations")).json()
    order = [r["responder_id"] for r in ranked["recommendations"]]
    assert order[:2] == ["r-wang", "r-li"] and order[-1] == "r-zhao"
    first = ranked["recommendations"][0]
    assert any("in grid cell g-001" in reason for reason in first["reasons"])
    assert any("ETA" in reason for reason in first["reasons"])

    # Dispatch to the first recommendation; A (r-wang) never answers.
    dispatched = await event(admin, {"type": "dispatch", "reason": "nearest in the cell"})
    assert assignments(dispatched.body) == [("r-wang", "notified")]
    assert dispatched.body["assignments"][0]["reasons"] == first["reasons"]
    redispatched = await poll(admin, path, lambda b: ("r-li", "notified") in assignments(b))
    assert assignments(redispatched.body) == [("r-wang", "timed_out"), ("r-li", "notified")]

    # What responders may not do.
    assert (await zhao.get(path)).status_code == 404  # never assigned
    assert (await zhao.post(f"{path}/events", json={"type": "acknowledge"})).status_code == 404
    for_a = await li.post(f"{path}/events", json={"type": "acknowledge", "responder_id": "r-wang"})
    assert for_a.status_code == 403
    assert (await li.post(f"{path}/events", json={"type": "claim"})).status_code in (403, 422)
    assert (await li.get("/api/incidents")).status_code == 403
    assert (await li.get(f"{path}/audit")).status_code == 403
    mine = (await li.get("/api/me/incidents")).json()["incidents"]
    assert [item["id"] for item in mine] == [incident.id]

    # B acknowledges, goes, arrives, handles it and reports back.
    acked = await event(li, {"type": "acknowledge"})
    await event(li, {"type": "depart"})
    await asyncio.sleep(0.3)
    arrived = await event(li, {"type": "arrive", "evidence": ["gps:30.6571,104.0661"]})
    await event(li, {"type": "clear", "reason": "crowd dispersed"})
    await event(li, {"type": "submit_feedback", "reason": "dispersed, nobody hurt"})
    await event(admin, {"type": "start_check"})
    approved = await event(admin, {"type": "approve", "reason": "camera shows the square clear"})
    assert (approved.body["state"], approved.body["close_reason"]) == ("closed", "resolved")

    await check_audit(admin, path, dispatched)
    await check_people(admin)
    await check_outbox(hub, incident.id)
    await check_metrics(
        hub, alert, incident.id,
        {"created": created, "claimed": claimed, "dispatched": dispatched, "acked": acked,
         "arrived": arrived, "approved": approved},
    )  # fmt: skip


async def check_audit(admin: Client, path: str, dispatched: Window) -> None:
    trail = [AuditRecord.model_validate(item) for item in (await admin.get(f"{path}/audit")).json()]
    steps = [(r.event, r.actor.id, r.responder_id, r.to_state.value) for r in trail]
    assert steps == [
        ("queue", "system", None, "pending_review"),
        ("claim", "admin", None, "pending_review"),
        ("verify", "admin", None, "pending_review"),
        ("dispatch", "admin", "r-wang", "dispatching"),
        ("deadline_missed", "system", "r-wang", "dispatching"),
        ("dispatch", "system", "r-li", "dispatching"),
        ("acknowledge", "r-li", "r-li", "assigned"),
        ("depart", "r-li", "r-li", "assigned"),
        ("arrive", "r-li", "r-li", "on_scene"),
        ("clear", "r-li", "r-li", "on_scene"),
        ("submit_feedback", "r-li", "r-li", "feedback_submitted"),
        ("start_check", "admin", None, "verifying"),
        ("approve", "admin", None, "closed"),
    ]
    assert [r.seq for r in trail] == list(range(1, len(trail) + 1))
    assert all(r.why for r in trail)
    by_event = {r.event: r for r in trail}
    assert by_event["verify"].why == "confirmed: 23 people on camera"
    assert by_event["verify"].evidence == ["f-1"]
    assert by_event["arrive"].evidence == ["gps:30.6571,104.0661"]
    missed = by_event["deadline_missed"]
    assert missed.assignment_to is AssignmentState.TIMED_OUT
    assert missed.at >= dispatched.sent + timedelta(seconds=ACK_S)  # not before the deadline
    assert trail[5].why == "dispatched: acknowledgement deadline missed"
    assert by_event["approve"].why == "check_passed_resolved: camera shows the square clear"


async def check_people(admin: Client) -> None:
    people = {r["id"]: r["availability"] for r in (await admin.get("/api/responders")).json()}
    assert people == {"r-wang": "available", "r-li": "available", "r-zhao": "available"}


async def check_outbox(hub: Hub, incident_id: str) -> None:
    entries = await IncidentStore(hub.store.engine).entries_after(0, 100)
    changes = [IncidentChange.model_validate_json(entry.body) for entry in entries]
    assert [c.version for c in changes] == list(range(1, 14))
    assert {c.incident_id for c in changes} == {incident_id}
    missed = next(c for c in changes if c.event == "deadline_missed")
    leader = next(n for n in missed.notify if n["type"] == "notify_leader")
    assert (leader["leader_id"], leader["grid_node"]) == ("r-g001-lead", "g-001")


async def check_metrics(hub: Hub, alert: Alert, incident_id: str, at: dict[str, Window]) -> None:
    """The daily report (per UTC day the trail touched) from the stored audit trail."""
    store = IncidentStore(hub.store.engine)
    assert hub.settings.incident_config is not None
    policy = load_engine_config(hub.settings.incident_config).policy
    start = datetime.combine(alert.started_at.date(), datetime.min.time(), UTC)
    incidents = await store.incidents_during(start, datetime.now(UTC) + timedelta(seconds=1))
    audit = await store.audit_for([i.id for i in incidents])
    reports = [
        daily_report(
            audit, incidents, day=day, tz="UTC", policy=policy,
            alert_sources={alert.id: (alert.camera_id, alert.rule_id)},
            detected_at={incident_id: alert.started_at},
        )
        for day in sorted({r.at.date() for r in audit})
    ]  # fmt: skip
    rows = [row for report in reports for row in report.stages if row.group_by is GroupBy.ALL]
    assert all(row.count == 1 for row in rows)
    measured = {row.stage: timedelta(seconds=row.p50_s) for row in rows}
    expected = {
        Stage.DETECT: (
            at["created"].sent - alert.started_at,
            at["created"].done - alert.started_at,
        ),
        Stage.CLAIM: between(at["created"], at["claimed"]),
        Stage.ACKNOWLEDGE: between(at["dispatched"], at["acked"]),
        Stage.ARRIVE: between(at["acked"], at["arrived"]),
        Stage.DETECTED_TO_ARRIVE: between(at["created"], at["arrived"]),
        Stage.CLOSE: between(at["created"], at["approved"]),
    }
    for stage, (low, high) in expected.items():
        assert low <= measured[stage] <= high, (stage, low, measured[stage], high)
    assert measured[Stage.DETECT] >= timedelta(seconds=3)  # the worker's 3 s
    assert measured[Stage.CLAIM] >= timedelta(seconds=0.6)  # the operator's pause
    assert measured[Stage.ACKNOWLEDGE] >= timedelta(seconds=ACK_S)  # A's lapse included
    assert measured[Stage.ARRIVE] >= timedelta(seconds=0.3)
    # Per assignment only B acknowledged, counted from B's own notification after A's lapse.
    assert measured[Stage.ACKNOWLEDGE_ASSIGNMENT] < measured[Stage.ACKNOWLEDGE]
    by_responder = [
        row.group
        for report in reports
        for row in report.stages
        if row.group_by is GroupBy.RESPONDER and row.stage is Stage.ACKNOWLEDGE_ASSIGNMENT
    ]
    assert by_responder == ["r-li"]
    counts = [report.counts for report in reports]
    assert sum(c.new for c in counts) == 1 and sum(c.closed for c in counts) == 1
    assert sum(c.missed_deadlines["acknowledge"] for c in counts) == 1
    rates = {
        (row.metric, row.group_by, row.group): (row.count, row.rate)
        for report in reports
        for row in [*report.on_time_arrival, *report.false_alarm]
    }
    assert rates[("on_time_arrival", GroupBy.RING, "1")] == (1, 1.0)
    assert rates[("false_alarm", GroupBy.CAMERA, "cam-square")] == (1, 0.0)
