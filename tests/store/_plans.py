"""What the databases' planners do with the statements a store function runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection, event, text


def _record(conn: Connection, run: Callable[[Connection], object]) -> list[tuple[str, Any]]:
    """The statements ``run(conn)`` executes, with their parameters, in order."""
    seen: list[tuple[str, Any]] = []

    def record(_c: Any, _cur: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append((statement, params))

    event.listen(conn, "before_cursor_execute", record)
    try:
        run(conn)
    finally:
        event.remove(conn, "before_cursor_execute", record)
    return seen


def plans(conn: Connection, run: Callable[[Connection], object]) -> list[tuple[str, list[str]]]:
    """Each statement ``run(conn)`` executes with the steps of SQLite's query plan for it, in
    order; the test is skipped on another database."""
    if conn.dialect.name != "sqlite":
        pytest.skip("SQLite's query plan")
    return [
        (
            statement,
            [row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)],
        )
        for statement, params in _record(conn, run)
    ]


def last_plan(conn: Connection, run: Callable[[Connection], object]) -> list[str]:
    """The steps of SQLite's query plan for the last statement ``run(conn)`` executes; the
    test is skipped on another database."""
    return plans(conn, run)[-1][1]


def explained(conn: Connection, run: Callable[[Connection], object]) -> list[tuple[str, str]]:
    """Each statement ``run(conn)`` executes with its query plan as one string, in order, on
    SQLite or PostgreSQL: which index can answer it (a partial one only when the query implies
    its condition), not which plan a full table would get.

    On PostgreSQL the plans are made with sequential scans priced out (``enable_seqscan`` off
    for the rest of the transaction): on a test's few rows reading the whole table is the
    cheapest plan, and with it priced out the plan names an index whenever one can answer."""
    if conn.dialect.name == "sqlite":
        return [(statement, "\n".join(steps)) for statement, steps in plans(conn, run)]
    seen = _record(conn, run)
    conn.execute(text("SET LOCAL enable_seqscan = off"))
    return [
        (statement, "\n".join(conn.exec_driver_sql("EXPLAIN " + statement, params).scalars()))
        for statement, params in seen
    ]


def index_definition(conn: Connection, name: str) -> str:
    """The statement that made index ``name``, as the database keeps it: SQLite's
    ``sqlite_master.sql``, PostgreSQL's ``pg_indexes.indexdef``."""
    if conn.dialect.name == "sqlite":
        query = "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :name"
    else:
        query = "SELECT indexdef FROM pg_indexes WHERE indexname = :name"
    definition: str = conn.execute(text(query), {"name": name}).scalar_one()
    return definition
