"""What SQLite's planner does with the statements a store function runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection, event


def last_plan(conn: Connection, run: Callable[[Connection], object]) -> list[str]:
    """The steps of SQLite's query plan for the last statement ``run(conn)`` executes; the
    test is skipped on another database."""
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
    statement, params = seen[-1]
    plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
    return [row[3] for row in plan]
