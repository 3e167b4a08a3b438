"""coordinator answers (answers, answer_changes), and what the bot made of each inbound
message (messages.intent, messages.language) for `outreach report unanswered`

Revision ID: 3a51fb7229ea
Revises: bbd711e9217b
Create Date: 2026-12-03 02:29:27.007815
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3a51fb7229ea"
down_revision: str | Sequence[str] | None = "bbd711e9217b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "answer_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("answer_key", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.CheckConstraint(
            "action IN ('add', 'edit', 'remove')", name=op.f("ck_answer_changes_action")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer_changes")),
    )
    with op.batch_alter_table("answer_changes", schema=None) as batch_op:
        batch_op.create_index("ix_answer_changes_answer_key_id", ["answer_key", "id"], unique=False)

    op.create_table(
        "answers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("sms_en", sa.Text(), nullable=False),
        sa.Column("sms_ur", sa.Text(), nullable=False),
        sa.Column("sms_ur_latn", sa.Text(), nullable=True),
        sa.Column("telegram_en", sa.Text(), nullable=True),
        sa.Column("telegram_ur", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answers")),
        sa.UniqueConstraint("key", name=op.f("uq_answers_key")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("intent", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))
        batch_op.create_index(
            "ix_messages_intent_created_at", ["intent", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_intent_created_at")
        batch_op.drop_column("language")
        batch_op.drop_column("intent")

    op.drop_table("answers")
    with op.batch_alter_table("answer_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_answer_changes_answer_key_id")

    op.drop_table("answer_changes")
