"""Compare-and-set of a batch's updated incidents, on SQLite and PostgreSQL: every incident at
the version read is written, and one that moved on refuses the whole batch. PostgreSQL sends
the updates as array parameters of one statement per chunk of rows (asyncpg counts no
executemany), so a stale row in a later chunk must undo the chunks already applied."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub import incident_store
from hub.contracts import GeoPoint, Level
from hub.incident_store import IncidentStore, IncidentWrite, StaleIncidentError
from hub.lifecycle import (
    Actor,
    Claim,
    Incident,
    MarkFalse,
    Outcome,
    Queue,
    Role,
    open_incident,
    step,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
OPERATOR = Actor(id="op-li", role=Role.OPERATOR)


def opened(number: int) -> Outcome:
    """Even numbers have a cell and a place; odd ones neither (NULL columns in the update)."""
    placed = number % 2 == 0
    new = open_incident(
        f"inc-{number}", kind="crowd_gathering", colour=Level.YELLOW, at=T0,
        grid_cell="g-001" if placed else None,
        location=GeoPoint(lat=30.657, lon=104.066 + number / 1000) if placed else None,
    )  # fmt: skip
    return step(new, Queue(actor=Actor.system(), at=T0), T0)


async def stored_incidents(store: IncidentStore, count: int) -> list[Incident]:
    outcomes = [opened(number) for number in range(count)]
    await store.save_many([IncidentWrite(o.incident, None, o.audit) for o in outcomes])
    return [o.incident for o in outcomes]


def changed(incident: Incident, seconds: float) -> Outcome:
    """Claimed, or for every third one marked false (closed: closed_at set, is_open false)."""
    at = T0 + timedelta(seconds=seconds)
    claimed = step(incident, Claim(actor=OPERATOR, at=at), at)
    if int(incident.id.removeprefix("inc-")) % 3:
        return claimed
    return step(claimed.incident, MarkFalse(actor=OPERATOR, at=at, reason="a shadow"), at)


@pytest.mark.parametrize("rows_per_statement", [1000, 2])
async def test_every_incident_of_a_batch_is_written_at_its_new_version(
    store: IncidentStore, monkeypatch: pytest.MonkeyPatch, rows_per_statement: int
) -> None:
    monkeypatch.setattr(incident_store, "CAS_ROWS_PER_STATEMENT", rows_per_statement)
    before = await stored_incidents(store, 7)
    after = [changed(incident, 10) for incident in before]
    pairs = zip(before, after, strict=True)
    await store.save_many([IncidentWrite(o.incident, old.version, o.audit) for old, o in pairs])
    assert [await store.get(o.incident.id) for o in after] == [o.incident for o in after]
    assert (await store.get("inc-0")).is_closed  # type: ignore[union-attr]


@pytest.mark.parametrize("rows_per_statement", [1000, 2])
async def test_one_stale_update_among_several_writes_none_of_them(
    store: IncidentStore, monkeypatch: pytest.MonkeyPatch, rows_per_statement: int
) -> None:
    monkeypatch.setattr(incident_store, "CAS_ROWS_PER_STATEMENT", rows_per_statement)
    before = await stored_incidents(store, 5)
    moved = changed(before[4], 5)  # another writer changes the last one first
    await store.save_many([IncidentWrite(moved.incident, before[4].version, moved.audit)])
    late = [changed(incident, 10) for incident in before]  # all from the versions read before
    # Without their audit records, whose numbers would collide with the other writer's: only
    # the version check can refuse this batch.
    pairs = zip(before, late, strict=True)
    with pytest.raises(StaleIncidentError):
        await store.save_many([IncidentWrite(o.incident, old.version) for old, o in pairs])
    assert [await store.get(i.id) for i in before[:4]] == before[:4]  # the earlier rows undone
    assert await store.get("inc-4") == moved.incident
