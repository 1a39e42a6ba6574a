"""integrity: fixity runs, job claims, signature upkeep

Revision ID: 0004
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import archive.db

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None

UTC = archive.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "fixity_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("finished_at", UTC, nullable=True),
        sa.Column("quota", sa.Integer(), nullable=True),
        sa.Column("claimed", sa.Integer(), nullable=False),
        sa.Column("copies_checked", sa.Integer(), nullable=False),
        sa.Column("bytes_checked", sa.BigInteger(), nullable=False),
        sa.Column("damage_found", sa.Integer(), nullable=False),
        sa.Column("repaired", sa.Integer(), nullable=False),
        sa.Column("unrepairable", sa.Integer(), nullable=False),
        sa.Column("workers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slot"),
    )
    op.create_table(
        "job_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=50), nullable=False),
        sa.Column("slot", sa.String(length=100), nullable=False),
        sa.Column("worker", sa.String(length=200), nullable=False),
        sa.Column("claimed_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("job", "slot"),
    )
    op.create_table(
        "signature_upkeep",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", UTC, nullable=True),
        sa.Column("algorithm", sa.String(length=100), nullable=True),
        sa.Column("inspected_at", UTC, nullable=False),
        sa.Column("renewed_by_version_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.String(length=1000), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["versions.id"]),
        sa.PrimaryKeyConstraint("version_id"),
    )
    with op.batch_alter_table("signature_upkeep", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signature_upkeep_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("signature_upkeep", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signature_upkeep_expires_at"))
    op.drop_table("signature_upkeep")
    op.drop_table("job_claims")
    op.drop_table("fixity_runs")
