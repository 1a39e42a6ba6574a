"""retention: versioned schedules, event dates, legal holds, disposal batches and tombstones

Revision ID: 0002
Revises: 0001
Written from an autogenerate run, trimmed to retention/models.py's tables (other branches add theirs).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import archive.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "retention_schedules",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("legal_text", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_from_status", sa.String(length=20), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", archive.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["organisations.id"],
        ),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "retention_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("schedule_code", sa.String(length=64), nullable=False),
        sa.Column("type_code", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("retention", sa.String(length=100), nullable=False),
        sa.Column("counted_from", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("recorded_at", archive.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("superseded_at", archive.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["schedule_code"],
            ["retention_schedules.code"],
        ),
        sa.ForeignKeyConstraint(
            ["type_code"],
            ["document_types.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_retention_rules_current", "retention_rules", ["schedule_code", "type_code", "level"])
    op.create_table(
        "disposal_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("proposed_at", archive.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("proposed_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", archive.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("executed_at", archive.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("record_document_id", sa.String(length=36), nullable=True),
        sa.Column("record_signed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["approved_by_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["record_document_id"],
            ["documents.id"],
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["organisations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_disposal_batches_school_id", "disposal_batches", ["school_id"])
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=300), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("placed_at", archive.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("placed_by_id", sa.Integer(), nullable=True),
        sa.Column("released_at", archive.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("released_by_id", sa.Integer(), nullable=True),
        sa.Column("release_note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
        ),
        sa.ForeignKeyConstraint(
            ["placed_by_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["released_by_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_legal_holds_document_id", "legal_holds", ["document_id"])
    op.create_table(
        "retention_event_dates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("recorded_at", archive.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("superseded_at", archive.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_retention_event_dates_document_id", "retention_event_dates", ["document_id"])
    op.create_table(
        "disposal_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("disposable_from", sa.Date(), nullable=False),
        sa.Column("basis", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["disposal_batches.id"],
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("batch_id", "document_id"),
    )
    op.create_index("ix_disposal_items_batch_id", "disposal_items", ["batch_id"])
    op.create_index("ix_disposal_items_document_id", "disposal_items", ["document_id"])
    op.create_table(
        "disposal_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.String(length=1000), nullable=False),
        sa.Column("deleted_at", archive.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["disposal_batches.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_disposal_keys_batch_id", "disposal_keys", ["batch_id"])
    op.create_table(
        "disposed_versions",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("disposed_at", archive.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("content_kept", sa.Boolean(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["disposal_batches.id"],
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["versions.id"],
        ),
        sa.PrimaryKeyConstraint("version_id"),
    )
    op.create_index("ix_disposed_versions_batch_id", "disposed_versions", ["batch_id"])


def downgrade() -> None:
    op.drop_index("ix_disposed_versions_batch_id", table_name="disposed_versions")
    op.drop_index("ix_disposal_keys_batch_id", table_name="disposal_keys")
    op.drop_index("ix_disposal_items_document_id", table_name="disposal_items")
    op.drop_index("ix_disposal_items_batch_id", table_name="disposal_items")
    op.drop_index("ix_retention_event_dates_document_id", table_name="retention_event_dates")
    op.drop_index("ix_legal_holds_document_id", table_name="legal_holds")
    op.drop_index("ix_disposal_batches_school_id", table_name="disposal_batches")
    op.drop_index("ix_retention_rules_current", table_name="retention_rules")
    op.drop_table("disposed_versions")
    op.drop_table("disposal_keys")
    op.drop_table("disposal_items")
    op.drop_table("retention_event_dates")
    op.drop_table("legal_holds")
    op.drop_table("disposal_batches")
    op.drop_table("retention_rules")
    op.drop_table("retention_schedules")
