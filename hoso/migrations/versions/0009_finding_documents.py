"""the school's year on the web (issue 12): documents.search_text (the folded title/class/subject/teacher searched
without diacritics) and document_changes (the history of a record's details)

Revision ID: 0009
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import archive.db
from archive.search_text import document_search_text

revision = "0009"
down_revision = "0001"  # like every other branch: `upgrade` goes to "heads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
    docs = sa.table(
        "documents",
        sa.column("id", sa.String),
        sa.column("title", sa.String),
        sa.column("class_name", sa.String),
        sa.column("subject", sa.String),
        sa.column("teacher", sa.String),
        sa.column("search_text", sa.Text),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(docs.c.id, docs.c.title, docs.c.class_name, docs.c.subject, docs.c.teacher))
    for row in rows.all():
        text = document_search_text(row.title, row.class_name, row.subject, row.teacher)
        conn.execute(docs.update().where(docs.c.id == row.id).values(search_text=text))

    op.create_table(
        "document_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("changed_at", archive.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("old_value", sa.String(length=500), nullable=True),
        sa.Column("new_value", sa.String(length=500), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"]),
        sa.ForeignKeyConstraint(["changed_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_document_changes_document_id", "document_changes", ["document_id"])


def downgrade() -> None:
    op.drop_index("ix_document_changes_document_id", table_name="document_changes")
    op.drop_table("document_changes")
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("search_text")
