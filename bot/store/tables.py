"""The models as Core tables: the one place the store turns a model into a ``Table``.

Store modules write Core statements on these (``from bot.store.tables import contacts``);
ORM entities cost more to build and compile than the hot path's whole unit of work.
:func:`insert_ignoring` is the dialect's ``INSERT`` that knows ``ON CONFLICT DO NOTHING``;
:func:`row_exists` tells "no such row" from "nothing to change" after an UPDATE.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar, cast

from sqlalchemy import Connection, Table, select
from sqlalchemy.dialects import postgresql, sqlite

from bot.store.models import (
    Announcement,
    Base,
    Broadcast,
    Contact,
    Delivery,
    Message,
    ParkedReport,
    Schedule,
    Subscriber,
    Thread,
)

T = TypeVar("T")


def _table(model: type[Base]) -> Table:
    # Declarative models type __table__ as FromClause; ours are all plain tables.
    return cast(Table, model.__table__)


subscribers = _table(Subscriber)
contacts = _table(Contact)
messages = _table(Message)
announcements = _table(Announcement)
schedules = _table(Schedule)
broadcasts = _table(Broadcast)
deliveries = _table(Delivery)
parked_reports = _table(ParkedReport)
threads = _table(Thread)

_INSERTS: dict[str, Callable[[Table], sqlite.Insert | postgresql.Insert]] = {
    "sqlite": sqlite.insert,
    "postgresql": postgresql.insert,
}


def of_dialect(forms: Mapping[str, T], conn: Connection) -> T:
    """The one of ``forms`` (keyed by dialect name) for ``conn``'s database."""
    try:
        return forms[conn.dialect.name]
    except KeyError:
        raise NotImplementedError(f"no upsert for the {conn.dialect.name} dialect") from None


def insert_ignoring(dialect: str, table: Table) -> sqlite.Insert | postgresql.Insert:
    """``INSERT INTO table`` for ``dialect``, which has ``.on_conflict_do_nothing()``;
    ``NotImplementedError`` for a dialect other than SQLite or PostgreSQL."""
    make = _INSERTS.get(dialect)
    if make is None:
        raise NotImplementedError(f"no upsert for the {dialect} dialect")
    return make(table)


def row_exists(conn: Connection, table: Table, row_id: int, **equal: str) -> bool:
    """Whether ``table`` has the row ``row_id`` (with the columns in ``equal`` so)."""
    stmt = select(table.c.id).where(
        table.c.id == row_id, *(table.c[k] == v for k, v in equal.items())
    )
    return conn.execute(stmt).first() is not None
