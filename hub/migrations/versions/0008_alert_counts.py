"""Alert counts over time: one row per report (revision) of an alert, for the detail's chart.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_counts",
        sa.Column("alert_id", sa.String(64), primary_key=True),
        sa.Column("revision", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("people_count", sa.Integer(), nullable=False),
        sa.Column("peak_people", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("alert_counts")
