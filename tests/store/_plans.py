"""What SQLite's planner does with the statements a store function runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection, event


def plans(conn: Connection, run: Callable[[Connection], object]) -> list[tuple[str, list[str]]]:
    """Each statement ``run(conn)`` executes with the steps of SQLite's query plan for it, in
    order; the test is skipped on another database."""
    if conn.dialect.name != "sqlite":
        pytest.skip("SQLite's query plan")
    seen: list[tuple[str, Any]] = []

    def record(_c: Any, _cur: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append((statement, params))

    event.listen(conn, "before_cursor_execute", record)
    try:
        run(conn)
    finally:
        event.remove(conn, "before_cursor_execute", record)
    return [
        (
            statement,
            [row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)],
        )
        for statement, params in seen
    ]


def last_plan(conn: Connection, run: Callable[[Connection], object]) -> list[str]:
    """The steps of SQLite's query plan for the last statement ``run(conn)`` executes; the
    test is skipped on another database."""
    return plans(conn, run)[-1][1]
