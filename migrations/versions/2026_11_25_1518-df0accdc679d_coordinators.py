"""coordinators: who made schedules and broadcasts, when broadcasts ended, when deliveries went
out (for the per-person daily cap)

Revision ID: df0accdc679d
Revises: 9c3360b96e68
Create Date: 2026-11-25 15:18:14.505441
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "df0accdc679d"
down_revision: str | Sequence[str] | None = "9c3360b96e68"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the model type as it is in this revision (never import the models).
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("finished_at", UTC_DATETIME, nullable=True))

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sent_at", UTC_DATETIME, nullable=True))
        batch_op.drop_index(batch_op.f("ix_deliveries_contact_id"))
        batch_op.create_index(
            "ix_deliveries_contact_id_sent_at", ["contact_id", "sent_at"], unique=False
        )

    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_by", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.drop_column("created_by")

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_contact_id_sent_at")
        batch_op.create_index(batch_op.f("ix_deliveries_contact_id"), ["contact_id"], unique=False)
        batch_op.drop_column("sent_at")

    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.drop_column("finished_at")
        batch_op.drop_column("created_by")
