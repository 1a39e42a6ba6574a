"""signing chains: certificates bound to accounts, classes and groups per year, chain steps, signing requests

Revision ID: 0008
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import archive.db

revision = "0008"
down_revision = "0001"  # like every other branch: `upgrade` goes to "heads"
branch_labels = None
depends_on = None

T = archive.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "signing_certificates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False, index=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("serial", sa.String(100), nullable=False),
        sa.Column("not_before", T, nullable=False),
        sa.Column("not_after", T, nullable=False),
        sa.Column("check", sa.String(1000), nullable=False),
        sa.Column("added_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("added_at", T, nullable=False),
        sa.Column("removed_at", T, nullable=True),
    )
    op.create_table(
        "school_classes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("school_id", sa.Integer(), sa.ForeignKey("organisations.id"), nullable=False, index=True),
        sa.Column("school_year", sa.String(9), nullable=False),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("homeroom_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.UniqueConstraint("school_id", "school_year", "name"),
    )
    op.create_table(
        "class_teachers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("class_id", sa.Integer(), sa.ForeignKey("school_classes.id"), nullable=False, index=True),
        sa.Column("subject", sa.String(100), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False, index=True),
        sa.UniqueConstraint("class_id", "subject", "user_id"),
    )
    op.create_table(
        "group_members",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("school_id", sa.Integer(), sa.ForeignKey("organisations.id"), nullable=False, index=True),
        sa.Column("school_year", sa.String(9), nullable=False),
        sa.Column("group_name", sa.String(100), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False, index=True),
        sa.Column("is_head", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("school_id", "school_year", "group_name", "user_id"),
    )
    op.create_table(
        "signing_chain_steps",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "type_code", sa.String(64), sa.ForeignKey("document_types.code"), nullable=False, index=True
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("who", sa.String(32), nullable=False),
        sa.Column("title_vi", sa.String(100), nullable=False),
        sa.Column("parallel", sa.Boolean(), nullable=False),
        sa.Column("optional", sa.Boolean(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_at", T, nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.UniqueConstraint("type_code", "version", "position"),
    )
    op.create_table(
        "signing_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("document_id", sa.String(36), sa.ForeignKey("documents.id"), nullable=False, index=True),
        sa.Column("chain_version", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("who", sa.String(32), nullable=False),
        sa.Column("title_vi", sa.String(100), nullable=False),
        sa.Column("subject", sa.String(100), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True, index=True),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("opened_at", T, nullable=True),
        sa.Column("done_at", T, nullable=True),
        sa.Column("done_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("version_number", sa.Integer(), nullable=True),
        sa.Column("field_name", sa.String(100), nullable=False),
        sa.Column("box", sa.String(120), nullable=False),
        sa.Column("note", sa.String(1000), nullable=False),
        sa.Column("notified_at", T, nullable=True),
    )


def downgrade() -> None:
    for table in (
        "signing_requests", "signing_chain_steps", "group_members", "class_teachers", "school_classes",
        "signing_certificates",
    ):  # fmt: skip
        op.drop_table(table)
