"""index replica copies by state: the damaged copies (missing, corrupt) are found without reading every copy row

Revision ID: 0019
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_replica_copies_state"), "replica_copies", ["state"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_replica_copies_state"), table_name="replica_copies")
