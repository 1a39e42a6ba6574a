"""transfer sender registry (the partner schools' seal fingerprints per receiving school)

Revision ID: 0014
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import archive.db

revision = "0014"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "transfer_senders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("sender_code", sa.String(length=32), nullable=False),
        sa.Column("sender_name", sa.String(length=300), nullable=False),
        sa.Column("seal_sha256", sa.String(length=64), nullable=False),
        sa.Column("added_at", archive.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["school_id"], ["organisations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("school_id", "seal_sha256", name="uq_transfer_senders_school_seal"),
    )
    op.create_index(op.f("ix_transfer_senders_school_id"), "transfer_senders", ["school_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_transfer_senders_school_id"), table_name="transfer_senders")
    op.drop_table("transfer_senders")
