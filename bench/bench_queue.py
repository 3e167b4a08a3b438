"""Queueing a broadcast to 1,000,000 subscribers: ours vs writing every delivery at once.

Compares the seconds and peak memory of our ``queue_deliveries`` (the audience read once into
pages of contact ids, the first 5,000 written as deliveries: bot/store/pages.py) against the
design before pages (one ``INSERT … SELECT`` of a delivery row per recipient) and a naive peer
that loads the recipients and ``executemany``s the rows, on SQLite, PostgreSQL or both.

Run: .venv/bin/python -m bench.bench_queue [N] [PEER_N] [--database sqlite|postgres|both]
     [--postgres-url URL] [--tracemalloc]
     (defaults 1,000,000, 100,000 and sqlite; the PostgreSQL server is --postgres-url's,
     by default $OUTREACH_TEST_POSTGRES_URL or the local server's test database)

For each database, a fresh one (a migrated SQLite file; on PostgreSQL a new database on the
server, migrated, dropped afterwards) gets N subscribers, each with one active SMS contact,
written by :func:`bench._seed.subscribers`: ``INSERT … SELECT`` from a recursive CTE on
SQLite, from ``generate_series`` on PostgreSQL (no Python loop; PostgreSQL's tables are
analysed after, as autovacuum would have done on a live database). Then, each step in its
own process so its peak memory is its own:

- ``ours``: :func:`bot.store.broadcasts.queue_deliveries` with the default audience (both
  channels, cheapest channel first, so the ``NOT EXISTS`` Telegram probe runs for every
  contact), run as the app runs it: one unit of work through :class:`bot.store.units.Units`
  on the app's engine (:func:`bot.store.engine.create_engine`: SQLite's writer thread, or
  asyncpg), committed;
- ``rows``: every recipient a ``pending`` delivery in one ``INSERT … SELECT`` (what
  ``queue_deliveries`` did before pages), the same way, on the same N subscribers;
- ``naive`` (the peer): load the matching contacts into Python (the same SELECT) and
  ``executemany`` the delivery rows through SQLAlchemy Core, in one unit of work the same
  way, on PEER_N subscribers; its 1,000,000 figures are a linear extrapolation, labelled as
  such.

Checked afterwards: each broadcast holds exactly as many recipients as there are subscribers
(its deliveries plus the recipients still in its pages, bot/store/pages.py), counted in the
database (not taken from what the step returned).

Memory: ``ru_maxrss`` is the process's peak resident set (Python, SQLAlchemy, the driver and
SQLite's page cache together; the figure after imports alone is printed as the baseline);
with ``--tracemalloc`` also the peak of Python allocations during the step (tracing every
allocation slows Python's own work several times over, so the seconds of such a run are not
the ones to quote). On PostgreSQL the work is
done by the server's backend process, which ``ru_maxrss`` does not see: when the server runs
on this machine, the backend's private memory (``RssAnon`` in /proc/PID/status, sampled
every 0.2 s) is reported as its growth during the step, and counted with ours. The shared
buffers the backend reads and writes through belong to the server (``shared_buffers``, shared
by every connection) and are not counted.
Targets for ours at N = 1,000,000: at most 10 s and 200 MB (ru_maxrss, plus the PostgreSQL
backend's growth), on each database.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, and_, insert

from bench._common import (
    POSTGRES_URL,
    REPO,
    check_counts,
    fresh_postgres,
    load_average,
    machine,
    module,
    now_iso,
    tree_cpu_s,
    write_report,
)
from bench._seed import seed, subscribers
from bot.core.audience import Audience
from bot.store import broadcasts
from bot.store.engine import create_engine
from bot.store.units import Units

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
TARGET_S = 10.0
TARGET_MB = 200.0
DATABASES = {"sqlite": ["sqlite"], "postgres": ["postgres"], "both": ["sqlite", "postgres"]}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def step_seed(url: str, n: int) -> dict[str, Any]:
    """Migrate the empty database at ``url`` and add ``n`` subscribers with an SMS contact
    each (languages and topics mixed)."""
    _, seconds = seed(
        url, lambda conn: subscribers(conn, n, NOW, "Training on Monday 10:00", "sms", True)
    )
    return {"seed_s": seconds}


class Backend:
    """The PostgreSQL backend serving a connection, watched while a step runs: its private
    memory sampled in a thread (growth in MB over what it held when the watch began) and the
    CPU it used; None for both when the backend is not on this machine (or on SQLite)."""

    def __init__(self) -> None:
        self._pid = 0
        self._base = self._peak = 0
        self._cpu = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _rss_anon_kb(self) -> int:
        for line in Path(f"/proc/{self._pid}/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
        return 0

    def watch(self, conn: Connection) -> None:
        if conn.dialect.name != "postgresql":
            return
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        try:
            if b"postgres" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                return  # another process of the same number: the server is elsewhere
        except OSError:
            return
        self._pid = pid
        self._base = self._peak = self._rss_anon_kb()
        self._cpu = tree_cpu_s(pid)
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            with contextlib.suppress(OSError):
                self._peak = max(self._peak, self._rss_anon_kb())

    def done(self) -> tuple[float | None, float | None]:
        """Growth of its private memory (MB) and CPU seconds since :meth:`watch`."""
        if self._thread is None:
            return None, None
        cpu = tree_cpu_s(self._pid) - self._cpu
        self._stop.set()
        self._thread.join()
        with contextlib.suppress(OSError):
            self._peak = max(self._peak, self._rss_anon_kb())
        return (self._peak - self._base) / 1024, cpu


def _broadcast(conn: Connection, key: str) -> int:
    bid = broadcasts.create_broadcast(conn, 1, Audience(), key, NOW, NOW)
    assert bid is not None
    return bid


async def _timed(url: str, key: str, queue: Callable[[Connection, int], int]) -> dict[str, Any]:
    """A new broadcast, then ``queue(conn, its id)`` timed as one unit of work, committed:
    seconds, peak resident set (and before), peak of Python allocations, and on PostgreSQL
    the backend's growth."""
    engine = create_engine(url)
    units = Units(engine)
    try:
        bid = await units.run(lambda conn: _broadcast(conn, key))  # connected before the clock
        base_rss = _rss_mb()
        backend = Backend()

        def unit(conn: Connection) -> int:
            backend.watch(conn)
            return queue(conn, bid)

        traced = bool(os.environ.get(_TRACE))
        if traced:
            tracemalloc.start()
        cpu, start = time.process_time(), time.perf_counter()
        queued = await units.run(unit)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        peak = tracemalloc.get_traced_memory()[1] if traced else None
        tracemalloc.stop()
        backend_mb, backend_cpu = backend.done()
    finally:
        units.close()
        await engine.dispose()
    return {
        "queued": queued,
        "seconds": seconds,
        "rss_mb": _rss_mb(),
        "base_rss_mb": base_rss,
        "py_peak_mb": None if peak is None else peak / 2**20,
        "cpu_s": cpu,
        "backend_mb": backend_mb,
        "backend_cpu_s": backend_cpu,
    }


def step_ours(url: str) -> dict[str, Any]:
    def queue(conn: Connection, bid: int) -> int:
        return broadcasts.queue_deliveries(conn, bid, Audience(), NOW)

    return asyncio.run(_timed(url, "bench:ours", queue))


def step_naive(url: str) -> dict[str, Any]:
    """The peer: the same recipients, loaded into Python, then executemany."""
    from bot.store.tables import contacts, deliveries

    def load_then_insert(conn: Connection, bid: int) -> int:
        base, where = broadcasts._recipients(conn.dialect.name, Audience())
        select_recipients = base.add_columns(contacts.c.id, contacts.c.channel).where(and_(*where))
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

    return asyncio.run(_timed(url, "bench:naive", load_then_insert))


def step_rows(url: str) -> dict[str, Any]:
    """The design before pages: every recipient a delivery row at once, in one
    ``INSERT … SELECT`` (the same audience, in contact order)."""
    from sqlalchemy import bindparam, literal

    from bot.store.tables import contacts, deliveries, insert_ignoring

    def insert_select(conn: Connection, bid: int) -> int:
        base, where = broadcasts._recipients(conn.dialect.name, Audience())
        now = bindparam("now", NOW, type_=deliveries.c.created_at.type)
        rows = (
            base.add_columns(
                literal(bid),
                contacts.c.id,
                contacts.c.channel,
                literal("pending"),
                literal(0),
                now,
                now,
                now,
            )
            .where(and_(*where))
            .order_by(contacts.c.id)
        )
        columns = [
            *("broadcast_id", "contact_id", "channel", "status", "attempts"),
            *("next_attempt_at", "created_at", "updated_at"),
        ]
        stmt = (
            insert_ignoring(conn.dialect.name, deliveries)
            .from_select(columns, rows)
            .on_conflict_do_nothing(index_elements=["broadcast_id", "contact_id"])
        )
        return max(conn.execute(stmt).rowcount, 0)

    return asyncio.run(_timed(url, "bench:rows", insert_select))


STEPS: dict[str, Callable[..., dict[str, Any]]] = {
    "seed": step_seed,
    "ours": step_ours,
    "naive": step_naive,
    "rows": step_rows,
}


def child(step: str, url: str, *args: str) -> dict[str, Any]:
    """Run ``step`` in a fresh interpreter so ru_maxrss is that step's alone."""
    out = subprocess.run(
        module("bench_queue", "--step", step, url, *args),
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


# Recipients of one of the benchmark's broadcasts (deliveries and paged), counted in the
# database.
_QUEUED = (
    "SELECT (SELECT count(*) FROM deliveries JOIN broadcasts"
    " ON broadcasts.id = deliveries.broadcast_id WHERE broadcasts.key = '{0}')"
    " + (SELECT coalesce(sum(n), 0) FROM recipient_pages JOIN broadcasts"
    " ON broadcasts.id = recipient_pages.broadcast_id WHERE broadcasts.key = '{0}')"
)
_TRACE = "BENCH_QUEUE_TRACEMALLOC"  # set: each step traces Python's allocations


def measure(database: str, n: int, peer_n: int, postgres_url: str) -> dict[str, Any]:
    """Seed, queue and check on one database (fresh ones, gone afterwards); the figures."""
    with contextlib.ExitStack() as scratch:
        if database == "postgres":
            big = scratch.enter_context(fresh_postgres(postgres_url, "queue_big"))
            small = scratch.enter_context(fresh_postgres(postgres_url, "queue_small"))
            big_db: Path | str = big
            small_db: Path | str = small
        else:
            tmp = Path(scratch.enter_context(tempfile.TemporaryDirectory(prefix="bench-queue-")))
            big_db, small_db = tmp / "big.db", tmp / "small.db"
            big, small = f"sqlite+aiosqlite:///{big_db}", f"sqlite+aiosqlite:///{small_db}"
        print(f"{database}: seeding {n:,} subscribers with an SMS contact each ...", flush=True)
        seeded = child("seed", big, str(n))
        how = "generate_series" if database == "postgres" else "recursive CTE"
        print(f"  {seeded['seed_s']:.1f} s ({how}, INSERT ... SELECT)", flush=True)
        big_ours = child("ours", big)
        big_rows = child("rows", big)
        checks = [
            check_counts(
                big_db,
                {k: _QUEUED.format(f"bench:{k}") for k in ("ours", "rows")},
                {"ours": n, "rows": n},
            )
        ]
        child("seed", small, str(peer_n))
        small_ours = child("ours", small)
        small_naive = child("naive", small)
        checks += [
            check_counts(
                small_db,
                {f"{k} at {peer_n}": _QUEUED.format(f"bench:{k}") for k in ("ours", "naive")},
                {f"{k} at {peer_n}": peer_n for k in ("ours", "naive")},
            ),
        ]
    factor = n / peer_n
    extrapolated = {
        **small_naive,
        "queued": round(small_naive["queued"] * factor),
        "rss_mb": small_naive["base_rss_mb"]
        + (small_naive["rss_mb"] - small_naive["base_rss_mb"]) * factor,
    }
    for key in ("seconds", "cpu_s", "py_peak_mb", "backend_mb", "backend_cpu_s"):
        if small_naive[key] is not None:
            extrapolated[key] = small_naive[key] * factor
    return {
        "database": database,
        "n": n,
        "peer_n": peer_n,
        "seed_s": seeded["seed_s"],
        "ours": big_ours,
        "ours_small": small_ours,
        "naive_small": small_naive,
        "naive_extrapolated": extrapolated,
        "rows": big_rows,
        "problems": [p for c in checks for p in c["problems"]],
    }


def _memory_mb(r: dict[str, Any]) -> float:
    """What ours is held to: this process's peak, plus the PostgreSQL backend's growth."""
    return float(r["rss_mb"] + (r["backend_mb"] or 0.0))


def _line(label: str, r: dict[str, Any], n: int) -> str:
    rate = r["queued"] / r["seconds"] if r["seconds"] else float("inf")
    cpu = f"CPU {r['cpu_s']:6.2f} s"
    backend = ""
    if r["backend_mb"] is not None:
        cpu += f" + PG backend {r['backend_cpu_s']:6.2f} s"
        backend = f"  PG backend +{r['backend_mb']:.1f} MB"
    traced = "" if r["py_peak_mb"] is None else f"  tracemalloc peak {r['py_peak_mb']:8.2f} MB"
    return (
        f"{label:<34} {n:>9,} subs  {r['queued']:>9,} queued  {r['seconds']:7.2f} s  "
        f"{rate:>10,.0f} rows/s  {cpu}  peak RSS {r['rss_mb']:6.1f} MB "
        f"(imports {r['base_rss_mb']:.0f}){traced}{backend}"
    )


def report(m: dict[str, Any]) -> bool:
    """Print one database's figures; whether ours met its targets and the checks passed."""
    n, peer_n, ours = m["n"], m["peer_n"], m["ours"]
    factor = n / peer_n
    print(f"\n{m['database']}:")
    print(_line("ours  queue_deliveries", ours, n))
    print(_line("rows at once (before pages)", m["rows"], n))
    print(_line("ours  queue_deliveries", m["ours_small"], peer_n))
    print(_line("naive load + executemany (peer)", m["naive_small"], peer_n))
    print(_line(f"naive EXTRAPOLATED x{factor:g} (linear)", m["naive_extrapolated"], n))
    if m["problems"]:
        print("  DATABASE CHECK FAILED: " + "; ".join(m["problems"]))
    else:
        print(
            "  checked: every broadcast holds each subscriber once, as a delivery or in a page"
            f" ({n:,}, {peer_n:,})"
        )
    memory = _memory_mb(ours)
    ok = not m["problems"] and ours["seconds"] <= TARGET_S and memory <= TARGET_MB
    counted = "peak RSS" if ours["backend_mb"] is None else "peak RSS + PG backend"
    print(
        f"  target at {n:,}: <= {TARGET_S:.0f} s and <= {TARGET_MB:.0f} MB ({counted}): "
        f"{'met' if ok else 'NOT met'} ({ours['seconds']:.2f} s, {memory:.0f} MB); "
        f"speed-up over the naive peer at {peer_n:,}: "
        f"{m['naive_small']['seconds'] / m['ours_small']['seconds']:.1f}x"
    )
    return ok


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--step":
        step, url, *sizes = sys.argv[2:]
        print(json.dumps(STEPS[step](url, *(int(n) for n in sizes))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=1_000_000, help="subscribers")
    parser.add_argument("peer_n", nargs="?", type=int, default=100_000, help="for the peer")
    parser.add_argument("--database", choices=sorted(DATABASES), default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default=POSTGRES_URL,
        help="the PostgreSQL server (a database is made and dropped for each size); default"
        " $OUTREACH_TEST_POSTGRES_URL or the local server's test database",
    )
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="also trace the peak of Python's allocations (slows the Python side: not for times)",
    )
    args = parser.parse_args()
    if args.tracemalloc:
        os.environ[_TRACE] = "1"  # the steps' processes inherit it
    print(f"load {load_average()}", flush=True)
    measured = [
        measure(database, args.n, args.peer_n, args.postgres_url)
        for database in DATABASES[args.database]
    ]
    ok = [report(m) for m in measured]
    write_report(
        "queue",
        {"benchmark": "queue", "when": now_iso(), "machine": machine(), "results": measured},
    )
    return 0 if all(ok) else 1


if __name__ == "__main__":
    raise SystemExit(main())
