"""subscribers.language holds ur-Latn (Roman Urdu, issue 11): 8 characters, and the CHECK allows it

Revision ID: cd34f7405fbb
Revises: 59094b58cdd6
Create Date: 2026-12-03 07:39:14.716551
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "cd34f7405fbb"
down_revision: str | Sequence[str] | None = "59094b58cdd6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHECK = "ck_subscribers_language"


def upgrade() -> None:
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(_CHECK), type_="check")
        batch_op.alter_column(
            "language",
            existing_type=sa.VARCHAR(length=2),
            type_=sa.String(length=8),
            existing_nullable=True,
        )
        batch_op.create_check_constraint(op.f(_CHECK), "language IN ('en', 'ur', 'ur-Latn')")


def downgrade() -> None:
    # Roman Urdu readers got the English text wherever there was no Roman Urdu one.
    op.execute("UPDATE subscribers SET language = 'en' WHERE language = 'ur-Latn'")
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(_CHECK), type_="check")
        batch_op.alter_column(
            "language",
            existing_type=sa.String(length=8),
            type_=sa.VARCHAR(length=2),
            existing_nullable=True,
        )
        batch_op.create_check_constraint(op.f(_CHECK), "language IN ('en', 'ur')")
