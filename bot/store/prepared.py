"""Core statements compiled once per dialect and run on the connection's own DBAPI cursor.

``conn.execute(statement)`` spends far longer in SQLAlchemy than in the database for the
small statements of the inbound hot path: a cache key per call, a compiled-cache look-up, an
execution context, parameter and result processing, a ``Result``. :class:`Prepared` does the
compiling once per dialect and keeps what the execution needs: the SQL string, the order of
the positional parameters, and the bind and result processors of their types, taken from the
same Core statement (so ``UTCDateTime`` and JSON columns convert as SQLAlchemy would; on
SQLite an aware UTC datetime takes a shorter way to the same text). Each call then runs on a
cursor of ``conn``'s DBAPI connection: the same transaction and savepoint as everything else
on ``conn``.

The Core statement stays the one definition; no SQL is written by hand. What is given up:
SQLAlchemy's cursor events (``echo`` does not show these statements) and its invalidation of
a connection that dropped mid-statement (the pool's checkout finds it closed the next time:
see :mod:`bot.store.engine`).
DBAPI errors are wrapped in SQLAlchemy's exceptions (``IntegrityError`` …) as ``execute``
would, with the parameters hidden. Only statements with fixed binds are accepted: no
``IN`` lists expanded at execution, no Python-side column defaults.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from bot.store.models import UTCDateTime

_Processor = Callable[[Any], Any] | None


class NotPreparable(ValueError):
    """The statement needs something at execution time that :class:`Prepared` does not do."""


@dataclass(frozen=True, slots=True)
class _Form:
    """The statement as one dialect runs it."""

    sql: str
    # The positional parameters from the caller's: see _arguments.
    arguments: Callable[[Mapping[str, Any]], tuple[Any, ...]]
    results: tuple[_Processor, ...] | None  # None: no column needs converting
    error_base: type[Exception]


class Prepared:
    """``statement``, run with :meth:`run` on a ``Connection`` of any dialect we support."""

    __slots__ = ("_forms", "_last", "statement")

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._forms: weakref.WeakKeyDictionary[Dialect, _Form] = weakref.WeakKeyDictionary()
        # The dialect of the last run and its form, one tuple so threads see a matching pair:
        # a process uses one dialect, and this spares a look-up in _forms per run.
        self._last: tuple[Dialect, _Form] | None = None

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """The rows the statement returns (none for a DML statement without RETURNING)."""
        return self.run(conn, params)[0]

    def scalar(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        """The first column of the first row, or None when there is no row."""
        rows = self.run(conn, params)[0]
        return rows[0][0] if rows else None

    def rowcount(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """How many rows the statement changed."""
        return self.run(conn, params)[1]

    def run(self, conn: Connection, params: Mapping[str, Any]) -> tuple[list[tuple[Any, ...]], int]:
        """Execute with ``params`` (keyed by bind name) in ``conn``'s transaction: the rows
        it returned (result types applied) and the driver's rowcount.

        Raises SQLAlchemy's DBAPI error family (``IntegrityError`` …) when the database
        refuses, ``KeyError`` when a bind has no value in ``params``.
        """
        dialect = conn.dialect
        last = self._last
        if last is not None and last[0] is dialect:
            form = last[1]
        else:
            found = self._forms.get(dialect)
            form = found if found is not None else _compile(self.statement, dialect)
            self._forms[dialect] = form
            self._last = (dialect, form)
        # A processor may raise (a naive datetime): before the database is touched.
        args = form.arguments(params)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(form.sql, args)
            rows = cursor.fetchall() if cursor.description is not None else []
            rowcount = cursor.rowcount
        except form.error_base as exc:
            raise DBAPIError.instance(
                form.sql, args, exc, form.error_base, hide_parameters=True, dialect=dialect
            ) from exc
        finally:
            cursor.close()
        if form.results is not None:
            rows = [
                tuple(v if p is None else p(v) for v, p in zip(row, form.results, strict=True))
                for row in rows
            ]
        elif rows and type(rows[0]) is not tuple:  # sqlite3 gives tuples, asyncpg Records
            rows = [tuple(row) for row in rows]
        return cast(list[tuple[Any, ...]], rows), rowcount


def _utc_text(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``convert`` (UTCDateTime on SQLite: to UTC, then SQLAlchemy's DATETIME text) with a
    short way, at a third of the cost, for the usual value: an aware datetime already in
    UTC. Every other value, a naive one included, goes through ``convert`` itself."""

    def to_text(value: Any) -> Any:
        if type(value) is datetime and value.tzinfo is UTC:
            return _SQLITE_DATETIME % (
                value.year,
                value.month,
                value.day,
                value.hour,
                value.minute,
                value.second,
                value.microsecond,
            )
        return convert(value)

    return to_text


def _arguments(
    keys: list[tuple[str, _Processor]], order: list[tuple[bool, Any]]
) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """A function from the caller's parameters to the statement's positional ones.

    ``keys``: each key the caller gives, with its bind processor (each converted once, in this
    order, however often the statement uses it); ``order``: per positional parameter,
    ``(True, key)`` or ``(False, the converted constant)``. The function is generated, as
    dataclasses and namedtuple generate theirs: one assignment per key and one tuple, instead
    of two loops over the binds on every run. Names and values never enter the source: keys
    are written with ``repr`` and processors and constants are passed in as globals.
    """
    namespace: dict[str, Any] = {}
    lines = ["def arguments(params):"]
    local: dict[str, str] = {}
    for i, (key, proc) in enumerate(keys):
        local[key] = f"v{i}"
        if proc is None:
            lines.append(f"    v{i} = params[{key!r}]")
        else:
            namespace[f"p{i}"] = proc
            lines.append(f"    v{i} = p{i}(params[{key!r}])")
    items = []
    for j, (from_caller, value) in enumerate(order):
        if from_caller:
            items.append(local[value])
        else:
            namespace[f"c{j}"] = value
            items.append(f"c{j}")
    lines.append(f"    return ({''.join(item + ', ' for item in items)})")
    exec("\n".join(lines), namespace)  # noqa: S102 (our own source, see above)
    arguments: Callable[[Mapping[str, Any]], tuple[Any, ...]] = namespace["arguments"]
    return arguments


# SQLAlchemy's SQLite DATETIME storage format (the default, which the models use).
_SQLITE_DATETIME = "%04d-%02d-%02d %02d:%02d:%02d.%06d"


def _compile(statement: ClauseElement, dialect: Dialect) -> _Form:
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    if compiled.post_compile_params or compiled.literal_execute_params:
        raise NotPreparable("binds expanded at execution time (IN lists) are not supported")
    if compiled.escaped_bind_names:
        raise NotPreparable("bind names that need escaping are not supported")
    if getattr(compiled, "insert_prefetch", ()) or getattr(compiled, "update_prefetch", ()):
        raise NotPreparable("Python-side column defaults are not supported: give every value")
    if compiled.positiontup is None:
        raise NotPreparable(f"the {dialect.name} dialect binds by name; positional expected")
    by_name = {name: bind for bind, name in compiled.bind_names.items()}
    keys: dict[str, tuple[type[Any], _Processor]] = {}
    order: list[tuple[bool, Any]] = []
    for name in compiled.positiontup:
        bind = by_name[name]
        impl = bind.type.dialect_impl(dialect)
        proc: _Processor = impl.bind_processor(dialect)
        if proc is not None and isinstance(bind.type, UTCDateTime) and dialect.name == "sqlite":
            proc = _utc_text(proc)
        if bind.required:
            kind, _ = keys.setdefault(bind.key, (type(impl), proc))
            if kind is not type(impl):
                raise NotPreparable(f"bind {bind.key!r} is used with two types")
            order.append((True, bind.key))
        else:
            value = bind.effective_value
            order.append((False, value if proc is None else proc(value)))
    results = tuple(
        column.type.dialect_impl(dialect).result_processor(dialect, None)
        for column in getattr(statement, "exported_columns", ())
    )
    dbapi = dialect.loaded_dbapi
    return _Form(
        sql=compiled.string,
        arguments=_arguments([(key, proc) for key, (_, proc) in keys.items()], order),
        results=results if any(p is not None for p in results) else None,
        error_base=dbapi.Error,
    )
