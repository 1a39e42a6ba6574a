"""the search walk's index-only scans kept index-only (issue 15): autovacuum visits the catalog's largest tables after
a small share of new rows (PostgreSQL)

A search reads the newest candidates from ix_documents_walk / ix_documents_school_walk and the year overview each
version from ix_cover_versions_document without reading the table, but only for pages the visibility map marks
all-visible, which only VACUUM does. By default autovacuum comes after 20 % of a table is new rows: 470 000
documents at a province's scale, and the newest rows, the very ones a newest-first walk reads first, stay unmarked
until then. Measured on bench_province.py's catalog (2.35 M documents): one school's walk of 11 750 candidates took
16 ms with every row fetched and 8 ms once vacuumed; the search requests' p95 went from 54-72 ms to 27-42 ms.

Revision ID: 0022
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0022"
down_revision = "0001"
branch_labels = None
depends_on = None  # table options: the tables are 0001's

# after 1 000 + 0.5 % new rows (≈ 12 700 documents in a province's catalog): an insert-only vacuum only marks the new
# pages, so it is short however large the table
INSERT_VACUUM = "autovacuum_vacuum_insert_threshold = 1000, autovacuum_vacuum_insert_scale_factor = 0.005"
TABLES = ("documents", "versions")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no vacuum of this kind, and reads its rows
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} SET ({INSERT_VACUUM})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(
            f"ALTER TABLE {table} RESET (autovacuum_vacuum_insert_threshold, autovacuum_vacuum_insert_scale_factor)"
        )
