"""Prepared statements run as SQLAlchemy would run the same Core statement, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Connection, bindparam, create_engine, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store import contacts, messages
from bot.store.engine import create_engine as create_store_engine
from bot.store.migrate import upgrade
from bot.store.models import NaiveDatetimeError, UTCDateTime
from bot.store.prepared import NotPreparable, Prepared, _arguments, _utc_text
from bot.store.tables import messages as _messages
from bot.store.tables import subscribers as subscribers_table

# Not UTC, with microseconds: the conversion to stored UTC is what is compared.
NOW = datetime(2026, 3, 1, 14, 5, 9, 120034, tzinfo=timezone(timedelta(hours=5)))

_INSERT = insert(_messages).values(
    contact_id=bindparam("contact_id"),
    direction="out",
    channel="sms",
    text=bindparam("text"),
    provider_id=bindparam("provider_id"),
    segments=bindparam("segments"),
    status="sent",
    created_at=bindparam("now"),
    updated_at=bindparam("now"),
)
_READ = select(_messages.c.id, _messages.c.text, _messages.c.created_at).where(
    _messages.c.provider_id == bindparam("provider_id")
)


async def _in_transaction(engine: AsyncEngine, fn: Any) -> Any:
    async with engine.begin() as conn:
        return await conn.run_sync(fn)


def _contact(conn: Connection) -> int:
    return contacts.upsert_contact(conn, "sms", "+923001234567", NOW).contact_id


def _params(contact_id: int, provider_id: str) -> dict[str, Any]:
    text = "Jobs: text FAQ 3 — نوکری"
    return {"contact_id": contact_id, "text": text, "provider_id": provider_id, "segments": 1}


@pytest.mark.parametrize(
    "now",
    [NOW, NOW.astimezone(UTC), NOW.astimezone(UTC).replace(microsecond=0)],
    ids=["plus-5", "utc", "utc-whole-second"],
)
async def test_stores_the_same_values_as_execute(engine: AsyncEngine, now: datetime) -> None:
    def unit(conn: Connection) -> tuple[Any, Any]:
        contact_id = _contact(conn)
        conn.execute(_INSERT, {**_params(contact_id, "by-execute"), "now": now})
        Prepared(_INSERT).rows(conn, {**_params(contact_id, "by-prepared"), "now": now})
        # Raw column values, as the database holds them (text on SQLite, timestamptz on PG).
        raw = text(
            "SELECT contact_id, direction, channel, text, segments, status, created_at, "
            "updated_at FROM messages WHERE provider_id = :p"
        )
        by_execute = conn.execute(raw, {"p": "by-execute"}).one()
        by_prepared = conn.execute(raw, {"p": "by-prepared"}).one()
        return tuple(by_execute), tuple(by_prepared)

    by_execute, by_prepared = await _in_transaction(engine, unit)

    assert by_prepared == by_execute


async def test_reads_results_through_the_column_types(engine: AsyncEngine) -> None:
    def unit(conn: Connection) -> list[tuple[Any, ...]]:
        contact_id = _contact(conn)
        conn.execute(_INSERT, {**_params(contact_id, "sid-1"), "now": NOW})
        return Prepared(_READ).rows(conn, {"provider_id": "sid-1"})

    [(message_id, stored_text, created_at)] = await _in_transaction(engine, unit)

    assert isinstance(message_id, int)
    assert stored_text == "Jobs: text FAQ 3 — نوکری"
    assert created_at == NOW and created_at.tzinfo is UTC, "aware UTC, as UTCDateTime reads it"


async def test_scalar_rows_and_rowcount(engine: AsyncEngine) -> None:
    update = Prepared(
        _messages.update()
        .where(_messages.c.contact_id == bindparam("contact_id"))
        .values(status=bindparam("status"))
    )

    def unit(conn: Connection) -> tuple[Any, ...]:
        contact_id = _contact(conn)
        returning = Prepared(_INSERT.returning(_messages.c.id))
        first = returning.scalar(conn, {**_params(contact_id, "a"), "now": NOW})
        second = returning.scalar(conn, {**_params(contact_id, "b"), "now": NOW})
        changed = update.rowcount(conn, {"contact_id": contact_id, "status": "delivered"})
        nothing = Prepared(_READ).scalar(conn, {"provider_id": "no such sid"})
        return first, second, changed, nothing

    first, second, changed, nothing = await _in_transaction(engine, unit)

    assert second == first + 1
    assert changed == 2
    assert nothing is None


async def test_a_refused_statement_raises_sqlalchemys_error(engine: AsyncEngine) -> None:
    def unit(conn: Connection) -> None:
        contact_id = _contact(conn)
        messages.record_outbound(conn, contact_id, "sms", "hi", NOW, provider_id="SM1")
        messages.record_outbound(conn, contact_id, "sms", "hi", NOW, provider_id="SM1")

    with pytest.raises(IntegrityError) as refused:
        await _in_transaction(engine, unit)

    assert "SM1" not in str(refused.value), "parameters never reach an error message"


async def test_a_naive_datetime_is_refused_before_the_database(engine: AsyncEngine) -> None:
    def unit(conn: Connection) -> None:
        params = {**_params(_contact(conn), "naive"), "now": NOW.replace(tzinfo=None)}
        Prepared(_INSERT).rows(conn, params)

    with pytest.raises(NaiveDatetimeError):
        await _in_transaction(engine, unit)


async def test_one_statement_runs_on_two_databases_in_turn(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    # Each run must use the form of its own connection's dialect, whichever ran last: with
    # PostgreSQL, SQLite's form ("?" parameters) would be refused there, and the reverse.
    other_url = f"sqlite+aiosqlite:///{tmp_path / 'other.db'}"
    await upgrade(other_url)
    other = create_store_engine(other_url)
    insert, read = Prepared(_INSERT), Prepared(_READ)
    try:
        for turn, db in enumerate([engine, other, engine, other, engine]):

            def unit(conn: Connection, sid: str = f"sid-{turn}") -> list[tuple[Any, ...]]:
                insert.rows(conn, {**_params(_contact(conn), sid), "now": NOW})
                return read.rows(conn, {"provider_id": sid})

            [(_, stored_text, created_at)] = await _in_transaction(db, unit)
            assert (stored_text, created_at) == ("Jobs: text FAQ 3 — نوکری", NOW)
    finally:
        await other.dispose()


def test_arguments_convert_each_key_once_and_keep_constants_in_place() -> None:
    seen: list[Any] = []

    def double(value: Any) -> Any:
        seen.append(value)
        return value * 2

    arguments = _arguments(
        [("it's", double), ("plain", None)],
        [(True, "plain"), (False, "constant"), (True, "it's"), (True, "it's")],
    )

    assert arguments({"it's": 3, "plain": "p", "unused": 0}) == ("p", "constant", 6, 6)
    assert seen == [3]
    assert _arguments([], [])({}) == ()
    with pytest.raises(KeyError, match="plain"):
        arguments({"it's": 3})


async def test_a_missing_value_is_a_key_error(engine: AsyncEngine) -> None:
    def unit(conn: Connection) -> None:
        Prepared(_READ).rows(conn, {})

    with pytest.raises(KeyError, match="provider_id"):
        await _in_transaction(engine, unit)


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param(select(_messages.c.id).where(_messages.c.id.in_([1, 2])), id="in-list"),
        pytest.param(
            # subscribers.topics has a Python-side default (list), not given here.
            insert(subscribers_table).values(created_at=NOW, updated_at=NOW),
            id="python-default",
        ),
    ],
)
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_statements_needing_work_at_execution_are_refused(
    engine: AsyncEngine, statement: Any
) -> None:
    with pytest.raises(NotPreparable):
        await _in_transaction(engine, lambda conn: Prepared(statement).rows(conn, {}))


_SQLITE = create_engine("sqlite://").dialect
_STORED_BY_SQLALCHEMY = UTCDateTime().dialect_impl(_SQLITE).bind_processor(_SQLITE)


@given(
    st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=5)), ZoneInfo("Asia/Karachi")]),
    )
)
def test_the_short_way_for_utc_gives_sqlalchemys_text(value: datetime) -> None:
    assert _STORED_BY_SQLALCHEMY is not None
    assert _utc_text(_STORED_BY_SQLALCHEMY)(value) == _STORED_BY_SQLALCHEMY(value)


def test_the_short_way_still_refuses_a_naive_datetime() -> None:
    assert _STORED_BY_SQLALCHEMY is not None
    with pytest.raises(NaiveDatetimeError):
        _utc_text(_STORED_BY_SQLALCHEMY)(datetime(2026, 1, 1, 12, 0))
