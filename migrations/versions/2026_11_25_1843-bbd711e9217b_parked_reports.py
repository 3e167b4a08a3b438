"""parked reports: delivery reports that came before their send's provider id was stored,
kept until it is (bot.store.reports)

Revision ID: bbd711e9217b
Revises: f18cf1a88be7
Create Date: 2026-11-25 18:43:06.939740
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "bbd711e9217b"
down_revision: str | Sequence[str] | None = "f18cf1a88be7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "parked_reports",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("provider_id", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error_code", sa.String(length=32), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("contact_status", sa.String(length=16), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "channel IN ('sms', 'telegram')", name=op.f("ck_parked_reports_channel")
        ),
        sa.CheckConstraint(
            "status IN ('received', 'queued', 'sent', 'delivered', 'failed', 'simulated')",
            name=op.f("ck_parked_reports_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parked_reports")),
    )
    with op.batch_alter_table("parked_reports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_parked_reports_channel_provider_id", ["channel", "provider_id"], unique=False
        )
        batch_op.create_index("ix_parked_reports_received_at", ["received_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("parked_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_parked_reports_received_at")
        batch_op.drop_index("ix_parked_reports_channel_provider_id")
    op.drop_table("parked_reports")
