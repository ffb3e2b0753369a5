"""Alembic environment: runs on the connection the store hands over (see hub/migrate.py)."""

from __future__ import annotations

from alembic import context

from hub.db import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata)
with context.begin_transaction():
    context.run_migrations()
