"""The alert store on SQLite and PostgreSQL: migrations, idempotent upserts, filters."""

from __future__ import annotations

import asyncio
from datetime import timedelta, timezone
from pathlib import Path

import pytest

from hub.contracts import AlertStatus, Level
from hub.store import SQLITE_BUSY_TIMEOUT_MS, AlertStore
from tests.factories import T0, make_alert


async def test_upsert_is_idempotent_by_id_and_revision(database_url: str) -> None:
    store = await AlertStore.open(database_url)
    try:
        first = make_alert(revision=0, people=9)
        assert await store.upsert(first) is True
        assert await store.upsert(first) is False  # a redelivery changes nothing
        newer = make_alert(revision=1, people=12, level=Level.ORANGE)
        assert await store.upsert(newer) is True
        assert await store.upsert(first) is False  # an older report never steps back
        stored = await store.get(first.id)
        assert stored == newer
        assert await store.count() == 1
    finally:
        await store.close()


async def test_list_filters_and_orders_newest_first(database_url: str) -> None:
    store = await AlertStore.open(database_url)
    try:
        alerts = [
            make_alert("cam-1", started_s=0),
            make_alert("cam-2", started_s=60, level=Level.RED),
            make_alert("cam-1", started_s=120, status=AlertStatus.ENDED),
        ]
        for alert in alerts:
            await store.upsert(alert)
        assert [a.id for a in await store.list()] == [a.id for a in reversed(alerts)]
        assert [a.id for a in await store.list(camera_id="cam-1")] == [alerts[2].id, alerts[0].id]
        assert [a.id for a in await store.list(level=Level.RED)] == [alerts[1].id]
        assert [a.id for a in await store.list(status=AlertStatus.ENDED)] == [alerts[2].id]
        since = T0 + timedelta(seconds=60)
        assert {a.id for a in await store.list(since=since)} == {alerts[1].id, alerts[2].id}
        assert len(await store.list(limit=2)) == 2
        assert await store.get("unknown") is None
    finally:
        await store.close()


async def test_reopening_keeps_data_and_migrations_are_not_rerun(database_url: str) -> None:
    store = await AlertStore.open(database_url)
    await store.upsert(make_alert())
    await store.close()
    again = await AlertStore.open(database_url)
    try:
        assert await again.count() == 1
        assert await again.ping()
    finally:
        await again.close()


async def test_since_in_another_time_zone_means_the_same_instant(database_url: str) -> None:
    store = await AlertStore.open(database_url)
    try:
        early, late = make_alert("cam-1", started_s=0), make_alert("cam-2", started_s=3600)
        await store.upsert(early)
        await store.upsert(late)
        beijing = timezone(timedelta(hours=8))
        since = (late.updated_at - timedelta(seconds=1)).astimezone(beijing)
        assert [a.id for a in await store.list(since=since)] == [late.id]
    finally:
        await store.close()


async def test_concurrent_reports_keep_the_newest_revision(database_url: str) -> None:
    store = await AlertStore.open(database_url)
    try:
        reports = [make_alert(revision=r, people=10 + r) for r in (3, 1, 4, 0, 2, 4)]
        results = await asyncio.gather(*(store.upsert(report) for report in reports))
        # Whichever copy of revision 4 lands first wins; the other changes nothing.
        assert sorted([results[2], results[5]]) == [False, True]
        stored = await store.get(reports[0].id)
        assert stored is not None and stored.revision == 4 and stored.people_count == 14
    finally:
        await store.close()


async def test_hubs_opening_a_fresh_database_together_migrate_once(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("one hub per SQLite file (embedded mode)")
    stores = await asyncio.gather(*(AlertStore.open(database_url) for _ in range(3)))
    try:
        assert [await store.count() for store in stores] == [0, 0, 0]
    finally:
        for store in stores:
            await store.close()


async def test_a_sqlite_store_logs_ahead_and_syncs_every_commit(tmp_path: Path) -> None:
    store = await AlertStore.open(f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}")
    try:
        async with store.engine.connect() as connection:
            mode = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar()
            synchronous = (await connection.exec_driver_sql("PRAGMA synchronous")).scalar()
            timeout_ms = (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar()
    finally:
        await store.close()
    assert (mode, synchronous, timeout_ms) == ("wal", 2, SQLITE_BUSY_TIMEOUT_MS)  # 2: FULL
