"""announcements.text_ur_latn (an announcement's Roman Urdu text) and test_sends (a
coordinator's test of an announcement to their own number or chat, from the console)

Revision ID: aea5a18d2a6e
Revises: 361bfe4041ef
Create Date: 2026-12-03 09:51:19.017287
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'aea5a18d2a6e'
down_revision: str | Sequence[str] | None = '361bfe4041ef'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('test_sends',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('provider_id', sa.String(length=128), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("channel IN ('sms', 'telegram')", name=op.f('ck_test_sends_channel')),
    sa.CheckConstraint("status IN ('sent', 'failed')", name=op.f('ck_test_sends_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_test_sends'))
    )
    with op.batch_alter_table('test_sends', schema=None) as batch_op:
        batch_op.create_index('ix_test_sends_created_by_created_at', ['created_by', 'created_at'], unique=False)

    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('text_ur_latn', sa.Text(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.drop_column('text_ur_latn')

    with op.batch_alter_table('test_sends', schema=None) as batch_op:
        batch_op.drop_index('ix_test_sends_created_by_created_at')

    op.drop_table('test_sends')
