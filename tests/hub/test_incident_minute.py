"""Incidents' last change as a whole minute (migration 0009), on SQLite and PostgreSQL: the store
and the migration agree on the minute, lists still come newest change first to the second, and
on PostgreSQL an alert merging within the same minute is a HOT update (no index entry written,
no dead version left for vacuum) because no indexed column changed."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from hub.contracts import GeoPoint, Level
from hub.db import minute_of
from hub.incident_store import IncidentStore, IncidentWrite
from hub.lifecycle import Actor, Incident, MergeAlert, Queue, open_incident, step
from tests.hub.test_login_migration import _to

migration = importlib.import_module("hub.migrations.versions.0009_incident_change_minute")
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SYSTEM = Actor.system()


async def opened(store: IncidentStore, incident_id: str, at: datetime) -> Incident:
    new = open_incident(
        incident_id, kind="crowd_gathering", colour=Level.YELLOW, at=at, grid_cell="g-001",
        alert_id=f"alert-{incident_id}", location=GeoPoint(lat=30.657, lon=104.066),
    )  # fmt: skip
    outcome = step(new, Queue(actor=SYSTEM, at=at), at)
    await store.save_many([IncidentWrite(outcome.incident, None, outcome.audit)])
    return outcome.incident


async def merged(store: IncidentStore, incident: Incident, at: datetime, n: int) -> Incident:
    event = MergeAlert(actor=SYSTEM, at=at, alert_id=f"{incident.id}-more-{n}", colour=Level.YELLOW)
    outcome = step(incident, event, at)
    await store.save_many([IncidentWrite(outcome.incident, incident.version, outcome.audit)])
    return outcome.incident


BEIJING = timezone(timedelta(hours=8))


@pytest.mark.parametrize(
    "at",
    [T0, T0 + timedelta(seconds=59.999), datetime(2026, 3, 1, 17, 0, 30, tzinfo=BEIJING),
     datetime(1969, 12, 31, 23, 59, 30, tzinfo=UTC), datetime(2026, 3, 1, 9, 0, 30)],
)  # fmt: skip
def test_the_migration_and_the_store_agree_on_the_minute(at: datetime) -> None:
    assert migration.minute_of(at) == minute_of(at)
    assert migration.minute_of is not minute_of  # its own copy, frozen with the revision


def test_a_minute_is_whole_minutes_since_1970_in_utc() -> None:
    assert minute_of(datetime(1970, 1, 1, 0, 1, 59, tzinfo=UTC)) == 1
    assert minute_of(datetime(1970, 1, 1, 8, 1, tzinfo=BEIJING)) == 1
    assert minute_of(datetime(1969, 12, 31, 23, 59, 30, tzinfo=UTC)) == -1  # floor, not truncation


async def test_lists_come_newest_change_first_within_and_across_minutes(
    database: AsyncEngine,
) -> None:
    store = IncidentStore(database)
    # Changed at 09:00:10 (b), 09:00:50 (a), 09:01:05 (c), 09:01:40 (d): two per minute, and
    # within each minute the id order is the reverse of the change order.
    changes = {"inc-b": 10, "inc-a": 50, "inc-d": 100, "inc-c": 65}
    for incident_id, seconds in changes.items():
        incident = await opened(store, incident_id, T0)
        await merged(store, incident, T0 + timedelta(seconds=seconds), 1)
    assert [i.id for i in await store.search()] == ["inc-d", "inc-c", "inc-a", "inc-b"]
    assert [i.id for i in await store.search(open_only=True, limit=2)] == ["inc-d", "inc-c"]


async def test_an_alert_merging_within_the_minute_is_a_hot_update_on_postgresql(
    database: AsyncEngine,
) -> None:
    if database.dialect.name != "postgresql":
        pytest.skip("HOT updates are PostgreSQL's")
    store = IncidentStore(database)
    incident = await opened(store, "inc-1", T0)
    for n in range(5):  # within 09:00
        incident = await merged(store, incident, T0 + timedelta(seconds=5 + n), n)
    incident = await merged(store, incident, T0 + timedelta(seconds=61), 9)  # 09:01: not HOT
    async with database.connect() as connection:
        await connection.execute(text("SELECT pg_stat_force_next_flush()"))
        await connection.commit()
    async with database.connect() as connection:
        updates, hot = (await connection.execute(text(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'incidents'"
        ))).one()  # fmt: skip
    assert (updates, hot) == (6, 5)
    assert await store.get("inc-1") == incident


async def test_0009_backfills_the_minute_and_downgrades(database_url: str) -> None:
    engine = create_async_engine(database_url)
    changed = datetime(2026, 3, 1, 9, 7, 42, tzinfo=UTC)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_to("0008"))
            await connection.execute(
                text("INSERT INTO incidents (id, kind, colour, state, is_open, version, "
                     "created_at, updated_at, body) VALUES ('inc-1', 'crowd_gathering', 'yellow', "
                     "'pending_review', :yes, 1, :at, :at, '{}')"),
                {"at": changed, "yes": True},
            )  # fmt: skip
            await connection.run_sync(_to("head"))
            minute = await connection.scalar(text("SELECT updated_minute FROM incidents"))
            assert minute == minute_of(changed)
            indexes = await connection.run_sync(lambda c: inspect(c).get_indexes("incidents"))
            by_name = {index["name"]: index["column_names"] for index in indexes}
            assert by_name["ix_incidents_updated_minute"] == ["updated_minute"]
            assert "ix_incidents_updated_at" not in by_name
            assert not any("updated_at" in columns for columns in by_name.values())
            await connection.run_sync(_to("0008", downgrade=True))
            columns = await connection.run_sync(lambda c: inspect(c).get_columns("incidents"))
            assert "updated_minute" not in {column["name"] for column in columns}
            await connection.run_sync(_to("head"))
            assert await connection.scalar(text("SELECT updated_minute FROM incidents")) == minute
    finally:
        await engine.dispose()
