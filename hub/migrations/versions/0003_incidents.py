"""Incidents, their alerts, the append-only audit trail, pending deadlines, the outbox and
responders.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels = None
depends_on = None

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("colour", sa.String(16), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("grid_cell", sa.String(64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.Column("closed_at", _WHEN, nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
    )
    op.create_index("ix_incidents_open_kind", "incidents", ["is_open", "kind", "updated_at"])
    op.create_index("ix_incidents_updated_at", "incidents", ["updated_at"])
    op.create_table(
        "incident_alerts",
        sa.Column("alert_id", sa.String(64), primary_key=True),
        sa.Column("incident_id", sa.String(64), nullable=False),
    )
    op.create_index("ix_incident_alerts_incident_id", "incident_alerts", ["incident_id"])
    op.create_table(
        "incident_audit",
        sa.Column("incident_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("at", _WHEN, nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
    )
    op.create_index("ix_incident_audit_at", "incident_audit", ["at"])
    op.create_table(
        "incident_deadlines",
        sa.Column("incident_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("subject", sa.String(64), primary_key=True),
        sa.Column("due_at", _WHEN, nullable=False),
    )
    op.create_index("ix_incident_deadlines_due_at", "incident_deadlines", ["due_at"])
    op.create_table(
        "outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("incident_id", sa.String(64), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sqlite_autoincrement=True,  # ids never reused (sinks keep cursors), even after pruning
    )
    op.create_table(
        "outbox_cursors",
        sa.Column("sink", sa.String(64), primary_key=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "responders",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("token_sha256", sa.String(64), nullable=True, unique=True),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
    )
    _forbid_audit_edits()


def _forbid_audit_edits() -> None:
    """Append-only in the database too: an UPDATE or DELETE of an audit row fails (PostgreSQL
    and SQLite triggers), whoever runs it."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION xl_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'incident_audit is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER xl_audit_append_only BEFORE UPDATE OR DELETE ON incident_audit "
            "FOR EACH ROW EXECUTE FUNCTION xl_audit_append_only()"
        )
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER xl_audit_no_{action.lower()} BEFORE {action} ON incident_audit "
            "BEGIN SELECT RAISE(ABORT, 'incident_audit is append-only'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS xl_audit_append_only ON incident_audit")
        op.execute("DROP FUNCTION IF EXISTS xl_audit_append_only()")
    for table in ("responders", "outbox_cursors", "outbox", "incident_deadlines",
                  "incident_audit", "incident_alerts", "incidents"):  # fmt: skip
        op.drop_table(table)
