"""Alembic environment.

Two ways in:
- The store (`hub/migrate.py`) hands over an open connection in `config.attributes["connection"]`
  and runs `upgrade head` on it, inside its own transaction.
- A developer runs the alembic CLI with `hub/migrations/alembic.ini`: the URL comes from
  `XUELIANG_DATABASE_URL` (else the ini's `sqlalchemy.url`), and an async engine is used.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from hub.db import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


_handed_over = context.config.attributes.get("connection")
if _handed_over is not None:
    _run(_handed_over)
elif context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
else:
    _url = os.environ.get("XUELIANG_DATABASE_URL") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if not _url:
        raise SystemExit("set XUELIANG_DATABASE_URL (or sqlalchemy.url in alembic.ini)")
    asyncio.run(_run_async(_url))
