"""The alert store on SQLite and PostgreSQL: migrations, idempotent upserts, filters."""

from __future__ import annotations

from datetime import timedelta

from hub.contracts import AlertStatus, Level
from hub.store import AlertStore
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
