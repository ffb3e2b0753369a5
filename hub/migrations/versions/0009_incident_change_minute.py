"""Incidents' last change also as a whole minute (`updated_minute`), which the indexes hold in
place of `updated_at`: an alert merging into an incident changes `updated_at` every time, and a
change to an indexed column rewrites every index entry of the row (on PostgreSQL no update can
then be HOT, so a busy incident leaves a dead row version and five index entries per merge until
vacuum). The minute changes at most once a minute per incident. PostgreSQL also leaves room on
each page (fillfactor 70) so that the new version fits beside the old one.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision: str | None = "0008"
branch_labels = None
depends_on = None

_INCIDENTS = sa.table(
    "incidents",
    sa.column("id", sa.String),
    sa.column("updated_at", sa.DateTime(timezone=True)),
    sa.column("updated_minute", sa.BigInteger),
)


def minute_of(at: datetime) -> int:
    """Minutes since 1970 (UTC) as of this revision (hub.db.minute_of then): frozen here."""
    aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)  # SQLite keeps no offset
    return int(aware.timestamp() // 60)


def upgrade() -> None:
    op.add_column(
        "incidents",
        sa.Column("updated_minute", sa.BigInteger(), nullable=False, server_default="0"),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(_INCIDENTS.c.id, _INCIDENTS.c.updated_at)).all()
    if rows:  # one executemany
        bind.execute(
            _INCIDENTS.update()
            .where(_INCIDENTS.c.id == sa.bindparam("b_id"))
            .values(updated_minute=sa.bindparam("b_minute")),
            [{"b_id": incident_id, "b_minute": minute_of(at)} for incident_id, at in rows],
        )
    op.drop_index("ix_incidents_open_kind", table_name="incidents")
    op.drop_index("ix_incidents_updated_at", table_name="incidents")
    op.create_index("ix_incidents_open_kind", "incidents", ["is_open", "kind", "updated_minute"])
    op.create_index("ix_incidents_updated_minute", "incidents", ["updated_minute"])
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE incidents SET (fillfactor = 70)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE incidents RESET (fillfactor)")
    op.drop_index("ix_incidents_updated_minute", table_name="incidents")
    op.drop_index("ix_incidents_open_kind", table_name="incidents")
    op.create_index("ix_incidents_updated_at", "incidents", ["updated_at"])
    op.create_index("ix_incidents_open_kind", "incidents", ["is_open", "kind", "updated_at"])
    with op.batch_alter_table("incidents") as table:  # SQLite rebuilds the table
        table.drop_column("updated_minute")
