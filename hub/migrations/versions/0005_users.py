"""Console users and their server-side sessions; alerts get their grid cell as a column, so a
user scoped to part of the grid lists alerts with one indexed query.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels = None
depends_on = None

_WHEN = sa.DateTime(timezone=True)
_ALERTS = sa.table(
    "alerts", sa.column("id", sa.String), sa.column("body", sa.Text),
    sa.column("grid_cell", sa.String),
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("grid_scope", sa.String(64), nullable=True),
        sa.Column("responder_id", sa.String(64), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
    )
    op.create_table(
        "user_sessions",
        sa.Column("id_sha256", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("expires_at", _WHEN, nullable=False),
    )
    op.create_index("ix_user_sessions_user_id", "user_sessions", ["user_id"])
    op.create_index("ix_user_sessions_expires_at", "user_sessions", ["expires_at"])
    op.add_column("alerts", sa.Column("grid_cell", sa.String(64), nullable=True))
    op.create_index("ix_alerts_cell_updated", "alerts", ["grid_cell", "updated_at"])
    _backfill()


def _backfill() -> None:
    """Stored alerts get the grid cell their JSON body carries (null when none)."""
    bind = op.get_bind()
    for alert_id, body in bind.execute(sa.select(_ALERTS.c.id, _ALERTS.c.body)).all():
        cell = json.loads(body).get("grid_cell")
        if cell is not None:
            bind.execute(
                _ALERTS.update().where(_ALERTS.c.id == alert_id).values(grid_cell=str(cell))
            )


def downgrade() -> None:
    op.drop_index("ix_alerts_cell_updated", table_name="alerts")
    with op.batch_alter_table("alerts") as table:  # SQLite rebuilds the table
        table.drop_column("grid_cell")
    op.drop_table("user_sessions")
    op.drop_table("users")
