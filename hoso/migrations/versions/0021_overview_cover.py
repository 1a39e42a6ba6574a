"""the year at a glance at a province's scale (issue 15): covering indexes on PostgreSQL, so a school's year and a
Phòng's or Sở's roll-up read their documents and each document's versions from indexes alone

Revision ID: 0021
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0001"
branch_labels = None
depends_on = ("0018",)

# not models (PostgreSQL only: INCLUDE columns): the schema test skips the prefix
COVERING_INDEXES = {
    # archive/year_overview.py counts: the documents of some schools in a year, with what the grid groups them by.
    # Without it every document is a heap page of its own (a school's records arrive between other schools').
    "ix_cover_documents_school_year": "documents (school_id, school_year) INCLUDE (status, class_name, type_code, id)",
    # each document's current version: the highest number, signed or not, and its id for the content checks
    "ix_cover_versions_document": "versions (document_id) INCLUDE (number, signed, id)",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite reads the rows: a school's catalog is small enough
    for name, columns in COVERING_INDEXES.items():
        # IF NOT EXISTS: a large catalog may have been given them by hand before the upgrade (CONCURRENTLY, in use)
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {columns}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in COVERING_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
