"""bot.store.models: what the column types and checks do, whoever writes the row."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import update
from sqlalchemy.exc import StatementError

from bot.store import contacts
from bot.store.models import NaiveDatetimeError, require_aware
from bot.store.tables import contacts as contacts_table
from bot.store.units import Units

NOW = datetime(2025, 11, 25, 9, 30, tzinfo=UTC)
NAIVE = datetime(2025, 11, 25, 9, 30)


def test_require_aware() -> None:
    require_aware(NOW)
    with pytest.raises(NaiveDatetimeError, match="naive"):
        require_aware(NAIVE)


async def test_a_naive_datetime_is_refused_by_the_column_type(units: Units) -> None:
    ref = await units.run(lambda conn: contacts.upsert_contact(conn, "sms", "+923001234567", NOW))
    c = contacts_table
    with pytest.raises(StatementError, match="naive") as caught:
        await units.run(
            lambda conn: conn.execute(
                update(c).where(c.c.id == ref.contact_id).values(updated_at=NAIVE)
            )
        )
    assert isinstance(caught.value.orig, NaiveDatetimeError)
