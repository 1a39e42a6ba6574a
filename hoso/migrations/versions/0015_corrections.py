"""corrections of locked records (CV 1370 Phụ lục II.2): requests, decisions, evidence files

Revision ID: 0015
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import archive.db

revision = "0015"
down_revision = "0001"
branch_labels = None
depends_on = None

T = archive.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "correction_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("document_id", sa.String(length=36), sa.ForeignKey("documents.id"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("wrong", sa.Text(), nullable=False),
        sa.Column("should_be", sa.Text(), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("requested_at", T, nullable=False),
        sa.Column("requested_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("decided_at", T, nullable=True),
        sa.Column("decided_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("decision_note", sa.String(length=1000), nullable=False),
        sa.Column("applied_at", T, nullable=True),
        sa.Column("applied_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("applied_version", sa.Integer(), nullable=True),
        sa.Column("record_document_id", sa.String(length=36), sa.ForeignKey("documents.id"), nullable=True),
    )
    op.create_index(op.f("ix_correction_requests_document_id"), "correction_requests", ["document_id"])
    op.create_table(
        "correction_evidence",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("correction_id", sa.Integer(), sa.ForeignKey("correction_requests.id"), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
    )
    op.create_index(op.f("ix_correction_evidence_correction_id"), "correction_evidence", ["correction_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_correction_evidence_correction_id"), table_name="correction_evidence")
    op.drop_table("correction_evidence")
    op.drop_index(op.f("ix_correction_requests_document_id"), table_name="correction_requests")
    op.drop_table("correction_requests")
