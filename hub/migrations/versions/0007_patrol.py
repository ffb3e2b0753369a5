"""Video patrol: plans and the append-only patrol log (who looked at which camera, and when).

Revision ID: 0007
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0005"
branch_labels = None
depends_on = None

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "patrol_plans",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
    )
    op.create_table(
        "patrol_log",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("plan_id", sa.String(64), nullable=False),
        sa.Column("camera_id", sa.String(64), nullable=False),
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("started_at", _WHEN, nullable=False),
        sa.Column("ended_at", _WHEN, nullable=False),
        sa.Column("seconds_viewed", sa.Float(), nullable=False),
        sa.Column("recorded_at", _WHEN, nullable=False),
    )
    op.create_index("ix_patrol_log_started", "patrol_log", ["started_at"])
    op.create_index("ix_patrol_log_plan_started", "patrol_log", ["plan_id", "started_at"])
    op.create_index("ix_patrol_log_operator_started", "patrol_log", ["operator", "started_at"])
    op.create_index("ix_patrol_log_camera_started", "patrol_log", ["camera_id", "started_at"])
    _forbid_log_edits()


def _forbid_log_edits() -> None:
    """Append-only in the database too, as the incident audit trail (0003): an UPDATE or a
    DELETE of a patrol log row fails, whoever runs it."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION xl_patrol_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'patrol_log is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER xl_patrol_log_append_only BEFORE UPDATE OR DELETE ON patrol_log "
            "FOR EACH ROW EXECUTE FUNCTION xl_patrol_log_append_only()"
        )
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER xl_patrol_log_no_{action.lower()} BEFORE {action} ON patrol_log "
            "BEGIN SELECT RAISE(ABORT, 'patrol_log is append-only'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS xl_patrol_log_append_only ON patrol_log")
        op.execute("DROP FUNCTION IF EXISTS xl_patrol_log_append_only()")
    op.drop_table("patrol_log")  # SQLite drops the table's triggers with it
    op.drop_table("patrol_plans")
