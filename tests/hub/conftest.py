"""A real hub in the test's event loop: uvicorn on a free loopback port, SQLite or PostgreSQL."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import uvicorn
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.app import create_app
from hub.contracts import STREAM_ALERTS, Alert
from hub.gateway import CameraGateway
from hub.incident_store import IncidentStore
from hub.live import LiveFeed
from hub.settings import HubSettings
from hub.store import AlertStore
from tests.hub.incident_world import World, make_world
from xueliang.bus import InProcessBus

TOKEN = "hub-test-token-7c1e"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database per test: a SQLite file, or a new PostgreSQL database dropped after."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
        return
    try:
        admin = await asyncpg.connect(PG_ADMIN, timeout=3)
    except (OSError, asyncpg.PostgresError) as error:
        pytest.skip(f"no PostgreSQL server on 127.0.0.1:5432 ({type(error).__name__})")
    name = f"xl_test_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@dataclass
class Hub:
    base: str
    bus: InProcessBus
    store: AlertStore
    settings: HubSettings
    live: LiveFeed

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {TOKEN}"}

    async def publish(self, alert: Alert | bytes) -> None:
        data = alert if isinstance(alert, bytes) else alert.model_dump_json().encode()
        await self.bus.publish(STREAM_ALERTS, data)

    async def wait_stored(self, count: int, timeout_s: float = 5.0) -> None:
        async with asyncio.timeout(timeout_s):
            while await self.store.count() < count:  # noqa: ASYNC110 (polls the database)
                await asyncio.sleep(0.02)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a fresh database brought to the latest migration."""
    alerts = await AlertStore.open(database_url)  # runs the migrations
    try:
        yield alerts.engine
    finally:
        await alerts.close()


@pytest.fixture
def store(database: AsyncEngine) -> IncidentStore:
    return IncidentStore(database)


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[Hub]:
    async for running in _serve(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"):
        yield running


async def _serve(
    tmp_path: Path, database_url: str, gateway: CameraGateway | None = None, **overrides: Any
) -> AsyncIterator[Hub]:
    """`overrides`: more HubSettings fields (tokens, secret key, camera networks)."""
    port = free_port()
    settings = HubSettings(
        database_url=database_url,
        evidence_dir=tmp_path / "evidence",
        api_token=SecretStr(TOKEN),
        port=port,
        **overrides,
    )
    settings.evidence_dir.mkdir()
    bus = InProcessBus(retry_delay_s=0.05)
    store = await AlertStore.open(database_url)
    app = create_app(settings, bus, store, gateway=gateway)
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the hub did not start"
        await asyncio.sleep(0.02)
    try:
        yield Hub(f"http://127.0.0.1:{port}", bus, store, settings, app.state.live)
    finally:
        server.should_exit = True
        await task
        await bus.close()
        await store.close()


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    """The incident engine's world (tests/hub/incident_world.py) on each database."""
    made = await make_world(database_url)
    try:
        yield made
    finally:
        await made.alerts.close()
