"""job results (the last outcome of every scheduled job, for /metrics)

Revision ID: 0012
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import archive.db

revision = "0012"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_results",
        sa.Column("job", sa.String(length=50), nullable=False),
        sa.Column("last_finished_at", archive.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_ok", sa.Boolean(), nullable=False),
        sa.Column("last_success_at", archive.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=False),
        sa.Column("runs_ok", sa.BigInteger(), nullable=False),
        sa.Column("runs_failed", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("job"),
    )


def downgrade() -> None:
    op.drop_table("job_results")
