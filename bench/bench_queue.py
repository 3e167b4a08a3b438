"""Queueing a broadcast to 1,000,000 subscribers: ours vs loading them into Python.

Compares the seconds and peak memory of our ``queue_deliveries`` (one ``INSERT … SELECT``)
against a naive peer that loads the recipients and ``executemany``s the rows, on SQLite.

Run: .venv/bin/python -m bench.bench_queue [N] [PEER_N]     (defaults 1,000,000 and 100,000)

A fresh, migrated SQLite file gets N subscribers, each with one active SMS contact, written
by ``INSERT … SELECT`` from a recursive CTE (no Python loop). Then, each step in its own
process so its peak memory is its own:

- ``ours``: :func:`bot.store.broadcasts.queue_deliveries` with the default audience (both
  channels, cheapest channel first, so the ``NOT EXISTS`` Telegram probe runs for every
  contact), in one transaction, committed, as a Unit runs it;
- ``naive`` (the peer): load the matching contacts into Python (the same SELECT) and
  ``executemany`` the delivery rows through SQLAlchemy Core, on PEER_N subscribers; its
  1,000,000 figures are a linear extrapolation, labelled as such.

Memory: ``ru_maxrss`` is the process's peak resident set (Python, SQLAlchemy and SQLite's
page cache together; the figure after imports alone is printed as the baseline) and
``tracemalloc`` the peak of Python allocations during the step.
Targets for ours at N = 1,000,000: at most 10 s and 200 MB (ru_maxrss).
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, insert

from bench._common import REPO, module
from bench._seed import subscribers
from bot.core.audience import Audience
from bot.store import broadcasts
from bot.store.engine import create_sync_sqlite_engine
from bot.store.migrate import upgrade

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
STAMP = "2026-11-25 10:00:00.000000"  # NOW as the SQLite column stores it
TARGET_S = 10.0
TARGET_MB = 200.0


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _url(path: str) -> str:
    return f"sqlite+aiosqlite:///{path}"


def seed(path: str, n: int) -> dict[str, Any]:
    """Migrate a new file and add ``n`` subscribers with an SMS contact each (languages
    and topics mixed)."""
    asyncio.run(upgrade(_url(path)))
    engine = create_sync_sqlite_engine(_url(path))
    start = time.perf_counter()
    with engine.begin() as conn:
        subscribers(conn, n, STAMP, "Training on Monday 10:00", "sms", mixed=True)
    seconds = time.perf_counter() - start
    engine.dispose()
    return {"seed_s": seconds}


def _broadcast(engine: Any, key: str) -> int:
    with engine.begin() as conn:
        bid = broadcasts.create_broadcast(conn, 1, Audience(), key, NOW, NOW)
    assert bid is not None
    return bid


def _timed(path: str, key: str, queue: Callable[[Connection, int], int]) -> dict[str, Any]:
    """A new broadcast, then ``queue(conn, its id)`` timed in one transaction, committed:
    seconds, peak resident set (and before), peak of Python allocations."""
    engine = create_sync_sqlite_engine(_url(path))
    bid = _broadcast(engine, key)
    base_rss = _rss_mb()
    tracemalloc.start()
    start = time.perf_counter()
    with engine.begin() as conn:
        queued = queue(conn, bid)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    engine.dispose()
    return {
        "queued": queued,
        "seconds": seconds,
        "rss_mb": _rss_mb(),
        "base_rss_mb": base_rss,
        "py_peak_mb": peak / 2**20,
    }


def ours(path: str) -> dict[str, Any]:
    def queue(conn: Connection, bid: int) -> int:
        return broadcasts.queue_deliveries(conn, bid, Audience(), NOW)

    return _timed(path, "bench:ours", queue)


def naive(path: str) -> dict[str, Any]:
    """The peer: the same recipients, loaded into Python, then executemany."""
    from bot.store.tables import contacts, deliveries

    base, where = broadcasts._recipients("sqlite", Audience())
    select_recipients = base.add_columns(contacts.c.id, contacts.c.channel).where(and_(*where))

    def load_then_insert(conn: Connection, bid: int) -> int:
        people = conn.execute(select_recipients).all()
        rows = [
            {
                "broadcast_id": bid,
                "contact_id": contact_id,
                "channel": channel,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": NOW,
                "created_at": NOW,
                "updated_at": NOW,
            }
            for contact_id, channel in people
        ]
        conn.execute(insert(deliveries), rows)
        return len(rows)

    return _timed(path, "bench:naive", load_then_insert)


STEPS = {"seed": seed, "ours": ours, "naive": naive}


def child(step: str, path: str, *args: str) -> dict[str, Any]:
    """Run ``step`` in a fresh interpreter so ru_maxrss is that step's alone."""
    out = subprocess.run(
        module("bench_queue", "--step", step, path, *args),
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def _line(label: str, r: dict[str, Any], n: int) -> str:
    rate = r["queued"] / r["seconds"] if r["seconds"] else float("inf")
    return (
        f"{label:<34} {n:>9,} subs  {r['queued']:>9,} queued  {r['seconds']:7.2f} s  "
        f"{rate:>10,.0f} rows/s  peak RSS {r['rss_mb']:6.1f} MB (imports {r['base_rss_mb']:.0f})  "
        f"tracemalloc peak {r['py_peak_mb']:8.2f} MB"
    )


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--step":
        step, path, *args = sys.argv[2:]
        fn: Any = STEPS[step]
        print(json.dumps(fn(path, *(int(a) for a in args))))
        return 0
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    peer_n = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    with tempfile.TemporaryDirectory(prefix="bench-queue-") as tmp:
        big, small = f"{tmp}/big.db", f"{tmp}/small.db"
        print(f"seeding {n:,} subscribers with an SMS contact each ...", flush=True)
        seeded = child("seed", big, str(n))
        print(f"  {seeded['seed_s']:.1f} s (recursive CTE, INSERT ... SELECT)", flush=True)
        big_ours = child("ours", big)
        child("seed", small, str(peer_n))
        small_ours = child("ours", small)
        small_naive = child("naive", small)
    factor = n / peer_n
    extrapolated = {
        **small_naive,
        "queued": round(small_naive["queued"] * factor),
        "seconds": small_naive["seconds"] * factor,
        "rss_mb": small_naive["base_rss_mb"]
        + (small_naive["rss_mb"] - small_naive["base_rss_mb"]) * factor,
        "py_peak_mb": small_naive["py_peak_mb"] * factor,
    }
    print()
    print(_line("ours  queue_deliveries", big_ours, n))
    print(_line("ours  queue_deliveries", small_ours, peer_n))
    print(_line("naive load + executemany (peer)", small_naive, peer_n))
    print(_line(f"naive EXTRAPOLATED x{factor:g} (linear)", extrapolated, n))
    ok = (
        big_ours["queued"] == n
        and big_ours["seconds"] <= TARGET_S
        and big_ours["rss_mb"] <= TARGET_MB
    )
    print(
        f"\ntarget at {n:,}: <= {TARGET_S:.0f} s and <= {TARGET_MB:.0f} MB peak RSS: "
        f"{'met' if ok else 'NOT met'} ({big_ours['seconds']:.2f} s, {big_ours['rss_mb']:.0f} MB); "
        f"speed-up over the naive peer at {peer_n:,}: "
        f"{small_naive['seconds'] / small_ours['seconds']:.1f}x"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
