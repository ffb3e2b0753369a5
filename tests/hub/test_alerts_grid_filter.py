"""`GET /api/alerts?grid_cell=`: the hub's cell of each alert (its grid decides, as for scopes),
not the cell the worker reported; combined with the other filters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from hub.contracts import Level
from tests.hub.conftest import Hub, _serve
from tests.hub.incident_world import EAST_CELL, GRID_FILE, SQUARE, alert


@pytest.fixture
async def grid_hub(tmp_path: Path) -> AsyncIterator[Hub]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async for running in _serve(tmp_path, url, grid_file=GRID_FILE):
        yield running


async def test_alerts_filter_by_the_hubs_grid_cell(grid_hub: Hub) -> None:
    hub = grid_hub
    square = alert("cam-square", SQUARE, level=Level.RED)  # reported as "worker-zone-7"
    east = alert("cam-east", EAST_CELL, level=Level.YELLOW)
    await hub.publish(square)
    await hub.publish(east)
    await hub.wait_stored(2)
    async with httpx.AsyncClient(base_url=hub.base, headers=hub.auth) as client:

        async def ids(query: str) -> set[str]:
            response = await client.get(f"/api/alerts?{query}")
            assert response.status_code == 200, response.text
            return {found["id"] for found in response.json()}

        assert await ids("grid_cell=g-001") == {square.id}
        assert await ids("grid_cell=g-002") == {east.id}
        assert await ids("grid_cell=worker-zone-7") == set()  # the worker's name is not the hub's
        assert await ids("grid_cell=g-001&level=yellow") == set()
        assert await ids("") == {square.id, east.id}
        too_long = await client.get("/api/alerts", params={"grid_cell": "x" * 65})
        assert too_long.status_code == 422
