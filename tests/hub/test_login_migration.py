"""Migration 0005 on SQLite and PostgreSQL: users and sessions tables, and the alerts' grid cell
column backfilled from stored bodies; downgrading removes them and upgrading again works."""

from __future__ import annotations

from collections.abc import Callable

from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from hub.migrate import _config
from tests.factories import make_alert


def _to(revision: str, downgrade: bool = False) -> Callable[[Connection], None]:
    def run(connection: Connection) -> None:
        step = command.downgrade if downgrade else command.upgrade
        step(_config(connection), revision)

    return run


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_0005_adds_users_and_backfills_alert_cells(database_url: str) -> None:
    engine = create_async_engine(database_url)
    alert = make_alert("cam-1", grid_cell="g-007")
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_to("0004"))
            await connection.execute(
                text("INSERT INTO alerts (id, revision, camera_id, kind, level, status, "
                     "started_at, updated_at, body) VALUES (:id, 0, 'cam-1', 'crowd_gathering', "
                     "'yellow', 'active', :at, :at, :body)"),
                {"id": alert.id, "at": alert.started_at, "body": alert.model_dump_json()},
            )  # fmt: skip
            await connection.run_sync(_to("head"))
            cell = await connection.scalar(text("SELECT grid_cell FROM alerts"))
            assert cell == "g-007"
            assert {"users", "user_sessions"} <= await connection.run_sync(_tables)
            await connection.run_sync(_to("0004", downgrade=True))
            assert not {"users", "user_sessions"} & await connection.run_sync(_tables)
            await connection.run_sync(_to("head"))
            assert await connection.scalar(text("SELECT grid_cell FROM alerts")) == "g-007"
    finally:
        await engine.dispose()
