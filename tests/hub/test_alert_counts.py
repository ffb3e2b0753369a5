"""An alert's count over time: every report (revision) is one point, stored with the alert in one
transaction, on SQLite and PostgreSQL; a redelivery or a late older report adds nothing twice;
the API gives them oldest first to readers who may see the alert."""

from __future__ import annotations

import asyncio

import httpx

from hub.contracts import Level
from hub.store import AlertStore
from tests.factories import make_alert
from tests.hub.conftest import Hub


async def test_every_report_is_one_point_oldest_first(database_url: str) -> None:
    store = await AlertStore.open(database_url)
    try:
        first = make_alert(revision=0, people=9)
        third = make_alert(revision=2, people=21, level=Level.RED)
        await store.upsert_many([first])
        await store.upsert_many([third, first])  # a redelivery beside a newer report
        await store.upsert(make_alert(revision=1, people=14, level=Level.ORANGE))  # late, older
        points = await store.counts(first.id)
        assert [(p.revision, p.people_count, p.level) for p in points] == [
            (0, 9, Level.YELLOW), (1, 14, Level.ORANGE), (2, 21, Level.RED)]  # fmt: skip
        assert points[0].at < points[1].at < points[2].at
        assert (await store.get(first.id)) == third  # the alert itself is still the newest
        assert await store.counts("no-such-alert") == []
    finally:
        await store.close()


async def test_the_api_gives_an_alerts_counts(hub: Hub) -> None:
    reports = [make_alert(revision=n, people=people) for n, people in enumerate((9, 12, 16))]
    for report in reports:
        await hub.publish(report)
    path = f"/api/alerts/{reports[0].id}/counts"
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as client:
        async with asyncio.timeout(5):
            while len((await client.get(path)).json()) < 3:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        body = (await client.get(path)).json()
        assert [point["people_count"] for point in body] == [9, 12, 16]
        assert (await client.get("/api/alerts/nope/counts")).status_code == 404
    async with httpx.AsyncClient(base_url=hub.base) as anonymous:
        assert (await anonymous.get(path)).status_code == 401
