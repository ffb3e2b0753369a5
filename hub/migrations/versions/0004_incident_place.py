"""Incidents' first-alert position as columns (lat, lon and a 0.01-degree tile key), so merge
candidates for a whole batch of alerts come from one indexed query, without parsing bodies.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import json
import math

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels = None
depends_on = None

_INCIDENTS = sa.table(
    "incidents",
    sa.column("id", sa.String),
    sa.column("body", sa.Text),
    sa.column("lat", sa.Float),
    sa.column("lon", sa.Float),
    sa.column("tile", sa.String),
)


TILE_DEG = 0.01  # frozen here: a migration must mean tomorrow what it meant when it was written


def tile_of(lat: float, lon: float) -> str:
    """The tile key as of this revision (hub.merging.tile_of then). Changing the live one
    needs a new migration that re-keys the stored tiles."""
    return f"{math.floor(lat / TILE_DEG)}:{math.floor(lon / TILE_DEG)}"


def upgrade() -> None:
    op.add_column("incidents", sa.Column("lat", sa.Float(), nullable=True))
    op.add_column("incidents", sa.Column("lon", sa.Float(), nullable=True))
    op.add_column("incidents", sa.Column("tile", sa.String(32), nullable=True))
    op.create_index("ix_incidents_open_tile", "incidents", ["is_open", "tile"])
    op.create_index("ix_incidents_open_cell", "incidents", ["is_open", "grid_cell"])
    _backfill()


def _backfill() -> None:
    """Existing incidents get their position from their JSON body (null when they have none)."""
    bind = op.get_bind()
    rows = bind.execute(sa.select(_INCIDENTS.c.id, _INCIDENTS.c.body)).all()
    for incident_id, body in rows:
        where = json.loads(body).get("location") or {}
        if "lat" in where and "lon" in where:
            lat, lon = float(where["lat"]), float(where["lon"])
            bind.execute(
                _INCIDENTS.update()
                .where(_INCIDENTS.c.id == incident_id)
                .values(lat=lat, lon=lon, tile=tile_of(lat, lon))
            )


def downgrade() -> None:
    op.drop_index("ix_incidents_open_cell", table_name="incidents")
    op.drop_index("ix_incidents_open_tile", table_name="incidents")
    with op.batch_alter_table("incidents") as table:  # SQLite rebuilds the table
        table.drop_column("tile")
        table.drop_column("lon")
        table.drop_column("lat")
