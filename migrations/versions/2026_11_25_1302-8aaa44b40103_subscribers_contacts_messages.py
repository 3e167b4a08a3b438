"""subscribers, contacts, messages

Revision ID: 8aaa44b40103
Revises:
Create Date: 2026-11-25 13:02:51.377204
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "8aaa44b40103"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the model types as they are in this revision (never import the models).
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DATETIME = sa.DateTime(timezone=True)
JSON_LIST = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
CHANNELS = "channel IN ('sms', 'telegram')"


def upgrade() -> None:
    op.create_table(
        "subscribers",
        sa.Column("id", ID, nullable=False),
        sa.Column("language", sa.String(length=2), nullable=True),
        sa.Column("city", sa.String(length=64), nullable=True),
        sa.Column("topics", JSON_LIST, server_default=sa.text("'[]'"), nullable=False),
        sa.Column("source", sa.String(length=128), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint("language IN ('en', 'ur')", name=op.f("ck_subscribers_language")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscribers")),
    )
    op.create_table(
        "contacts",
        sa.Column("id", ID, nullable=False),
        sa.Column("subscriber_id", ID, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
        sa.Column("status_changed_at", UTC_DATETIME, nullable=False),
        sa.Column("status_reason", sa.String(length=64), nullable=True),
        sa.Column("status_words", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint(CHANNELS, name=op.f("ck_contacts_channel")),
        sa.CheckConstraint(
            "status IN ('active', 'opted_out', 'blocked', 'invalid')",
            name=op.f("ck_contacts_status"),
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_contacts_subscriber_id_subscribers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint("channel", "address", name=op.f("uq_contacts_channel_address")),
    )
    op.create_index("ix_contacts_subscriber_id", "contacts", ["subscriber_id"])
    op.create_table(
        "messages",
        sa.Column("id", ID, nullable=False),
        sa.Column("contact_id", ID, nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("provider_id", sa.String(length=128), nullable=True),
        sa.Column("segments", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error_code", sa.String(length=32), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint(CHANNELS, name=op.f("ck_messages_channel")),
        sa.CheckConstraint("direction IN ('in', 'out')", name=op.f("ck_messages_direction")),
        sa.CheckConstraint(
            "status IN ('received', 'queued', 'sent', 'delivered', 'failed', 'simulated')",
            name=op.f("ck_messages_status"),
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_messages_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint(
            "channel",
            "direction",
            "provider_id",
            name=op.f("uq_messages_channel_direction_provider_id"),
        ),
    )
    op.create_index("ix_messages_contact_id_created_at", "messages", ["contact_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_messages_contact_id_created_at", table_name="messages")
    op.drop_table("messages")
    op.drop_index("ix_contacts_subscriber_id", table_name="contacts")
    op.drop_table("contacts")
    op.drop_table("subscribers")
