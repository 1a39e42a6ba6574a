"""a province's catalog (issue 15): indexes for newest-first lists, the folded search column's trigram index on
PostgreSQL, the columns fixity claims its next batch by, and validation reports kept by content digest

Revision ID: 0018
Revises: 0001
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

import archive.db

revision = "0018"
down_revision = "0001"
branch_labels = None
depends_on = ("0009",)  # documents.search_text, which the trigram index covers

log = logging.getLogger("hoso.migrations")
# not a model (PostgreSQL only, and only where pg_trgm can be created): the schema test skips it
TRIGRAM_INDEX = "ix_documents_search_trgm"


def upgrade() -> None:
    op.create_index("ix_documents_created", "documents", ["created_at"])
    op.create_index("ix_documents_school_created", "documents", ["school_id", "created_at"])
    op.create_index("ix_replica_copies_checked", "replica_copies", ["checked_at", "id"])
    # (verified_at, id) replaces verified_at alone: never-verified copies come out in id order without a sort
    op.create_index("ix_replica_copies_verified", "replica_copies", ["verified_at", "id"])
    op.drop_index("ix_replica_copies_verified_at", table_name="replica_copies")
    damaged = sa.text("state <> 'ok'")
    op.create_index(
        "ix_replica_copies_damaged", "replica_copies", ["id"], postgresql_where=damaged, sqlite_where=damaged
    )
    op.create_table(
        "validation_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("trust_version", sa.String(length=64), nullable=False),
        sa.Column("bucket", archive.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("created_at", archive.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sha256", "trust_version", "bucket"),
    )
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return  # SQLite scans search_text with LIKE: a school's catalog is small enough
    # pg_trgm is a trusted extension (PostgreSQL ≥ 13): a database owner may create it without being a superuser.
    # Where even that is refused, searching still works by scanning, only slower.
    try:
        with conn.begin_nested():
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as exc:
        log.warning("pg_trgm unavailable (%s): document search scans search_text without an index", exc.orig)
        return
    # LIKE '% word%' (archive/search_text.py: like_patterns) is answered from this index
    op.execute(f"CREATE INDEX {TRIGRAM_INDEX} ON documents USING gin (search_text gin_trgm_ops)")


def downgrade() -> None:
    op.drop_table("validation_reports")
    op.execute(f"DROP INDEX IF EXISTS {TRIGRAM_INDEX}")
    op.drop_index("ix_replica_copies_damaged", table_name="replica_copies")
    op.create_index("ix_replica_copies_verified_at", "replica_copies", ["verified_at"])
    op.drop_index("ix_replica_copies_verified", table_name="replica_copies")
    op.drop_index("ix_replica_copies_checked", table_name="replica_copies")
    op.drop_index("ix_documents_school_created", table_name="documents")
    op.drop_index("ix_documents_created", table_name="documents")
