"""worker_epochs.heartbeat_at: when the worker holding the epoch was last seen alive

Written by the worker every few seconds (bot.store.epochs.beat) on the one row it already
owns; read by /healthz and /metrics in every process. Nullable: a worker that has not beaten
yet has none.

Revision ID: 37042192c17f
Revises: eafcfdd9f8ff
Create Date: 2026-12-03 12:55:44.370377
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "37042192c17f"
down_revision: str | Sequence[str] | None = "eafcfdd9f8ff"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("worker_epochs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("worker_epochs", schema=None) as batch_op:
        batch_op.drop_column("heartbeat_at")
