"""Crowd alerts keep their density and trigger through the store and the API (stored whole)."""

from __future__ import annotations

import httpx

from hub.contracts import Level
from hub.store import AlertStore
from tests.factories import make_alert
from tests.hub.conftest import Hub


async def test_density_and_trigger_survive_a_store_round_trip(database_url: str) -> None:
    store = await AlertStore.open(database_url)
    try:
        dense = make_alert(density_per_m2=4.125, trigger="growth", level=Level.RED)
        plain = make_alert("cam-2")
        await store.upsert_many([dense, plain])
        assert await store.get(dense.id) == dense
        [listed] = await store.list(camera_id="cam-1")
        assert (listed.density_per_m2, listed.trigger) == (4.125, "growth")
        stored_plain = await store.get(plain.id)
        assert stored_plain is not None
        assert (stored_plain.density_per_m2, stored_plain.trigger) == (None, None)
    finally:
        await store.close()


async def test_density_and_trigger_reach_the_operator_api(hub: Hub) -> None:
    alert = make_alert(density_per_m2=2.5, trigger="hold", level=Level.ORANGE)
    await hub.publish(alert)
    await hub.wait_stored(1)
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as client:
        body = (await client.get(f"/api/alerts/{alert.id}")).json()
    assert (body["density_per_m2"], body["trigger"], body["level"]) == (2.5, "hold", "orange")
