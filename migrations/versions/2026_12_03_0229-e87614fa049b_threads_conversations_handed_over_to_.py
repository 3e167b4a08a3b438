"""threads: conversations handed over to the coordinators (issue 11), and messages.thread_id

Revision ID: e87614fa049b
Revises: 3a51fb7229ea
Create Date: 2026-12-03 02:29:52.395988
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e87614fa049b"
down_revision: str | Sequence[str] | None = "3a51fb7229ea"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "threads",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.String(length=64), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("reason IN ('asked', 'missed')", name=op.f("ck_threads_reason")),
        sa.CheckConstraint("state IN ('open', 'claimed', 'closed')", name=op.f("ck_threads_state")),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_threads_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_threads")),
    )
    with op.batch_alter_table("threads", schema=None) as batch_op:
        batch_op.create_index("ix_threads_contact_id_state", ["contact_id", "state"], unique=False)
        batch_op.create_index("ix_threads_state_id", ["state", "id"], unique=False)

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "thread_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch_op.create_index("ix_messages_thread_id", ["thread_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_messages_thread_id_threads"),
            "threads",
            ["thread_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_messages_thread_id_threads"), type_="foreignkey")
        batch_op.drop_index("ix_messages_thread_id")
        batch_op.drop_column("thread_id")

    with op.batch_alter_table("threads", schema=None) as batch_op:
        batch_op.drop_index("ix_threads_state_id")
        batch_op.drop_index("ix_threads_contact_id_state")

    op.drop_table("threads")
