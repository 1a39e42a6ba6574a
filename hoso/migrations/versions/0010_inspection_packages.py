"""hand-overs (issue 13): inspection packages, check records, the media register

Revision ID: 0010
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import archive.db

revision = "0010"
down_revision = "0001"  # like every other branch: `upgrade` goes to "heads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inspection_packages",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", archive.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("selection", sa.JSON(), nullable=False),
        sa.Column("entries", sa.JSON(), nullable=False),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.Column("zip_size", sa.BigInteger(), nullable=False),
        sa.Column("report_sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_inspection_packages_created_at", "inspection_packages", ["created_at"])
    op.create_index("ix_inspection_packages_created_by_id", "inspection_packages", ["created_by_id"])
    op.create_table(
        "check_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", archive.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("period_start", archive.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("period_end", archive.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_check_records_created_at", "check_records", ["created_at"])
    op.create_table(
        "media_exports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", archive.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("school_year", sa.String(length=9), nullable=False),
        sa.Column("types", sa.String(length=500), nullable=False),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.Column("total_bytes", sa.BigInteger(), nullable=False),
        sa.Column("tagmanifest_sha256", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("renewed_at", archive.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["school_id"], ["organisations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_media_exports_created_at", "media_exports", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_media_exports_created_at", table_name="media_exports")
    op.drop_table("media_exports")
    op.drop_index("ix_check_records_created_at", table_name="check_records")
    op.drop_table("check_records")
    op.drop_index("ix_inspection_packages_created_by_id", table_name="inspection_packages")
    op.drop_index("ix_inspection_packages_created_at", table_name="inspection_packages")
    op.drop_table("inspection_packages")
