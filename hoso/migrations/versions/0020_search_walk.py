"""common words searched at a province's scale (issue 15): newest-first indexes that carry the folded search text, so
a search reads its candidates from the index alone, and a larger statistics sample of that text (PostgreSQL)

Revision ID: 0020
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0001"
branch_labels = None
depends_on = ("0009",)  # documents.search_text, which the indexes carry

# not models (PostgreSQL only: INCLUDE columns): the schema test skips them
WALK_INDEXES = {
    # archive/finding.py (_walk): every school (or the schools a person reads), and one school, newest first in the
    # list's own order (created_at DESC, then id), with what a search tests: the words and the status. Type and year
    # are left to the rows: each would add a tenth to indexes already as large as the table.
    "ix_documents_walk": "(created_at DESC, id) INCLUDE (school_id, status, search_text)",
    "ix_documents_school_walk": "(school_id, created_at DESC, id) INCLUDE (status, search_text)",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite walks ix_documents_school_created and reads the rows: a school's catalog is small enough
    # archive/finding.py guesses from this sample whether a search walks: a thousand values, not a hundred, so that
    # a word in one record of sixty is seen in it
    op.execute("ALTER TABLE documents ALTER COLUMN search_text SET STATISTICS 1000")
    for name, columns in WALK_INDEXES.items():
        # IF NOT EXISTS: a large catalog may have been given them by hand before the upgrade (CONCURRENTLY, in use)
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON documents {columns}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in WALK_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute("ALTER TABLE documents ALTER COLUMN search_text SET STATISTICS -1")
