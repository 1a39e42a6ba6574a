"""signing sessions (deferred signing)

Revision ID: 0005
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import archive.db

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signing_sessions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("certificate_sha256", sa.String(length=64), nullable=False),
        sa.Column("signer_name", sa.String(length=300), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", archive.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", archive.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", archive.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("result_version", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=1000), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_signing_sessions_document_id"), "signing_sessions", ["document_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_signing_sessions_document_id"), table_name="signing_sessions")
    op.drop_table("signing_sessions")
