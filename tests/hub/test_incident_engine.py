"""The incident engine (shell) on SQLite and PostgreSQL with a controllable clock: alerts open or
merge incidents idempotently, red is dispatched on suspicion once, missed acknowledgements
re-dispatch and copy the grid leader, stored deadlines fire after a restart, and concurrent events
all land through compare-and-set retries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta

import pytest

from hub.contracts import AlertKind, GeoPoint, Level
from hub.dispatch import Availability
from hub.incident_linking import incident_id_for
from hub.incidents import EngineConfig
from hub.lifecycle import (
    Actor,
    AssignmentState,
    Claim,
    DeadlineKind,
    Event,
    IncidentState,
    MarkFalse,
    RaiseColour,
    Recommend,
)
from hub.scheduler import DeadlineScheduler
from hub.store import AlertStore
from tests.hub.incident_world import (
    EAST_CELL,
    NEAR_SQUARE,
    OPERATOR,
    SQUARE,
    T0,
    World,
    alert,
    dispatched_to_nearest,
    make_world,
    stored,
)

S = IncidentState
A = AssignmentState


@pytest.fixture
async def red_world(database_url: str) -> AsyncIterator[World]:
    made = await make_world(database_url, EngineConfig(auto_dispatch=frozenset({Level.RED})))
    try:
        yield made
    finally:
        await made.alerts.close()


async def test_alert_opens_an_incident_pending_review_with_claim_and_close_deadlines(
    world: World,
) -> None:
    incident = await world.engine.on_alert(alert())
    assert incident.id == incident_id_for(alert().id)
    assert incident.state is S.PENDING_REVIEW
    assert (incident.kind, incident.colour, incident.version) == ("crowd_gathering", "yellow", 1)
    assert incident.grid_cell == "g-001"  # from the hub's grid, not the worker's zone name
    assert incident.ring_min == 1  # Tianfu Square is a 1-minute ring
    assert incident.location == SQUARE
    assert incident.alerts == {alert().id: 0}
    deadlines = {d.kind: d.due_at for d in incident.deadlines}
    assert deadlines == {
        DeadlineKind.CLAIM: T0 + timedelta(seconds=120),
        DeadlineKind.CLOSE: T0 + timedelta(seconds=86_400),
    }
    assert await world.engine.store.next_due_at() == T0 + timedelta(seconds=120)
    assert await stored(world, incident.id) == incident
    assert await world.engine.store.incident_of_alert(alert().id) == incident.id
    (change,) = await world.changes()
    assert (change.event, change.state, change.version, change.gb_priority) == (
        "queue", "pending_review", 1, 3,
    )  # fmt: skip


async def test_redelivered_alert_changes_nothing(world: World) -> None:
    first = await world.engine.on_alert(alert())
    world.clock.advance(30)
    again = await world.engine.on_alert(alert())
    assert again == first
    assert await stored(world, first.id) == first
    assert await world.trail(first.id) == [(1, "queue", "queued_for_review")]
    assert len(await world.changes()) == 1


async def test_same_alert_from_two_hubs_at_once_opens_one_incident(world: World) -> None:
    second_store = await AlertStore.open(world.url)
    try:
        other = world.new_engine(second_store)
        opened = await asyncio.gather(
            world.engine.on_alert(alert()), other.on_alert(alert()), world.engine.on_alert(alert())
        )
    finally:
        await second_store.close()
    assert {incident.id for incident in opened} == {incident_id_for(alert().id)}
    assert len(await world.engine.store.search()) == 1
    assert [seq for seq, _, _ in await world.trail(opened[0].id)] == [1]


async def test_newer_revision_merges_and_raises_the_colour(world: World) -> None:
    first = await world.engine.on_alert(alert())
    world.clock.advance(30)
    newer = await world.engine.on_alert(alert(revision=1, level=Level.ORANGE, people=15))
    assert newer.id == first.id
    assert (newer.version, newer.colour, newer.alerts) == (2, Level.ORANGE, {alert().id: 1})
    world.clock.advance(30)
    older = await world.engine.on_alert(alert(revision=0))  # a late redelivery of revision 0
    assert older == newer
    assert [why for _, _, why in await world.trail(first.id)] == [
        "queued_for_review", "alert_merged_colour_raised",
    ]  # fmt: skip


async def test_second_camera_within_radius_merges_outside_opens_another(world: World) -> None:
    first = await world.engine.on_alert(alert("cam-1"))
    world.clock.advance(20)
    near = await world.engine.on_alert(alert("cam-2", where=NEAR_SQUARE))
    assert near.id == first.id
    assert set(near.alerts) == {alert("cam-1").id, alert("cam-2").id}
    assert await world.engine.store.incident_of_alert(alert("cam-2").id) == first.id
    far = await world.engine.on_alert(alert("cam-3", where=EAST_CELL))
    assert far.id != first.id
    assert far.grid_cell == "g-002" and far.ring_min == 5
    other_kind = await world.engine.on_alert(alert("cam-4", kind=AlertKind.DEVICE_FAULT))
    assert other_kind.id not in {first.id, far.id}
    assert len(await world.engine.store.search(open_only=True)) == 3


async def test_an_alert_after_the_merge_window_opens_a_new_incident(world: World) -> None:
    first = await world.engine.on_alert(alert("cam-1"))
    world.clock.advance(world.engine.config.merge.window_s + 1)
    late = await world.engine.on_alert(alert("cam-2", where=NEAR_SQUARE, started_s=700))
    assert late.id != first.id


async def test_an_alert_never_merges_into_a_closed_incident(world: World) -> None:
    first = await world.engine.on_alert(alert("cam-1"))
    world.clock.advance(10)
    await world.engine.apply(first.id, Claim(actor=OPERATOR, at=world.clock()))
    await world.engine.apply(first.id, MarkFalse(actor=OPERATOR, at=world.clock()))
    world.clock.advance(10)
    again = await world.engine.on_alert(alert("cam-2", where=NEAR_SQUARE))
    assert again.id != first.id and again.state is S.PENDING_REVIEW


async def test_reports_of_an_alert_whose_incident_closed_change_nothing(world: World) -> None:
    first = await world.engine.on_alert(alert())
    world.clock.advance(10)
    await world.engine.apply(first.id, Claim(actor=OPERATOR, at=world.clock()))
    closed = await world.engine.apply(first.id, MarkFalse(actor=OPERATOR, at=world.clock()))
    world.clock.advance(10)
    assert await world.engine.on_alert(alert()) == closed.incident  # redelivery
    newer = await world.engine.on_alert(alert(revision=1, level=Level.RED))  # still reporting
    assert newer == closed.incident
    assert [event for _, event, _ in await world.trail(first.id)] == [
        "queue", "claim", "mark_false",
    ]  # fmt: skip


async def test_auto_dispatch_for_red_dispatches_once(red_world: World) -> None:
    world = red_world
    await world.responder("r-wang", GeoPoint(lat=30.6571, lon=104.0661))
    await world.responder("r-li", GeoPoint(lat=30.6600, lon=104.0630))
    incident = await world.engine.on_alert(alert(level=Level.RED))
    assert incident.state is S.DISPATCHING
    assert [(a.responder_id, a.state) for a in incident.assignments] == [("r-wang", A.NOTIFIED)]
    assert any("in grid cell g-001" in reason for reason in incident.assignments[0].reasons)
    assert await world.availability("r-wang") is Availability.COMMITTED
    world.clock.advance(5)
    await world.engine.on_alert(alert(level=Level.RED))  # redelivered
    world.clock.advance(5)
    merged = await world.engine.on_alert(alert("cam-2", where=NEAR_SQUARE, level=Level.RED))
    assert merged.id == incident.id
    assert [a.responder_id for a in merged.assignments] == ["r-wang"]
    assert await world.availability("r-li") is Availability.AVAILABLE
    events = [event for _, event, _ in await world.trail(incident.id)]
    assert events == ["queue", "dispatch", "merge_alert"]
    yellow = await world.engine.on_alert(alert("cam-3", where=EAST_CELL))
    assert yellow.state is S.PENDING_REVIEW and yellow.assignments == []


async def test_a_merge_that_turns_an_incident_red_dispatches_it(red_world: World) -> None:
    world = red_world
    await world.responder("r-wang", GeoPoint(lat=30.6571, lon=104.0661))
    first = await world.engine.on_alert(alert())
    assert first.assignments == []
    world.clock.advance(10)
    red = await world.engine.on_alert(alert(revision=1, level=Level.RED))
    assert red.colour is Level.RED and red.state is S.DISPATCHING
    assert [a.responder_id for a in red.assignments] == ["r-wang"]


async def test_missed_ack_redispatches_and_escalates(world: World) -> None:
    await world.responder("r-wang", GeoPoint(lat=30.6571, lon=104.0661))  # A: 15 m away
    await world.responder("r-li", GeoPoint(lat=30.6600, lon=104.0630))  # B: 430 m away
    incident = await dispatched_to_nearest(world)
    assert [(a.responder_id, a.state) for a in incident.assignments] == [("r-wang", A.NOTIFIED)]
    assert (await world.availability("r-wang"), await world.availability("r-li")) == (
        Availability.COMMITTED, Availability.AVAILABLE,
    )  # fmt: skip
    ack = incident.deadline(DeadlineKind.ACKNOWLEDGE, "r-wang")
    assert ack is not None and ack.due_at == world.clock() + timedelta(seconds=120)
    scheduler = DeadlineScheduler(world.engine)

    world.clock.advance(119)
    await scheduler.tick()
    assert scheduler.fired == 0  # not due yet
    world.clock.advance(2)
    await scheduler.tick()
    assert scheduler.fired == 1

    after = await stored(world, incident.id)
    states = [(a.responder_id, a.state) for a in after.assignments]
    assert states == [("r-wang", A.TIMED_OUT), ("r-li", A.NOTIFIED)]
    assert after.ack_misses == 1 and after.state is S.DISPATCHING
    assert after.deadline(DeadlineKind.ACKNOWLEDGE, "r-wang") is None
    assert after.deadline(DeadlineKind.ACKNOWLEDGE, "r-li") is not None
    assert (await world.availability("r-wang"), await world.availability("r-li")) == (
        Availability.AVAILABLE, Availability.COMMITTED,
    )  # fmt: skip
    changes = await world.changes()
    missed = next(c for c in changes if c.event == "deadline_missed")
    assert (missed.responder_id, missed.assignment_state) == ("r-wang", "timed_out")
    leader = next(n for n in missed.notify if n["type"] == "notify_leader")
    assert (leader["leader_id"], leader["grid_node"], leader["grid_level"]) == (
        "r-g001-lead", "g-001", "grid_cell",
    )  # fmt: skip
    redispatch = changes[-1]
    assert (redispatch.event, redispatch.responder_id, redispatch.actor_id) == (
        "dispatch", "r-li", "system",
    )  # fmt: skip
    assert redispatch.why.startswith("dispatched: acknowledgement deadline missed")
    assert changes.index(missed) < changes.index(redispatch)


async def test_deadlines_fire_after_a_restart(database_url: str) -> None:
    first = await make_world(database_url)
    incident = await first.engine.on_alert(alert())
    await first.alerts.close()  # the hub stops; its deadlines stay in the database

    restarted = await make_world(database_url)
    try:
        restarted.clock.advance(121)  # the claim deadline fell due while the hub was down
        scheduler = DeadlineScheduler(restarted.engine)
        await scheduler.tick()
        assert scheduler.fired == 1
        after = await stored(restarted, incident.id)
        assert after.review_escalations == 1
        claim = after.deadline(DeadlineKind.CLAIM)
        assert claim is not None and claim.due_at == restarted.clock() + timedelta(seconds=120)
        assert [why for _, _, why in await restarted.trail(incident.id)] == [
            "queued_for_review", "claim_deadline_missed",
        ]  # fmt: skip
        await scheduler.tick()  # the same moment again: nothing more is due
        assert scheduler.fired == 1
    finally:
        await restarted.alerts.close()


async def test_concurrent_events_on_one_incident_all_land(world: World) -> None:
    incident = await world.engine.on_alert(alert())
    world.clock.advance(5)
    now = world.clock()
    events: Sequence[Event] = [
        Claim(actor=OPERATOR, at=now),
        RaiseColour(actor=OPERATOR, at=now, colour=Level.ORANGE),
        *(Recommend(actor=Actor.system(), at=now, responder_id=f"r-{n}") for n in range(6)),
    ]
    await asyncio.gather(*(world.engine.apply(incident.id, event) for event in events))
    after = await stored(world, incident.id)
    trail = await world.engine.store.audit(incident.id)
    assert [record.seq for record in trail] == list(range(1, len(events) + 2))
    assert after.version == len(events) + 1
    assert after.claimed_by == "op-li" and after.colour is Level.ORANGE
    assert {a.responder_id for a in after.assignments} == {f"r-{n}" for n in range(6)}
    assert [c.version for c in await world.changes()] == list(range(1, len(events) + 2))
