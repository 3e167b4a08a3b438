"""subscribers name: from Telegram or a CSV, and folded for search

``name`` is what a resident's Telegram profile or a coordinator's CSV says; ``name_folded``
is it folded as bot.core.names.fold_name does, which the console's search looks inside (the
same on SQLite and PostgreSQL, whose ``lower()`` folds only ASCII or depends on the locale).
Nobody has a name yet: nothing to fill in. Both are added in place (no table copy on SQLite).
A partial index holds the folded names (only those set): a search for a rare part of a name
reads it instead of the whole table.

Revision ID: eafcfdd9f8ff
Revises: 0852061896db
Create Date: 2026-12-03 12:54:27.355196
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "eafcfdd9f8ff"
down_revision: str | Sequence[str] | None = "0852061896db"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAMED = "name_folded IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("subscribers") as batch_op:
        batch_op.add_column(sa.Column("name", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("name_folded", sa.String(length=256), nullable=True))
    op.create_index(
        "ix_subscribers_name_folded",
        "subscribers",
        ["name_folded"],
        sqlite_where=sa.text(NAMED),
        postgresql_where=sa.text(NAMED),
    )


def downgrade() -> None:
    op.drop_index("ix_subscribers_name_folded", table_name="subscribers")
    with op.batch_alter_table("subscribers") as batch_op:
        batch_op.drop_column("name_folded")
        batch_op.drop_column("name")
