"""remote-signing accounts (CSC API v2): a person's credential at a provider, bound to a registered certificate

Revision ID: 0013
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import archive.db

revision = "0013"
down_revision = "0001"
branch_labels = None
depends_on = ("0008",)  # signing_certificates


def upgrade() -> None:
    op.create_table(
        "remote_signing_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("credential_id", sa.String(length=200), nullable=False),
        sa.Column("key_algorithm", sa.String(length=64), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.Column("certificate_sha256", sa.String(length=64), nullable=False),
        sa.Column("chain", sa.Text(), nullable=False),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.Column("linked_at", archive.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["certificate_id"], ["signing_certificates.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "user_id", "provider", "credential_id", name="uq_remote_signing_accounts_credential"
        ),
    )
    op.create_index(
        op.f("ix_remote_signing_accounts_user_id"), "remote_signing_accounts", ["user_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_remote_signing_accounts_user_id"), table_name="remote_signing_accounts")
    op.drop_table("remote_signing_accounts")
