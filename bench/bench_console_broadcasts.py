"""How fast the console's broadcasts and schedules pages render with a real town's data.

100,000 subscribers, 1,000 broadcasts with 1,000 deliveries each (1,000,000 in all, in every
status, some failed and skipped with reasons) and 20 schedules on SQLite, written by
``INSERT … SELECT`` (seconds, no Python loop); then each page is fetched signed in, through
Starlette's TestClient in this process, and its p50 and p95 printed. Issue 12 asks < 150 ms
at p95.

    .venv/bin/python -m bench.bench_console_broadcasts [--runs 50]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from sqlalchemy import Connection, text

from bench._common import percentile
from bench._seed import subscribers
from bot.store.migrate import upgrade

SUBSCRIBERS = 100_000
BROADCASTS = 1_000
PER_BROADCAST = 1_000
SCHEDULES = 20
STAMP = "2026-11-30 10:00:00.000000"
# A delivery's status by (contact id % 20): mostly delivered or sent, some failed (two
# reasons), some skipped, a few still pending.
DELIVERIES = (
    "WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < :m), "
    "rows AS (SELECT b.id AS b, (b.id * 97 + seq.n) % :subs + 1 AS c FROM broadcasts b, seq) "
    "INSERT INTO deliveries (broadcast_id, contact_id, channel, status, error, attempts, "
    "next_attempt_at, created_at, updated_at) SELECT b, c, 'sms', "
    "CASE WHEN c % 20 < 10 THEN 'delivered' WHEN c % 20 < 15 THEN 'sent' "
    "WHEN c % 20 < 17 THEN 'failed' WHEN c % 20 < 19 THEN 'skipped' ELSE 'pending' END, "
    "CASE WHEN c % 20 = 15 THEN 'twilio 21211' WHEN c % 20 = 16 THEN 'twilio 30003' "
    "WHEN c % 20 IN (17, 18) THEN 'opted_out' END, 1, :t, :t, :t FROM rows"
)


def seed(conn: Connection) -> None:
    subscribers(conn, SUBSCRIBERS, STAMP, "Job fair on Monday", "sms", True)
    conn.execute(
        text(
            "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :n) "
            "INSERT INTO broadcasts (id, announcement_id, key, audience, status, scheduled_for, "
            "created_by, created_at, updated_at) SELECT n, 1, 'manual:' || n, '{}', "
            "CASE WHEN n = :n THEN 'sending' ELSE 'done' END, :t, 'cli', :t, :t FROM seq"
        ),
        {"n": BROADCASTS, "t": STAMP},
    )
    conn.execute(text(DELIVERIES), {"m": PER_BROADCAST - 1, "subs": SUBSCRIBERS, "t": STAMP})
    conn.execute(
        text(
            "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :n) "
            "INSERT INTO schedules (announcement_id, rule, audience, enabled, created_by, "
            "created_at, updated_at) SELECT 1, json_object('kind', 'weekly', 'weekdays', "
            "json_array(CASE n % 3 WHEN 0 THEN 'mon' WHEN 1 THEN 'wed' ELSE 'fri' END), "
            "'at', '10:00', 'tz', 'Asia/Karachi'), '{}', n % 3 > 0, 'cli', "
            ":t, :t FROM seq"
        ),
        {"n": SCHEDULES, "t": STAMP},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument(
        "--db", type=Path, help="Keep the town in this SQLite file (seeded when missing)."
    )
    args = parser.parse_args()

    from starlette.testclient import TestClient

    from bot.store.engine import create_engine
    from bot.store.units import Units
    from bot.web import create_app
    from tests.console.conftest import Console, console_settings

    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "town.db"
        fresh = not db.exists()
        url = f"sqlite+aiosqlite:///{db}"
        asyncio.run(upgrade(url))

        async def fill() -> None:
            engine = create_engine(url)
            units = Units(engine)
            try:
                await units.run(seed)
            finally:
                units.close()
                await engine.dispose()

        if fresh:
            started = time.perf_counter()
            asyncio.run(fill())
            print(f"seeded in {time.perf_counter() - started:.1f} s")
        app = create_app(console_settings(url, run_worker=False))
        with TestClient(app, base_url="https://testserver") as client:
            console = Console(client, app)
            console.sign_in(f"bench-{time.time_ns()}")
            pages = [
                "/console/broadcasts",
                f"/console/broadcasts?before={BROADCASTS // 2}",
                f"/console/broadcasts/{BROADCASTS}",
                f"/console/broadcasts/{BROADCASTS}/progress",
                f"/console/broadcasts/{BROADCASTS}.csv",
                "/console/broadcasts.csv",
                "/console/schedules",
            ]
            for path in pages:
                times = []
                for _ in range(args.runs):
                    t0 = time.perf_counter()
                    got = console.get(path)
                    times.append((time.perf_counter() - t0) * 1000)
                    assert got.status_code == 200, (path, got.status_code, got.text[:300])
                times.sort()
                p50, p95 = percentile(times, 50), percentile(times, 95)
                print(f"{path:48} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms")


if __name__ == "__main__":
    main()
