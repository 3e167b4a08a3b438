"""deliveries by provider id: a partial index, no entry while queued

``ix_deliveries_channel_provider_id`` (what a delivery report looks a delivery up by) gets an
entry only once a delivery has a provider id (``provider_id IS NOT NULL``): queueing a
broadcast, one INSERT ... SELECT of up to a million pending rows whose provider id is NULL,
no longer writes an entry per row in it. Every look-up by provider id is an equality on it,
which implies the condition, so each still reads the index on both databases.

``ix_deliveries_contact_id_sent_at`` stays whole: the daily cap and a person's history find a
contact's deliveries, sent or not, through it alone (see the model).

Revision ID: 6d19fef4628f
Revises: a2193bc60ccb
Create Date: 2026-12-03 18:19:17.506862
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6d19fef4628f"
down_revision: str | Sequence[str] | None = "a2193bc60ccb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HAS_PROVIDER_ID = "provider_id IS NOT NULL"


def upgrade() -> None:
    op.drop_index("ix_deliveries_channel_provider_id", table_name="deliveries")
    op.create_index(
        "ix_deliveries_channel_provider_id",
        "deliveries",
        ["channel", "provider_id"],
        sqlite_where=sa.text(HAS_PROVIDER_ID),
        postgresql_where=sa.text(HAS_PROVIDER_ID),
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_channel_provider_id", table_name="deliveries")
    op.create_index("ix_deliveries_channel_provider_id", "deliveries", ["channel", "provider_id"])
