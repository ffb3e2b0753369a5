"""The incident store on SQLite and PostgreSQL: one transaction per change (incident, audit,
deadlines, alert links, outbox), compare-and-set on the version, an append-only audit trail the
database itself defends, and outbox cursors that never move back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.contracts import GeoPoint, Level
from hub.db import AuditRow, DeadlineRow, IncidentAlertRow, OutboxRow
from hub.incident_store import IncidentStore, IncidentWrite, StaleIncidentError
from hub.lifecycle import (
    Actor,
    Claim,
    DeadlineKind,
    Event,
    Incident,
    IncidentState,
    MarkFalse,
    Outcome,
    Queue,
    Role,
    Verify,
    open_incident,
    step,
)
from hub.merge_candidates import CandidateQuery
from hub.merging import MergeCandidate, tiles_near
from hub.outbox import IncidentChange

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
OPERATOR = Actor(id="op-li", role=Role.OPERATOR)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def opened(incident_id: str = "inc-1", colour: Level = Level.YELLOW) -> Outcome:
    new = open_incident(
        incident_id, kind="crowd_gathering", colour=colour, at=at(0), grid_cell="g-001",
        alert_id=f"alert-{incident_id}", location=GeoPoint(lat=30.657, lon=104.066),
    )  # fmt: skip
    return step(new, Queue(actor=Actor.system(), at=at(0)), at(0))


def change_of(outcome: Outcome) -> IncidentChange:
    incident, record = outcome.incident, outcome.audit[0]
    return IncidentChange(
        incident_id=incident.id, version=incident.version, at=record.at, event=record.event,
        actor_id=record.actor.id, state=incident.state.value, colour=incident.colour,
        gb_priority=incident.colour.gb_priority, kind=incident.kind,
    )  # fmt: skip


async def create(store: IncidentStore, incident_id: str = "inc-1") -> Incident:
    outcome = opened(incident_id)
    await store.save(
        outcome, previous_version=None, changes=[change_of(outcome)],
        link_alerts=[f"alert-{incident_id}"],
    )  # fmt: skip
    return outcome.incident


async def advance(store: IncidentStore, incident: Incident, event: Event) -> Outcome:
    outcome = step(incident, event, event.at)
    await store.save(outcome, previous_version=incident.version, changes=[change_of(outcome)])
    return outcome


async def count(database: AsyncEngine, table: type[object]) -> int:
    async with database.connect() as connection:
        query = select(func.count()).select_from(table)
        return int((await connection.execute(query)).scalar_one())


async def test_saved_incident_reads_back_equal(store: IncidentStore) -> None:
    incident = await create(store)
    assert incident.state is IncidentState.PENDING_REVIEW
    assert await store.get("inc-1") == incident
    assert await store.get("missing") is None
    assert await store.incident_of_alert("alert-inc-1") == "inc-1"
    assert await store.incident_of_alert("alert-other") is None
    assert [r.event for r in await store.audit("inc-1")] == ["queue"]
    assert [i.id for i in await store.search(state=IncidentState.PENDING_REVIEW)] == ["inc-1"]
    assert await store.search(colour="red") == []
    assert await store.incidents_by_id(["inc-1", "nope"]) == [incident]


async def test_newer_version_replaces_the_stored_one(store: IncidentStore) -> None:
    incident = await create(store)
    claimed = await advance(store, incident, Claim(actor=OPERATOR, at=at(12)))
    stored = await store.get("inc-1")
    assert stored == claimed.incident
    assert stored is not None and stored.version == 2 and stored.claimed_by == "op-li"
    assert [(r.seq, r.event) for r in await store.audit("inc-1")] == [(1, "queue"), (2, "claim")]


HERE = GeoPoint(lat=30.657, lon=104.066)  # where `opened` incidents are
AWAY = GeoPoint(lat=30.7, lon=104.066)  # about 4.8 km north


@pytest.mark.parametrize(
    ("kinds", "since", "cells", "places", "found"),
    [
        (["crowd_gathering"], at(-60), ["g-001"], [], ["inc-1"]),  # same cell
        (["crowd_gathering"], at(-60), [], [HERE], ["inc-1"]),  # in a tile near
        (["crowd_gathering"], at(-60), ["g-009"], [AWAY], []),  # another cell, far away
        (["loitering"], at(-60), ["g-001"], [HERE], []),  # another kind
        (["loitering", "crowd_gathering"], at(-60), ["g-001"], [], ["inc-1"]),
        (["crowd_gathering"], at(60), ["g-001"], [HERE], []),  # idle since at(0)
    ],
    ids=["cell", "box", "elsewhere", "kind", "kinds", "idle"],
)
async def test_merge_candidates_come_from_columns_by_cell_or_place(
    store: IncidentStore,
    kinds: list[str],
    since: datetime,
    cells: list[str],
    places: list[GeoPoint],
    found: list[str],
) -> None:
    incident = await create(store)
    tiles = {tile for place in places for tile in tiles_near(place, 150)}
    candidates = await store.merge_candidates(CandidateQuery(kinds, since, cells, tiles))
    assert [c.id for c in candidates] == found
    if found:
        assert candidates[0] == MergeCandidate(
            id="inc-1", kind="crowd_gathering", grid_cell="g-001", location=HERE,
            updated_at=incident.updated_at, version=incident.version,
        )  # fmt: skip


async def test_closed_incidents_are_no_merge_candidates(store: IncidentStore) -> None:
    incident = await create(store)
    mark = step(incident, MarkFalse(actor=OPERATOR, at=at(5), reason="a poster"), at(5))
    await store.save(mark, previous_version=incident.version)
    assert mark.incident.is_closed
    query = CandidateQuery(["crowd_gathering"], at(-60), ["g-001"], [])
    assert await store.merge_candidates(query) == []


async def test_alerts_linked_already_are_found_in_one_query(store: IncidentStore) -> None:
    await create(store, "inc-1")
    await create(store, "inc-2")
    found = await store.incidents_of_alerts(["alert-inc-2", "alert-inc-1", "alert-none"])
    assert found == {"alert-inc-1": "inc-1", "alert-inc-2": "inc-2"}


async def test_a_batch_with_one_stale_incident_writes_nothing(
    store: IncidentStore, database: AsyncEngine
) -> None:
    incident = await create(store, "inc-1")
    await advance(store, incident, Claim(actor=OPERATOR, at=at(12)))
    rows_before = [await count(database, t) for t in (AuditRow, DeadlineRow, OutboxRow)]
    new = opened("inc-2")
    late = step(incident, Claim(actor=OPERATOR, at=at(13)), at(13))  # from the old version
    writes = [
        IncidentWrite(new.incident, None, new.audit, [change_of(new)], ["alert-inc-2"]),
        IncidentWrite(late.incident, incident.version, late.audit, [change_of(late)]),
    ]
    with pytest.raises(StaleIncidentError):
        await store.save_many(writes)
    assert await store.get("inc-2") is None and await store.incident_of_alert("alert-inc-2") is None
    assert [await count(database, t) for t in (AuditRow, DeadlineRow, OutboxRow)] == rows_before


async def test_a_batch_writes_every_incident_and_its_whole_trail(store: IncidentStore) -> None:
    first = await create(store, "inc-1")
    claimed = step(first, Claim(actor=OPERATOR, at=at(12)), at(12))
    verified = step(claimed.incident, Verify(actor=OPERATOR, at=at(20), reason="seen"), at(20))
    new = opened("inc-2")
    await store.save_many([
        IncidentWrite(verified.incident, first.version, [*claimed.audit, *verified.audit],
                      [change_of(claimed), change_of(verified)]),
        IncidentWrite(new.incident, None, new.audit, [change_of(new)], ["alert-inc-2"]),
    ])  # fmt: skip
    assert await store.get("inc-1") == verified.incident
    assert await store.get("inc-2") == new.incident
    assert [r.event for r in await store.audit("inc-1")] == ["queue", "claim", "verify"]
    outbox = await store.entries_after(0, 10)
    versions = [(e.incident_id, IncidentChange.model_validate_json(e.body).version) for e in outbox]
    assert versions == [("inc-1", 1), ("inc-1", 2), ("inc-1", 3), ("inc-2", 1)]


async def test_stale_version_is_refused_and_writes_nothing(
    store: IncidentStore, database: AsyncEngine
) -> None:
    incident = await create(store)
    await advance(store, incident, Claim(actor=OPERATOR, at=at(12)))
    rows_before = [await count(database, table) for table in (AuditRow, DeadlineRow, OutboxRow)]
    other = Actor(id="op-zhao", role=Role.OPERATOR)
    late = step(incident, Claim(actor=other, at=at(13)), at(13))  # from the old version 1
    with pytest.raises(StaleIncidentError):
        await store.save(
            late, previous_version=incident.version, changes=[change_of(late)],
            link_alerts=["alert-late"],
        )  # fmt: skip
    stored = await store.get("inc-1")
    assert stored is not None and stored.claimed_by == "op-li"
    assert [await count(database, table) for table in (AuditRow, DeadlineRow, OutboxRow)] == (
        rows_before
    )
    assert await store.incident_of_alert("alert-late") is None


async def test_creating_an_existing_incident_is_refused(
    store: IncidentStore, database: AsyncEngine
) -> None:
    await create(store)
    again = opened("inc-1")
    with pytest.raises(StaleIncidentError):
        await store.save(again, previous_version=None, changes=[change_of(again)])
    assert await count(database, OutboxRow) == 1


async def test_an_alert_linked_twice_is_refused(
    store: IncidentStore, database: AsyncEngine
) -> None:
    first = await create(store, "inc-1")
    second = opened("inc-2")
    with pytest.raises(StaleIncidentError):
        await store.save(second, previous_version=None, link_alerts=["alert-inc-1"])
    assert await store.get("inc-2") is None  # the whole transaction rolled back
    assert await store.incident_of_alert("alert-inc-1") == first.id
    assert await count(database, IncidentAlertRow) == 1


async def test_two_writers_from_one_version_only_one_wins(
    store: IncidentStore, database: AsyncEngine
) -> None:
    incident = await create(store)
    claims = [
        step(incident, Claim(actor=Actor(id=f"op-{n}", role=Role.OPERATOR), at=at(10)), at(10))
        for n in range(4)
    ]
    results = await asyncio.gather(
        *(store.save(c, previous_version=1, changes=[change_of(c)]) for c in claims),
        return_exceptions=True,
    )
    winners = [r for r in results if r is None]
    assert len(winners) == 1
    assert all(isinstance(r, StaleIncidentError) for r in results if r is not None)
    assert [r.seq for r in await store.audit("inc-1")] == [1, 2]
    assert await count(database, OutboxRow) == 2


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE incident_audit SET event = 'forged' WHERE incident_id = 'inc-1'",
        "DELETE FROM incident_audit WHERE incident_id = 'inc-1'",
    ],
)
async def test_audit_rows_cannot_be_edited_or_deleted(
    store: IncidentStore, database: AsyncEngine, statement: str
) -> None:
    await create(store)
    with pytest.raises(DBAPIError, match="append-only"):  # the database itself refuses
        async with database.begin() as connection:
            await connection.execute(text(statement))
    assert [(r.seq, r.event) for r in await store.audit("inc-1")] == [(1, "queue")]


async def test_deadlines_are_mirrored_for_the_scheduler(store: IncidentStore) -> None:
    incident = await create(store)
    claim_due = incident.deadline(DeadlineKind.CLAIM)
    close_due = incident.deadline(DeadlineKind.CLOSE)
    assert claim_due is not None and close_due is not None
    assert await store.next_due_at() == claim_due.due_at
    assert await store.due(claim_due.due_at - timedelta(microseconds=1)) == []
    assert await store.due(claim_due.due_at) == [
        ("inc-1", DeadlineKind.CLAIM, None, claim_due.due_at)
    ]
    everything = await store.due(close_due.due_at)
    assert [(kind, due) for _, kind, _, due in everything] == [
        (DeadlineKind.CLAIM, claim_due.due_at),
        (DeadlineKind.CLOSE, close_due.due_at),
    ]
    assert len(await store.due(close_due.due_at, limit=1)) == 1
    claimed = await advance(store, incident, Claim(actor=OPERATOR, at=at(12)))
    verify_due = claimed.incident.deadline(DeadlineKind.VERIFY)
    assert verify_due is not None
    assert await store.next_due_at() == verify_due.due_at  # the claim deadline is gone
    kinds = {kind for _, kind, _, _ in await store.due(close_due.due_at)}
    assert kinds == {DeadlineKind.VERIFY, DeadlineKind.CLOSE}


async def test_no_deadline_pending_means_none_due(store: IncidentStore) -> None:
    assert await store.next_due_at() is None
    assert await store.due(at(10**7)) == []


async def test_outbox_ids_increase_in_commit_order(store: IncidentStore) -> None:
    incidents = [await create(store, f"inc-{n}") for n in range(3)]
    await asyncio.gather(*(advance(store, i, Claim(actor=OPERATOR, at=at(20))) for i in incidents))
    entries = await store.entries_after(0, 100)
    ids = [entry.id for entry in entries]
    assert len(ids) == 6 and ids == sorted(ids) and len(set(ids)) == 6
    bodies = [IncidentChange.model_validate_json(entry.body) for entry in entries]
    assert [b.event for b in bodies[:3]] == ["queue"] * 3
    assert sorted(b.incident_id for b in bodies[3:]) == ["inc-0", "inc-1", "inc-2"]
    assert all(entry.created_at.tzinfo is not None for entry in entries)
    assert [e.id for e in await store.entries_after(ids[2], 2)] == ids[3:5]
    assert await store.entries_after(ids[-1], 100) == []


async def test_outbox_ids_are_never_reused_after_pruning(
    store: IncidentStore, database: AsyncEngine
) -> None:
    first = await create(store, "inc-1")
    newest = (await store.entries_after(0, 10))[-1].id
    async with database.begin() as connection:  # a retention job prunes everything delivered
        await connection.execute(delete(OutboxRow))
    await advance(store, first, Claim(actor=OPERATOR, at=at(5)))
    (after,) = await store.entries_after(0, 10)
    assert after.id > newest  # a sink whose cursor is at `newest` still sees it


async def test_outbox_cursor_never_moves_back(store: IncidentStore) -> None:
    assert await store.cursor("webhook") == 0
    await store.advance("webhook", 5)
    assert await store.cursor("webhook") == 5
    await store.advance("webhook", 3)  # a slow, older delivery reports late
    assert await store.cursor("webhook") == 5
    await store.advance("webhook", 9)
    await store.advance("mqtt", 2)
    assert (await store.cursor("webhook"), await store.cursor("mqtt")) == (9, 2)


async def test_reports_read_audit_and_incidents_by_time(store: IncidentStore) -> None:
    first = await create(store, "inc-1")
    await advance(store, first, Claim(actor=OPERATOR, at=at(30)))
    between = await store.audit_between(at(10), at(60))
    assert [(r.incident_id, r.event) for r in between] == [("inc-1", "claim")]
    assert [r.seq for r in await store.audit_for(["inc-1"])] == [1, 2]
    assert await store.audit_for([]) == []
    assert [i.id for i in await store.incidents_during(at(-10), at(10))] == ["inc-1"]
    assert await store.incidents_during(at(-100), at(-10)) == []
