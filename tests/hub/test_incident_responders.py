"""Responders around an incident: red reports arriving together dispatch once, availability
follows the assignments that hold them, a re-dispatch prefers the lifecycle's next candidate, the
scheduler neither stops nor spins on a deadline it cannot fire, and responder tokens work in
loopback-only mode too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import insert

from hub.app import create_app
from hub.contracts import GeoPoint, Level
from hub.db import DeadlineRow
from hub.dispatch import Availability
from hub.incidents import EngineConfig
from hub.lifecycle import (
    Acknowledge,
    Actor,
    Arrive,
    AssignmentState,
    Claim,
    Close,
    CloseReason,
    Dispatch,
    Event,
    IncidentState,
    Recommend,
    RejectFeedback,
    Role,
    SubmitFeedback,
    Verify,
)
from hub.scheduler import DeadlineScheduler
from hub.settings import HubSettings
from hub.store import AlertStore
from tests.hub.incident_world import (
    EAST_CELL,
    NEAR_SQUARE,
    OPERATOR,
    T0,
    World,
    alert,
    dispatched_to_nearest,
    make_world,
    stored,
)
from xueliang.bus import InProcessBus

A = AssignmentState


@pytest.fixture
async def red_world(database_url: str) -> AsyncIterator[World]:
    made = await make_world(database_url, EngineConfig(auto_dispatch=frozenset({Level.RED})))
    try:
        yield made
    finally:
        await made.alerts.close()


async def test_red_reports_arriving_together_dispatch_once(red_world: World) -> None:
    world = red_world
    await world.responder("r-wang", GeoPoint(lat=30.6571, lon=104.0661))
    await world.responder("r-li", GeoPoint(lat=30.6600, lon=104.0630))
    first = await world.engine.on_alert(alert())  # yellow: nobody is sent yet
    world.clock.advance(5)
    cameras = [f"cam-{n}" for n in range(2, 6)]
    merged = await asyncio.gather(
        *(world.engine.on_alert(alert(c, where=NEAR_SQUARE, level=Level.RED)) for c in cameras)
    )
    assert {incident.id for incident in merged} == {first.id}
    after = await stored(world, first.id)
    assert [(a.responder_id, a.state) for a in after.assignments] == [("r-wang", A.NOTIFIED)]
    assert [e for _, e, _ in await world.trail(first.id)].count("dispatch") == 1
    assert await world.availability("r-li") is Availability.AVAILABLE


async def test_nobody_left_to_dispatch_leaves_the_incident_waiting(world: World) -> None:
    await world.responder("r-wang", GeoPoint(lat=30.6571, lon=104.0661))
    incident = await dispatched_to_nearest(world)
    world.clock.advance(121)
    await DeadlineScheduler(world.engine).tick()
    after = await stored(world, incident.id)
    assert [(a.responder_id, a.state) for a in after.assignments] == [("r-wang", A.TIMED_OUT)]
    assert after.state is IncidentState.DISPATCHING and not after.is_closed
    assert await world.availability("r-wang") is Availability.AVAILABLE


async def test_closing_releases_every_responder_it_held(red_world: World) -> None:
    world = red_world
    await world.responder("r-wang", GeoPoint(lat=30.6571, lon=104.0661))
    incident = await world.engine.on_alert(alert(level=Level.RED))
    assert await world.availability("r-wang") is Availability.COMMITTED
    world.clock.advance(10)
    closed = await world.engine.apply(
        incident.id, Close(actor=OPERATOR, at=world.clock(), close_reason=CloseReason.DUPLICATE)
    )
    assert closed.incident.assignments[-1].state is A.CANCELLED
    assert await world.availability("r-wang") is Availability.AVAILABLE
    assert await world.engine.store.due(world.clock() + timedelta(days=30)) == []


async def test_only_assignments_that_held_a_responder_release_them(world: World) -> None:
    await world.responder("r-li", GeoPoint(lat=30.6600, lon=104.0630))
    elsewhere = await world.engine.on_alert(alert("cam-3", where=EAST_CELL))
    for event in (Claim(actor=OPERATOR, at=T0), Verify(actor=OPERATOR, at=T0)):
        await world.engine.apply(elsewhere.id, event)
    await world.engine.apply(elsewhere.id, Dispatch(actor=OPERATOR, at=T0, responder_id="r-li"))
    assert await world.availability("r-li") is Availability.COMMITTED
    here = await world.engine.on_alert(alert())
    await world.engine.apply(here.id, Recommend(actor=Actor.system(), at=T0, responder_id="r-li"))
    closed = await world.engine.apply(
        here.id, Close(actor=OPERATOR, at=T0, close_reason=CloseReason.DUPLICATE)
    )
    assert closed.incident.assignments[-1].state is A.CANCELLED  # only ever recommended here
    assert await world.availability("r-li") is Availability.COMMITTED  # still on the other one


async def test_a_missed_ack_goes_to_the_pending_recommendation(world: World) -> None:
    await world.responder("r-wang", GeoPoint(lat=30.6571, lon=104.0661))  # nearest, in g-001
    await world.responder("r-li", GeoPoint(lat=30.6600, lon=104.0630))  # ranks second
    await world.responder("r-zhao", EAST_CELL)  # of g-002: ranked last, but recommended
    incident = await world.engine.on_alert(alert())
    for event in (Claim(actor=OPERATOR, at=T0), Verify(actor=OPERATOR, at=T0)):
        await world.engine.apply(incident.id, event)
    ranking = await world.engine.recommendations(await stored(world, incident.id))
    assert ranking.ids() == ["r-wang", "r-li", "r-zhao"]
    await world.engine.apply(incident.id, Recommend(actor=OPERATOR, at=T0, responder_id="r-zhao"))
    await world.engine.apply(incident.id, Dispatch(actor=OPERATOR, at=T0, responder_id="r-wang"))
    world.clock.advance(121)
    await DeadlineScheduler(world.engine).tick()
    after = await stored(world, incident.id)
    latest = {a.responder_id: a.state for a in after.assignments}
    assert latest == {"r-zhao": A.NOTIFIED, "r-wang": A.TIMED_OUT}


async def test_rework_goes_back_to_whoever_did_the_work(world: World) -> None:
    await world.responder("r-wang", GeoPoint(lat=30.6571, lon=104.0661))  # nearer, available
    await world.responder("r-li", GeoPoint(lat=30.6600, lon=104.0630))
    incident = await world.engine.on_alert(alert())
    li = Actor(id="r-li", role=Role.RESPONDER)
    steps: list[Event] = [
        Claim(actor=OPERATOR, at=T0),
        Verify(actor=OPERATOR, at=T0),
        Dispatch(actor=OPERATOR, at=T0, responder_id="r-li"),
        Acknowledge(actor=li, at=T0, responder_id="r-li"),
        Arrive(actor=li, at=T0, responder_id="r-li"),
        SubmitFeedback(actor=li, at=T0, responder_id="r-li"),
    ]
    for event in steps:
        await world.engine.apply(incident.id, event)
    assert await world.availability("r-li") is Availability.AVAILABLE
    rejected = RejectFeedback(actor=OPERATOR, at=T0, reason="crowd still there")
    await world.engine.apply(incident.id, rejected)
    after = await stored(world, incident.id)
    assert [(a.responder_id, a.state) for a in after.assignments] == [
        ("r-li", A.CLEARED), ("r-li", A.NOTIFIED),
    ]  # fmt: skip
    assert await world.availability("r-li") is Availability.COMMITTED
    assert await world.availability("r-wang") is Availability.AVAILABLE


async def test_scheduler_run_fires_and_stops(world: World) -> None:
    incident = await world.engine.on_alert(alert())
    world.clock.advance(121)
    scheduler = DeadlineScheduler(world.engine, poll_s=0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(scheduler.run(stop))
    async with asyncio.timeout(20):
        while (await stored(world, incident.id)).review_escalations == 0:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(task, timeout=20)
    assert scheduler.fired == 1 and scheduler.failed == 0


async def test_a_deadline_that_cannot_fire_is_counted_and_not_spun_on(world: World) -> None:
    ghost = {"incident_id": "ghost", "kind": "claim", "subject": "", "due_at": T0}
    async with world.alerts.engine.begin() as connection:
        await connection.execute(insert(DeadlineRow).values(**ghost))
    scheduler = DeadlineScheduler(world.engine, poll_s=0.1)
    assert await scheduler.tick() is False
    assert (scheduler.fired, scheduler.failed) == (0, 1)
    stop = asyncio.Event()
    task = asyncio.create_task(scheduler.run(stop))
    await asyncio.sleep(0.5)
    stop.set()
    await asyncio.wait_for(task, timeout=20)
    # One attempt per poll, not a busy loop on the stuck row (a slow machine makes fewer).
    assert 1 < scheduler.failed <= 20


async def test_loopback_mode_still_tells_responders_apart(tmp_path: Path) -> None:
    """Without an API token (loopback only) no token means admin, a responder's means them."""
    store = await AlertStore.open(f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}")
    settings = HubSettings(database_url="sqlite://", evidence_dir=tmp_path, api_token=None)
    app = create_app(settings, InProcessBus(), store)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as anyone:
            created = await anyone.post("/api/responders", json={"id": "r-li"})
            assert created.status_code == 201, created.text
            token = {"Authorization": f"Bearer {created.json()['token']}"}
            assert (await anyone.get("/api/me")).status_code == 403  # admin has no page
            me = await anyone.get("/api/me", headers=token)
            assert me.status_code == 200 and me.json()["id"] == "r-li"
            assert (await anyone.get("/api/responders", headers=token)).status_code == 403
    finally:
        await store.close()


async def test_scheduler_wakes_only_for_a_deadline_before_its_planned_wake_up(
    world: World,
) -> None:
    ticks: list[object] = []
    real_due = world.engine.store.due

    async def counted(now: Any, limit: int = 200) -> Any:
        ticks.append(now)
        return await real_due(now, limit)

    world.engine.store.due = counted  # type: ignore[method-assign]
    scheduler = DeadlineScheduler(world.engine, poll_s=30)  # nothing due: sleeps 30 s
    stop = asyncio.Event()
    task = asyncio.create_task(scheduler.run(stop))
    await asyncio.sleep(0.2)
    assert len(ticks) == 1
    scheduler.wake(world.clock() + timedelta(minutes=5))  # after the planned wake-up: no look
    await asyncio.sleep(0.2)
    assert len(ticks) == 1
    scheduler.wake(world.clock() + timedelta(seconds=1))  # before it: look again
    await asyncio.sleep(0.2)
    assert len(ticks) == 2
    scheduler.wake()  # no deadline given: always look
    await asyncio.sleep(0.2)
    assert len(ticks) == 3
    stop.set()
    await asyncio.wait_for(task, timeout=20)
