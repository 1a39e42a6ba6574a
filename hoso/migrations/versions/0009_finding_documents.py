"""finding documents: documents.search_text, the folded title/class/subject/teacher searched without diacritics

Revision ID: 0009
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

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


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("search_text")
