"""renditions (the original Office upload beside its PDF/A, OCR text of scans) and full-text search over content

Revision ID: 0011
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import archive.db

revision = "0011"
down_revision = "0001"  # like every other branch: `upgrade` goes to "heads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "renditions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("created_at", archive.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["versions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version_id", "kind"),
    )
    op.create_index("ix_renditions_version_id", "renditions", ["version_id"])
    op.create_index("ix_renditions_sha256", "renditions", ["sha256"])
    op.create_table(
        "document_texts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("folded", sa.Text(), nullable=False),
        sa.Column("indexed_at", archive.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("document_id"),
    )
    # the full-text index of each database (archive/fulltext.py); neither is a model: the schema test skips them
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE document_text_fts USING fts5(folded, content='document_texts', "
            "content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
        )
    elif dialect == "postgresql":
        op.execute(
            "CREATE INDEX ix_document_texts_fts ON document_texts USING gin (to_tsvector('simple', folded))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS document_text_fts")
    op.drop_table("document_texts")
    op.drop_table("renditions")
