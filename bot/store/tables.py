"""The models as Core tables: the one place the store turns a model into a ``Table``.

The models live in :mod:`bot.store.models` and the modules beside it
(``broadcast_models``, ``coordinator_models``, ``draft_models``); ``metadata`` holds them all.
Store modules write Core statements on these (``from bot.store.tables import contacts``);
ORM entities cost more to build and compile than the hot path's whole unit of work.
:func:`insert_ignoring` is the dialect's ``INSERT`` that knows ``ON CONFLICT DO NOTHING``,
and :class:`PerDialect` builds such a statement once per dialect, when a connection first
needs it; :func:`row_exists` tells "no such row" from "nothing to change" after an UPDATE;
:func:`unnested` gives arrays bound as rows, for PostgreSQL's statements for many rows at once.

A dialect's module is imported only when a statement for it is built: importing SQLAlchemy's
PostgreSQL dialect would cost every command on SQLite tens of milliseconds for nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from sqlalchemy import ARRAY, Connection, Table, bindparam, func, select
from sqlalchemy.sql.selectable import TableValuedAlias
from sqlalchemy.types import TypeEngine

from bot.store.broadcast_models import (
    Announcement,
    Broadcast,
    Delivery,
    RecipientPage,
    Schedule,
)
from bot.store.coordinator_models import (
    AnswerChange,
    ConsoleKey,
    Coordinator,
    CoordinatorAnswer,
    SignInFailure,
    SignInLink,
    TestSend,
)
from bot.store.draft_models import AnnounceDraft, ReplyDraft
from bot.store.models import (
    Base,
    Contact,
    Message,
    ParkedReport,
    Subscriber,
    Thread,
    WorkerEpoch,
)

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite

T = TypeVar("T")

# The whole schema: every model module is imported above, so every table is on it (Alembic
# compares it with the database; the tests empty its tables).
metadata = Base.metadata


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
recipient_pages = _table(RecipientPage)
parked_reports = _table(ParkedReport)
answers = _table(CoordinatorAnswer)
answer_changes = _table(AnswerChange)
threads = _table(Thread)
coordinators = _table(Coordinator)
sign_in_links = _table(SignInLink)
sign_in_failures = _table(SignInFailure)
console_keys = _table(ConsoleKey)
test_sends = _table(TestSend)
worker_epochs = _table(WorkerEpoch)
announce_drafts = _table(AnnounceDraft)
reply_drafts = _table(ReplyDraft)


class PerDialect(Generic[T]):
    """What ``build(dialect name)`` returns, built the first time a connection of that dialect
    asks (:meth:`of`) and kept: statements for PostgreSQL are never built, nor its dialect
    imported, in a process on SQLite."""

    __slots__ = ("_build", "_built")

    def __init__(self, build: Callable[[str], T]) -> None:
        self._build = build
        self._built: dict[str, T] = {}

    def of(self, conn: Connection) -> T:
        """The one for ``conn``'s database; ``NotImplementedError`` for a dialect other than
        SQLite or PostgreSQL."""
        name = conn.dialect.name
        try:
            return self._built[name]
        except KeyError:
            # Two threads may both build it the first time; either result serves.
            return self._built.setdefault(name, self._build(name))


def insert_ignoring(dialect: str, table: Table) -> sqlite.Insert | postgresql.Insert:
    """``INSERT INTO table`` for ``dialect``, which has ``.on_conflict_do_nothing()``;
    ``NotImplementedError`` for a dialect other than SQLite or PostgreSQL."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(table)
    raise NotImplementedError(f"no upsert for the {dialect} dialect")


def row_exists(conn: Connection, table: Table, row_id: int, **equal: str) -> bool:
    """Whether ``table`` has the row ``row_id`` (with the columns in ``equal`` so)."""
    stmt = select(table.c.id).where(
        table.c.id == row_id, *(table.c[k] == v for k, v in equal.items())
    )
    return conn.execute(stmt).first() is not None


def unnested(ordinality: str | None = None, **columns: TypeEngine[Any]) -> TableValuedAlias:
    """The derived table ``given`` whose columns are ``columns``, each bound as an array of
    its type under the column's name, read row by row (PostgreSQL's ``unnest``; with
    ``ordinality``, a column of that name numbers the rows from 1): one statement for many
    rows at once."""
    arrays = (bindparam(name, type_=ARRAY(kind)) for name, kind in columns.items())
    return (
        func.unnest(*arrays)
        .table_valued(*columns, with_ordinality=ordinality)
        .render_derived(name="given")
    )
