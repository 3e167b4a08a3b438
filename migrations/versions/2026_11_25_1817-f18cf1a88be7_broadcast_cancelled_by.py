"""broadcast cancelled_by: who cancelled a broadcast, kept apart from who sent it

Before this, cancelling wrote the canceller over ``created_by``; broadcasts cancelled then
keep that (the sender's name is gone), and their ``cancelled_by`` stays empty.

Revision ID: f18cf1a88be7
Revises: 59a45de85445
Create Date: 2026-11-25 18:17:29.540504
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f18cf1a88be7"
down_revision: str | Sequence[str] | None = "59a45de85445"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancelled_by", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.drop_column("cancelled_by")
