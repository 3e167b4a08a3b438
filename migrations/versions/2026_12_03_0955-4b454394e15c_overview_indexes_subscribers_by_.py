"""overview indexes: subscribers counted by language, city and topics from an index alone, and
by when they joined; contacts by status and channel (and who is no longer reachable)

Revision ID: 4b454394e15c
Revises: aea5a18d2a6e
Create Date: 2026-12-03 09:55:14.966039
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "4b454394e15c"
down_revision: str | Sequence[str] | None = "aea5a18d2a6e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_contacts_status_channel_subscriber_id",
        "contacts",
        ["status", "channel", "subscriber_id"],
    )
    op.create_index("ix_subscribers_created_at", "subscribers", ["created_at"])
    op.create_index(
        "ix_subscribers_language_city_topics", "subscribers", ["language", "city", "topics"]
    )


def downgrade() -> None:
    op.drop_index("ix_subscribers_language_city_topics", table_name="subscribers")
    op.drop_index("ix_subscribers_created_at", table_name="subscribers")
    op.drop_index("ix_contacts_status_channel_subscriber_id", table_name="contacts")
