"""The incident engine links a batch of alerts in one transaction, with the same result as one
alert at a time: alerts of one place merge into the incident the first opened, redelivered
batches change nothing, and a concurrent writer sends the batch back to one alert at a time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hub.contracts import Alert, AlertKind, Level
from hub.incident_linking import incident_id_for
from hub.incident_store import IncidentWrite, StaleIncidentError
from hub.lifecycle import Claim, Incident, MarkFalse
from hub.merge_candidates import OpenGuard
from tests.hub.incident_world import (
    EAST_CELL,
    NEAR_SQUARE,
    OPERATOR,
    World,
    alert,
    make_world,
    stored,
)


def mixed_batch() -> list[Alert]:
    return [
        alert("cam-1"),
        alert("cam-2", where=NEAR_SQUARE),  # joins cam-1's incident, opened in this batch
        alert("cam-3", where=EAST_CELL),  # another cell, about 380 m away: its own
        alert("cam-4", kind=AlertKind.DEVICE_FAULT),  # another kind: its own
        alert("cam-1", revision=1, level=Level.ORANGE),  # a newer report in the same batch
    ]


def summary(linked: dict[str, Incident]) -> dict[str, tuple[str, str, dict[str, int]]]:
    return {a: (i.id, i.colour.value, i.alerts) for a, i in linked.items()}


async def test_a_batch_links_like_one_alert_at_a_time(world: World, tmp_path: Path) -> None:
    batched = await world.engine.on_alerts(mixed_batch())
    one_by_one = await make_world(f"sqlite+aiosqlite:///{tmp_path / 'one-by-one.db'}")
    try:
        for item in mixed_batch():
            await one_by_one.engine.on_alert(item)
        singles = await final_states(one_by_one)
    finally:
        await one_by_one.alerts.close()
    assert await final_states(world) == singles
    square = incident_id_for(alert("cam-1").id)
    assert batched[alert("cam-2").id].id == square
    assert len({i.id for i in batched.values()}) == 3
    merged = await stored(world, square)
    assert merged == batched[alert("cam-1").id]  # each alert's incident as the batch left it
    assert (merged.colour, merged.alerts) == (Level.ORANGE, {alert("cam-1").id: 1,
                                                             alert("cam-2").id: 0})  # fmt: skip
    # Revision 0 of cam-1 was superseded within the batch: it opened at revision 1's colour.
    assert [why for _, _, why in await world.trail(square)] == ["queued_for_review", "alert_merged"]
    assert len(await world.changes()) == 4  # the outbox has every change, not one per incident


async def final_states(world: World) -> set[tuple[str, str, str, tuple[tuple[str, int], ...]]]:
    return {(i.id, i.state.value, i.colour.value, tuple(sorted(i.alerts.items())))
            for i in await world.engine.store.search()}  # fmt: skip


async def test_a_redelivered_batch_changes_nothing(world: World) -> None:
    first = await world.engine.on_alerts(mixed_batch())
    changes = await world.changes()
    world.clock.advance(30)
    again = await world.engine.on_alerts(mixed_batch())
    assert summary(again) == summary(first)
    assert await world.changes() == changes


async def test_a_later_batch_merges_into_incidents_stored_before(world: World) -> None:
    first = await world.engine.on_alert(alert("cam-1"))
    world.clock.advance(20)
    later = await world.engine.on_alerts([alert("cam-2", where=NEAR_SQUARE),
                                          alert("cam-3", where=EAST_CELL)])  # fmt: skip
    assert later[alert("cam-2").id].id == first.id
    assert later[alert("cam-3").id].id != first.id
    assert (await stored(world, first.id)).version == first.version + 1


async def test_a_closed_incident_in_a_batch_changes_nothing_and_the_rest_land(
    world: World,
) -> None:
    first = await world.engine.on_alert(alert("cam-1"))
    world.clock.advance(10)
    await world.engine.apply(first.id, Claim(actor=OPERATOR, at=world.clock()))
    closed = await world.engine.apply(first.id, MarkFalse(actor=OPERATOR, at=world.clock()))
    world.clock.advance(10)
    linked = await world.engine.on_alerts([alert("cam-1", revision=1, level=Level.RED),
                                           alert("cam-2", where=NEAR_SQUARE)])  # fmt: skip
    assert linked[alert("cam-1").id] == closed.incident  # still reporting: kept out of it
    assert linked[alert("cam-2").id].id != first.id  # a closed incident takes no new alert
    assert (await stored(world, first.id)) == closed.incident


async def test_a_batch_that_loses_a_race_is_linked_one_alert_at_a_time(world: World) -> None:
    store = world.engine.store
    real_save_many = store.save_many
    calls: list[int] = []

    async def lose_the_first(
        writes: Sequence[IncidentWrite], guard: OpenGuard | None = None
    ) -> None:
        calls.append(len(writes))
        if len(calls) == 1:
            raise StaleIncidentError("another hub got in first")
        await real_save_many(writes, guard)

    store.save_many = lose_the_first  # type: ignore[method-assign]
    linked = await world.engine.on_alerts(mixed_batch())
    assert calls[0] == 3 and len(calls) > 1  # the batch, then one alert at a time
    assert len({i.id for i in linked.values()}) == 3
    for item in mixed_batch():
        assert await store.incident_of_alert(item.id) == linked[item.id].id


async def test_every_change_of_a_batch_reaches_on_change_before_dispatching(
    world: World,
) -> None:
    seen: list[tuple[str, int]] = []

    def note(incident: Incident, change: Any) -> None:
        seen.append((incident.id, change.version))

    world.engine.on_change = note
    await world.engine.on_alerts(mixed_batch())
    square = incident_id_for(alert("cam-1").id)
    assert [v for i, v in seen if i == square] == [1, 2]
    assert len(seen) == 4


async def test_a_change_by_another_writer_is_read_again_before_merging(world: World) -> None:
    first = await world.engine.on_alert(alert("cam-1"))  # this engine holds version 1 now
    other = world.new_engine(world.alerts)  # another hub on the same database
    world.clock.advance(10)
    claimed = await other.apply(first.id, Claim(actor=OPERATOR, at=world.clock()))
    world.clock.advance(10)
    merged = await world.engine.on_alert(alert("cam-2", where=NEAR_SQUARE))
    assert merged.id == first.id
    assert merged.version == claimed.incident.version + 1  # on top of the claim, not beside it
    assert merged.claimed_by == OPERATOR.id
    assert merged.alerts.keys() == {alert("cam-1").id, alert("cam-2").id}


async def test_the_deadline_table_follows_merges_that_change_deadlines_and_those_that_dont(
    world: World,
) -> None:
    async def pending(incident_id: str) -> list[tuple[str, datetime]]:
        due = await world.engine.store.due(world.clock() + timedelta(days=30))
        return sorted((kind.value, at) for found, kind, _, at in due if found == incident_id)

    opened = await world.engine.on_alert(alert("cam-1"))
    assert await pending(opened.id) == sorted((d.kind.value, d.due_at) for d in opened.deadlines)
    world.clock.advance(5)
    same = await world.engine.on_alert(alert("cam-2", where=NEAR_SQUARE))  # same colour
    assert same.deadlines == opened.deadlines
    assert await pending(opened.id) == sorted((d.kind.value, d.due_at) for d in same.deadlines)
    world.clock.advance(5)
    red = await world.engine.on_alert(alert("cam-3", where=NEAR_SQUARE, level=Level.RED))
    assert red.deadlines != opened.deadlines  # a more severe colour pulls them in
    assert await pending(opened.id) == sorted((d.kind.value, d.due_at) for d in red.deadlines)
