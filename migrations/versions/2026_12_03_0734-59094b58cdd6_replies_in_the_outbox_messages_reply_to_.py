"""replies in the outbox: messages.reply_to, buttons, attempts, next_attempt_at (issue 11)

A reply is claimed under a lease and retried with backoff like an announcement; rows stored
before this have NULL in the new columns and are never swept (they stay as they were).
Adding nullable columns and indexes: no table is rebuilt on SQLite.

Revision ID: 59094b58cdd6
Revises: e87614fa049b
Create Date: 2026-12-03 07:34:32.087039
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "59094b58cdd6"
down_revision: str | Sequence[str] | None = "e87614fa049b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "reply_to", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch_op.add_column(sa.Column("buttons", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_messages_reply_to", ["reply_to"], unique=False)
        batch_op.create_index(
            "ix_messages_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_status_next_attempt_at")
        batch_op.drop_index("ix_messages_reply_to")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("attempts")
        batch_op.drop_column("buttons")
        batch_op.drop_column("reply_to")
