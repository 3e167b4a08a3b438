"""announcements, schedules, broadcasts, deliveries

Revision ID: 9c3360b96e68
Revises: 8aaa44b40103
Create Date: 2026-11-25 14:41:49.375379
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "9c3360b96e68"
down_revision: str | Sequence[str] | None = "8aaa44b40103"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the model types as they are in this revision (never import the models).
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DATETIME = sa.DateTime(timezone=True)
JSON_LIST = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "announcements",
        sa.Column("id", ID, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.Column("text_ur", sa.Text(), nullable=True),
        sa.Column("topics", JSON_LIST, server_default=sa.text("'[]'"), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcements")),
    )
    op.create_table(
        "schedules",
        sa.Column("id", ID, nullable=False),
        sa.Column("announcement_id", ID, nullable=False),
        sa.Column("rule", sa.JSON(), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("TRUE"), nullable=False),
        sa.Column("last_fired_at", UTC_DATETIME, nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["announcement_id"],
            ["announcements.id"],
            name=op.f("fk_schedules_announcement_id_announcements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedules")),
    )
    op.create_index("ix_schedules_announcement_id", "schedules", ["announcement_id"])
    op.create_table(
        "broadcasts",
        sa.Column("id", ID, nullable=False),
        sa.Column("announcement_id", ID, nullable=False),
        sa.Column("schedule_id", ID, nullable=True),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="queued", nullable=False),
        sa.Column("scheduled_for", UTC_DATETIME, nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            "status IN ('queued', 'sending', 'done', 'cancelled', 'missed')",
            name=op.f("ck_broadcasts_status"),
        ),
        sa.ForeignKeyConstraint(
            ["announcement_id"],
            ["announcements.id"],
            name=op.f("fk_broadcasts_announcement_id_announcements"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedules.id"],
            name=op.f("fk_broadcasts_schedule_id_schedules"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
        sa.UniqueConstraint("key", name=op.f("uq_broadcasts_key")),
    )
    op.create_index("ix_broadcasts_announcement_id", "broadcasts", ["announcement_id"])
    op.create_index("ix_broadcasts_schedule_id", "broadcasts", ["schedule_id"])
    op.create_table(
        "deliveries",
        sa.Column("id", ID, nullable=False),
        sa.Column("broadcast_id", ID, nullable=False),
        sa.Column("contact_id", ID, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", UTC_DATETIME, nullable=False),
        sa.Column("lease_until", UTC_DATETIME, nullable=True),
        sa.Column("provider_id", sa.String(length=128), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        *_timestamps(),
        sa.CheckConstraint("channel IN ('sms', 'telegram')", name=op.f("ck_deliveries_channel")),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'delivered', 'failed', 'skipped')",
            name=op.f("ck_deliveries_status"),
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_deliveries_attempts")),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["broadcasts.id"],
            name=op.f("fk_deliveries_broadcast_id_broadcasts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_deliveries_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint(
            "broadcast_id", "contact_id", name=op.f("uq_deliveries_broadcast_id_contact_id")
        ),
    )
    op.create_index(
        "ix_deliveries_status_next_attempt_at", "deliveries", ["status", "next_attempt_at"]
    )
    op.create_index("ix_deliveries_channel_provider_id", "deliveries", ["channel", "provider_id"])
    op.create_index("ix_deliveries_contact_id", "deliveries", ["contact_id"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_contact_id", table_name="deliveries")
    op.drop_index("ix_deliveries_channel_provider_id", table_name="deliveries")
    op.drop_index("ix_deliveries_status_next_attempt_at", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_index("ix_broadcasts_schedule_id", table_name="broadcasts")
    op.drop_index("ix_broadcasts_announcement_id", table_name="broadcasts")
    op.drop_table("broadcasts")
    op.drop_index("ix_schedules_announcement_id", table_name="schedules")
    op.drop_table("schedules")
    op.drop_table("announcements")
