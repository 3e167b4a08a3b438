"""claim indexes: a claim reads only the rows it takes (channel, status, next_attempt_at, id);
whether a broadcast has rows left is an index lookup (broadcast_id, status)

Revision ID: 59a45de85445
Revises: df0accdc679d
Create Date: 2026-11-25 16:42:49.069673
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "59a45de85445"
down_revision: str | Sequence[str] | None = "df0accdc679d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliveries_status_next_attempt_at"))
        batch_op.create_index(
            "ix_deliveries_broadcast_id_status", ["broadcast_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_deliveries_channel_status_next_attempt_at_id",
            ["channel", "status", "next_attempt_at", "id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_channel_status_next_attempt_at_id")
        batch_op.drop_index("ix_deliveries_broadcast_id_status")
        batch_op.create_index(
            batch_op.f("ix_deliveries_status_next_attempt_at"),
            ["status", "next_attempt_at"],
            unique=False,
        )
