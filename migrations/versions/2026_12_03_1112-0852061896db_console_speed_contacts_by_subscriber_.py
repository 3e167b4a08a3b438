"""console speed: contacts by subscriber, channel and status; deliveries by broadcast, status
and channel; the SMS a provider accepted (a partial index)

Each of the first two replaces an index it extends (same writes, more answered from the index
alone); the partial one gets an entry only when an SMS is sent, none while queued.

Revision ID: 0852061896db
Revises: dc2359d5465b
Create Date: 2026-12-03 11:12:14.355748
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0852061896db"
down_revision: str | Sequence[str] | None = "dc2359d5465b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SMS_ACCEPTED = "channel = 'sms' AND sent_at IS NOT NULL"


def upgrade() -> None:
    op.create_index(
        "ix_contacts_subscriber_id_channel_status",
        "contacts",
        ["subscriber_id", "channel", "status"],
    )
    op.drop_index("ix_contacts_subscriber_id", table_name="contacts")
    op.create_index(
        "ix_deliveries_broadcast_id_status_channel",
        "deliveries",
        ["broadcast_id", "status", "channel"],
    )
    op.drop_index("ix_deliveries_broadcast_id_status", table_name="deliveries")
    op.create_index(
        "ix_deliveries_sms_accepted",
        "deliveries",
        ["broadcast_id", "contact_id"],
        sqlite_where=sa.text(SMS_ACCEPTED),
        postgresql_where=sa.text(SMS_ACCEPTED),
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_sms_accepted", table_name="deliveries")
    op.create_index(
        "ix_deliveries_broadcast_id_status", "deliveries", ["broadcast_id", "status"]
    )
    op.drop_index("ix_deliveries_broadcast_id_status_channel", table_name="deliveries")
    op.create_index("ix_contacts_subscriber_id", "contacts", ["subscriber_id"])
    op.drop_index("ix_contacts_subscriber_id_channel_status", table_name="contacts")
