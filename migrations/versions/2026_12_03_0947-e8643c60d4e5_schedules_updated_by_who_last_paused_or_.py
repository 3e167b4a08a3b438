"""schedules.updated_by: who last paused or resumed a schedule (the console records it)

Revision ID: e8643c60d4e5
Revises: 4b454394e15c
Create Date: 2026-12-03 09:47:57.286453
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e8643c60d4e5"
down_revision: str | Sequence[str] | None = "4b454394e15c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("schedules", sa.Column("updated_by", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.drop_column("updated_by")
