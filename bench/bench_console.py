"""The coordinators' console with a real town's data: p50/p95 of every console page, and
what the live progress costs the dispatcher.

Run: .venv/bin/python -m bench.bench_console [--subscribers 100000] [--broadcasts 1000]
     [--deliveries 1000000] [--requests 100] [--pages /,/overview/live] [--window 10]
     [--rounds 3] [--parts pages,dispatch] [--db PATH]

The issue's goal: every console page renders in under 150 ms at p95 with 100,000
subscribers, 1,000 broadcasts and 1,000,000 deliveries on SQLite, and the live progress
costs the dispatcher nothing measurable.

The database (a fresh, migrated SQLite file; ``--db`` keeps it and reuses it when it exists)
is written by ``INSERT … SELECT`` from recursive CTEs, no Python loop (under a minute):
subscribers in three languages or none, seven cities (one written in Urdu) or none, following
two topics, one or none, joined over
the last two years; an SMS contact each (1 in 20 opted out), a Telegram chat for every third
(1 in 30 of those blocked); one announcement per broadcast; every broadcast but the last two
done, their deliveries delivered, sent, failed or skipped; the last two in flight, their
deliveries pending on SMS (the rest of the million); questions the bot could not answer in
the last 60 days (2,000 texts) among 50,000 other messages; hand-overs open, claimed, closed.

Part ``pages``: ``outreach serve`` (the real command, ``RUN_WORKER=false`` so nothing moves
under the measurement) on the file, a coordinator signed in with a one-time link as in a
browser, then each console page requested ``--requests`` times one after another (after 5
unmeasured), timed from request to last byte, with the server's CPU time per request (on a
machine busy with other work the wall time grows, the CPU time much less). The pages are
found in the app's routes (``bot.console.PAGES``: every GET route but signing in and out),
so pages added later are measured without a change here; a path parameter is filled from
:data:`PARAMETERS` (an id of a broadcast in flight, subscriber 1 …) and a route with one not
listed there is named and skipped. ``--pages`` measures only those paths.

Part ``dispatch``: ``outreach serve`` with its worker on (sandbox: the simulator sends;
pacing, quiet hours and the daily cap off so the dispatcher runs flat out) sends the two
broadcasts in flight. Windows of ``--window`` seconds alternate between no client, a
client polling the live progress fragment every 2 s (what an open overview does) and one
polling the whole overview every 2 s, ``--rounds`` times; each window's sends per second is
the deliveries that became final in it (counted by a reader in this process at the window's
ends) over its length, with the share of a core the server used. Each round starts with the next
arm. All three are compared in the same run, in the same server; on a machine busy with
other work, the windows of one arm differ from each other as much as the arms do.

Figures go to bench/results/console.json.
"""

# The seed's SQL is built from constants of this module alone (no input reaches it).
# ruff: noqa: S608

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench._common import (
    BIN,
    REPO,
    RESULTS,
    env_without,
    free_port,
    load_average,
    machine,
    migrate,
    now_iso,
    percentile,
    serving,
    tree_cpu_s,
    write_report,
)

GOAL_MS = 150.0
IN_FLIGHT = 2  # broadcasts still sending, the last ones
CITIES = ["Dhanote", "ڈھنوٹ", "Kahror Pacca", "Lodhran", "Bahawalpur", "Multan", "Dunyapur"]
WARM = 5
POLL_EVERY = 2.0
WARM_UP_S = 5.0  # before the first dispatch window
# What fills a console path's parameter: a broadcast in flight (its live part is the
# heaviest), the first subscriber, schedule, hand-over, answer. A route with a parameter not
# listed here is skipped, and named, until it is added.
PARAMETERS: dict[str, str] = {
    "id": "{broadcast}",
    "broadcast_id": "{broadcast}",
    "subscriber_id": "1",
    "schedule_id": "1",
    "thread_id": "1",
    "key": "fees",
}


# -- the database ----------------------------------------------------------------------------


def _stamp(when: datetime) -> str:
    """A time as SQLAlchemy's SQLite DATETIME stores it (UTC, naive, microseconds)."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


# SQLite's own clock arithmetic gives milliseconds: pad to the six digits SQLAlchemy writes,
# so stored times compare as text the way the store's do.
def _at(base: str, seconds: str) -> str:
    return f"strftime('%Y-%m-%d %H:%M:%f', {base}, '-' || ({seconds}) || ' seconds') || '000'"


def seed(db: Path, subscribers: int, broadcasts: int, deliveries: int) -> dict[str, Any]:
    """Migrate ``db`` and fill it (see the module docstring); what was written and how long."""
    env = {**env_without("DATABASE_URL"), "DATABASE_URL": f"sqlite+aiosqlite:///{db}"}
    migrate(db.parent, env)
    now = datetime.now(UTC)
    span = 2 * 365 * 24 * 3600  # subscribers joined over two years
    done = broadcasts - IN_FLIGHT
    per_done = (deliveries // 10 * 9) // max(done, 1)  # nine tenths in the done ones
    in_flight_each = (deliveries - per_done * done) // IN_FLIGHT
    if in_flight_each > subscribers:
        raise SystemExit("more deliveries per broadcast in flight than subscribers")
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    t = {"now": _stamp(now)}
    cities = ", ".join(f"'{c}'" for c in CITIES)
    start = time.perf_counter()
    with con:
        con.execute(
            "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :n) "
            "INSERT INTO subscribers (id, language, city, topics, created_at, updated_at) "
            "SELECT n, CASE n % 10 WHEN 0 THEN NULL WHEN 1 THEN 'en' WHEN 2 THEN 'en' "
            "WHEN 3 THEN 'ur-Latn' WHEN 4 THEN 'ur-Latn' ELSE 'ur' END, "
            f"CASE WHEN n % 11 = 0 THEN NULL ELSE json_extract(json_array({cities}), "
            f"'$[' || (n % {len(CITIES)}) || ']') END, "
            "CASE n % 4 WHEN 0 THEN '[]' WHEN 1 THEN '[\"jobs\"]' WHEN 2 THEN '[\"training\"]' "
            'ELSE \'["jobs", "training"]\' END, '
            f"{_at(':now', f'(:n - n) * {span} / :n')}, :now FROM seq",
            {**t, "n": subscribers},
        )
        con.execute(
            "INSERT INTO contacts (id, subscriber_id, channel, address, status, "
            "status_changed_at, created_at, updated_at) "
            "SELECT id, id, 'sms', '+92300' || printf('%07d', id), "
            "CASE WHEN id % 20 = 0 THEN 'opted_out' ELSE 'active' END, "
            "created_at, created_at, created_at FROM subscribers",
        )
        con.execute(
            "INSERT INTO contacts (id, subscriber_id, channel, address, status, "
            "status_changed_at, created_at, updated_at) "
            "SELECT :n + id, id, 'telegram', CAST(5000000000 + id AS TEXT), "
            "CASE WHEN id % 90 = 0 THEN 'blocked' ELSE 'active' END, "
            "created_at, created_at, created_at FROM subscribers WHERE id % 3 = 0",
            {"n": subscribers},
        )
        con.execute(
            "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :b) "
            "INSERT INTO announcements (id, title, text_en, text_ur, topics, created_at, "
            "updated_at) SELECT n, 'Announcement ' || n, "
            "'Dhanote IT Park: training starts Monday ' || n, "
            "'ڈھنوٹ آئی ٹی پارک: تربیت پیر سے ' || n, '[]', :now, :now FROM seq",
            {**t, "b": broadcasts},
        )
        # Broadcast n went out (n - b) days ago; the last IN_FLIGHT are still sending.
        con.execute(
            "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :b) "
            "INSERT INTO broadcasts (id, announcement_id, key, audience, status, scheduled_for, "
            "created_by, finished_at, created_at, updated_at) "
            'SELECT n, n, \'bench:\' || n, \'{"channels": ["sms", "telegram"]}\', '
            "CASE WHEN n > :done THEN 'sending' ELSE 'done' END, "
            f"{_at(':now', '(:b - n) * 86400 / 2 + 60')}, 'bench', "
            f"CASE WHEN n > :done THEN NULL ELSE {_at(':now', '(:b - n) * 86400 / 2')} END, "
            ":now, :now FROM seq",
            {**t, "b": broadcasts, "done": done},
        )
        con.execute(
            "WITH RECURSIVE seq(m) AS (SELECT 0 UNION ALL SELECT m + 1 FROM seq WHERE m < :k - 1) "
            "INSERT INTO deliveries (broadcast_id, contact_id, channel, status, attempts, "
            "next_attempt_at, provider_id, error, sent_at, created_at, updated_at) "
            "SELECT m / :per + 1, (m * 7919) % :n + 1, 'sms', "
            "CASE m % 20 WHEN 0 THEN 'failed' WHEN 1 THEN 'skipped' WHEN 2 THEN 'sent' "
            "WHEN 3 THEN 'sent' ELSE 'delivered' END, 1, :now, 'SM' || m, "
            "CASE m % 20 WHEN 0 THEN 'provider:30003' WHEN 1 THEN 'opted_out' END, "
            "CASE WHEN m % 20 = 1 THEN NULL ELSE "
            f"{_at(':now', '(:b - (m / :per + 1)) * 86400 / 2 + 86400')} END, :now, :now "
            "FROM seq",
            {**t, "k": per_done * done, "per": per_done, "n": subscribers, "b": broadcasts},
        )
        for i in range(IN_FLIGHT):
            con.execute(
                "INSERT INTO deliveries (broadcast_id, contact_id, channel, status, attempts, "
                "next_attempt_at, created_at, updated_at) "
                "SELECT :bid, id, 'sms', 'pending', 0, :now, :now, :now FROM contacts "
                "WHERE channel = 'sms' ORDER BY id LIMIT :k",
                {**t, "bid": done + 1 + i, "k": in_flight_each},
            )
        # 2,000 different questions the bot could not answer (a few asked often), and
        # 50,000 messages it did answer, over the last 60 days.
        con.execute(
            "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 8000) "
            "INSERT INTO messages (contact_id, direction, channel, text, provider_id, status, "
            "intent, language, created_at, updated_at) "
            "SELECT n % :n + 1, 'in', 'sms', "
            "CASE WHEN n % 4 = 0 THEN 'fees kitni hai' ELSE 'question number ' || (n % 2000) END, "
            "'in-q' || n, 'received', CASE WHEN n % 3 = 0 THEN 'no_answer' ELSE 'unknown' END, "
            f"'ur-Latn', {_at(':now', 'n * 648')}, :now FROM seq",
            {**t, "n": subscribers},
        )
        con.execute(
            "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 50000) "
            "INSERT INTO messages (contact_id, direction, channel, text, provider_id, status, "
            "intent, language, created_at, updated_at) "
            "SELECT n % :n + 1, 'in', 'sms', 'training', 'in-a' || n, 'received', 'training', "
            f"'en', {_at(':now', 'n * 103')}, :now FROM seq",
            {**t, "n": subscribers},
        )
        con.execute(
            "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 5600) "
            "INSERT INTO threads (contact_id, language, reason, state, claimed_by, closed_by, "
            "created_at, updated_at) "
            "SELECT n, 'ur', CASE WHEN n % 2 = 0 THEN 'asked' ELSE 'missed' END, "
            "CASE WHEN n <= 5000 THEN 'closed' WHEN n <= 5100 THEN 'claimed' ELSE 'open' END, "
            "CASE WHEN n > 5000 AND n <= 5100 THEN 'bench' END, "
            "CASE WHEN n <= 5000 THEN 'bench' END, "
            f"{_at(':now', '(5600 - n) * 600')}, :now FROM seq",
            t,
        )
    con.execute("ANALYZE")
    con.close()
    took = time.perf_counter() - start
    return {
        "subscribers": subscribers,
        "broadcasts": broadcasts,
        "deliveries": per_done * done + in_flight_each * IN_FLIGHT,
        "in_flight": list(range(done + 1, broadcasts + 1)),
        "seed_s": took,
    }


def counts(db: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(db)) as con:
        return {
            name: int(con.execute(f"SELECT count(*) FROM {name}").fetchone()[0])
            for name in ("subscribers", "contacts", "broadcasts", "deliveries", "messages")
        }


def sign_in_link(db: Path, name: str) -> str:
    """A coordinator ``name`` (added if new) and a one-time sign-in path for them."""
    from bot.outreach import accounts
    from bot.store import coordinators
    from bot.store.engine import create_engine
    from bot.store.units import Units

    async def make() -> str:
        engine = create_engine(f"sqlite+aiosqlite:///{db}")
        units = Units(engine)
        now = datetime.now(UTC)
        try:
            account = await units.run(lambda c: coordinators.by_name(c, name))
            if account is None:
                account = await accounts.add_coordinator(
                    units, name, telegram_id=None, admin=True, by="bench", now=now
                )
            return f"/console/login/{await accounts.make_link(units, account, now, 15)}"
        finally:
            units.close()
            await engine.dispose()

    return asyncio.run(make())


# -- the server ------------------------------------------------------------------------------


def server_env(db: Path, **more: str) -> dict[str, str]:
    """Sandbox settings on ``db`` (no provider, nothing from the caller's shell)."""
    env = env_without(
        "TELEGRAM_", "TWILIO_", "SMSGATE_", "DATABASE_URL", "RUN_WORKER", "PUBLIC_BASE_URL"
    )
    env |= {
        "DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "CONTENT_DIR": str(REPO / "content"),
        "LOG_LEVEL": "WARNING",
    }
    return env | more


@contextlib.contextmanager
def outreach_serve(db: Path, tmp: Path, name: str, **env: str) -> Iterator[tuple[str, int]]:
    """``outreach serve`` on ``db`` in ``tmp`` (away from any .env); its base URL and pid."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [str(BIN / "outreach"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    log = tmp / f"serve-{name}.log"
    with serving(cmd, log, cwd=tmp, env=server_env(db, **env), ready=f"{url}/healthz") as proc:
        yield url, proc.pid


def signed_in(url: str, db: Path) -> Any:
    """An httpx client signed in to the console at ``url`` with a one-time link."""
    import httpx

    client = httpx.Client(base_url=url, timeout=30)
    path = sign_in_link(db, "bench")
    form = client.get(path)
    token = re.search(r'"X-CSRF-Token": "([^"]+)"', form.text)
    if form.status_code != 200 or token is None:
        raise SystemExit(f"the sign-in link answered {form.status_code}")
    done = client.post(path, data={"csrf": token.group(1)})
    if done.status_code != 303:
        raise SystemExit(f"signing in answered {done.status_code}: {done.text[:300]}")
    return client


# -- part 1: pages ---------------------------------------------------------------------------


def console_pages(values: dict[str, str]) -> tuple[list[str], list[str]]:
    """The console's GET paths (under /console) from the app's routes, parameters filled in;
    and the routes skipped for a parameter :data:`PARAMETERS` lacks."""
    from starlette.routing import Route

    from bot.console import PAGES, signin

    paths, skipped = [], []
    for module in PAGES:
        if module is signin:
            continue
        for route in module.routes:
            if not isinstance(route, Route) or "GET" not in (route.methods or ()):
                continue
            missing = [p for p in route.param_convertors if p not in PARAMETERS]
            if missing:
                skipped.append(f"{route.path} (no value for {', '.join(missing)})")
                continue
            path = route.path
            for param in route.param_convertors:
                path = re.sub(r"\{" + param + r"(:[^}]*)?\}", PARAMETERS[param], path)
            paths.append("/console" + path.format(**values))
    return paths, skipped


def measure(client: Any, path: str, requests: int, pid: int) -> dict[str, Any]:
    """``requests`` GETs of ``path`` one after another (after WARM unmeasured ones), and the
    server's CPU time per request (less sensitive than wall time to a busy machine)."""
    headers = {"HX-Request": "true"} if path.endswith("/live") else {}
    statuses: dict[int, int] = {}
    times = []
    size = 0
    cpu = 0.0
    for n in range(WARM + requests):
        if n == WARM:
            cpu = tree_cpu_s(pid)
        start = time.perf_counter()
        response = client.get(path, headers=headers)
        took = (time.perf_counter() - start) * 1000
        if n >= WARM:
            times.append(took)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            size = len(response.content)
    cpu = tree_cpu_s(pid) - cpu
    times.sort()
    return {
        "server_cpu_ms": 1000 * cpu / requests,
        "path": path,
        "requests": requests,
        "statuses": statuses,
        "bytes": size,
        "p50_ms": percentile(times, 50),
        "p95_ms": percentile(times, 95),
        "max_ms": times[-1],
    }


def pages_part(
    db: Path, tmp: Path, requests: int, only: list[str] | None, values: dict[str, str]
) -> dict[str, Any]:
    found, skipped = console_pages(values)
    paths = only or found
    results = []
    with outreach_serve(db, tmp, "pages", RUN_WORKER="false") as (url, pid):
        client = signed_in(url, db)
        for path in paths:
            results.append(measure(client, path, requests, pid))
            r = results[-1]
            ok = set(r["statuses"]) == {200}
            verdict = "ok" if ok and r["p95_ms"] < GOAL_MS else "OVER" if ok else r["statuses"]
            print(
                f"  {path:<40} p50 {r['p50_ms']:7.1f} ms  p95 {r['p95_ms']:7.1f} ms  "
                f"max {r['max_ms']:7.1f} ms  server CPU {r['server_cpu_ms']:6.1f} ms  "
                f"{r['bytes']:>6} B  {verdict}",
                flush=True,
            )
        client.close()
    for s in skipped:
        print(f"  skipped {s}: add it to PARAMETERS in bench/bench_console.py")
    return {"pages": results, "skipped": skipped}


# -- part 2: the dispatcher with and without a client polling --------------------------------


def waiting(db: Path, ids: list[int]) -> int:
    """Deliveries of the broadcasts ``ids`` not final yet (on the (broadcast, status) index)."""
    marks = ",".join("?" * len(ids))
    with contextlib.closing(sqlite3.connect(db)) as con:
        sql = (
            f"SELECT count(*) FROM deliveries WHERE broadcast_id IN ({marks}) "
            "AND status IN ('pending', 'sending')"
        )
        return int(con.execute(sql, ids).fetchone()[0])


class Poller:
    """A coordinator with the console open: GET ``path`` every 2 s in a thread."""

    def __init__(self, client: Any, path: str) -> None:
        self.client = client
        self.path = path
        self.stop = threading.Event()
        self.times: list[float] = []
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        headers = {"HX-Request": "true"} if self.path.endswith("/live") else {}
        while not self.stop.is_set():
            start = time.perf_counter()
            response = self.client.get(self.path, headers=headers)
            if response.status_code != 200:
                raise SystemExit(f"{self.path} answered {response.status_code}")
            self.times.append((time.perf_counter() - start) * 1000)
            self.stop.wait(max(0.0, POLL_EVERY - (time.perf_counter() - start)))

    def __enter__(self) -> Poller:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def dispatch_part(
    db: Path, tmp: Path, ids: list[int], window: float, rounds: int
) -> dict[str, Any]:
    arms = [("no client", None), ("polling live progress", "/console/overview/live")]
    arms.append(("polling the overview", "/console/"))
    flat_out = {
        "RUN_WORKER": "true",
        "SMS_PER_SECOND": "100000",
        "TELEGRAM_PER_SECOND": "100000",
        "TELEGRAM_CHAT_SECONDS": "0",
        "QUIET_HOURS_START": "00:00",
        "QUIET_HOURS_END": "00:00",
        "ANNOUNCEMENTS_PER_DAY": "0",
    }
    windows: list[dict[str, Any]] = []
    with outreach_serve(db, tmp, "dispatch", **flat_out) as (url, pid):
        client = signed_in(url, db)
        left = waiting(db, ids)
        time.sleep(WARM_UP_S)  # the worker starts and reaches its pace
        for n in range(rounds):
            # Each round starts with another arm, so none always comes first.
            for name, path in arms[n % len(arms) :] + arms[: n % len(arms)]:
                before, cpu, start = waiting(db, ids), tree_cpu_s(pid), time.monotonic()
                with Poller(client, path) if path else contextlib.nullcontext() as poller:
                    time.sleep(window)
                    after, took = waiting(db, ids), time.monotonic() - start
                    cpu = tree_cpu_s(pid) - cpu
                sent = before - after
                polls = poller.times if poller else []
                windows.append(
                    {"arm": name, "round": n + 1, "final": sent, "seconds": took,
                     "per_s": sent / took, "server_cores": cpu / took,
                     "server_cpu_ms_per_send": 1000 * cpu / sent if sent else None,
                     "polls": len(polls), "poll_ms": max(polls) if polls else None}
                )  # fmt: skip
                print(
                    f"  round {n + 1}  {name:<24} {sent / took:8.0f} sends/s  "
                    f"server {100 * cpu / took:4.0f}% of a core"
                    + (f"  ({len(polls)} polls, slowest {max(polls):.0f} ms)" if polls else ""),
                    flush=True,
                )
                if after == 0:
                    raise SystemExit(
                        f"the broadcasts ran out ({left} deliveries) before the last window: "
                        "use a shorter --window or more --deliveries"
                    )
        client.close()
    summary, cores = {}, {}
    for name, _ in arms:
        mine = [w for w in windows if w["arm"] == name]
        summary[name] = sum(w["per_s"] for w in mine) / len(mine)
        cores[name] = sum(w["server_cores"] for w in mine) / len(mine)
    return {
        "windows": windows,
        "mean_per_s": summary,
        "mean_server_cores": cores,
        "waiting_at_start": left,
    }


# -- main ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--broadcasts", type=int, default=1_000)
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--pages", help="comma-separated paths (default: every console page)")
    parser.add_argument("--window", type=float, default=10.0, help="seconds per dispatch window")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--parts", default="pages,dispatch")
    parser.add_argument("--db", type=Path, help="keep the database here (reused if it exists)")
    args = parser.parse_args()
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    report: dict[str, Any] = {"when": now_iso(), "machine": machine(), "goal_p95_ms": GOAL_MS}
    with tempfile.TemporaryDirectory(prefix="bench-console-") as scratch:
        tmp = Path(scratch)
        db = args.db.resolve() if args.db else tmp / "console.db"
        print(f"load average {load_average()}")
        if args.db and db.exists():
            print(f"reusing {db}")
            with contextlib.closing(sqlite3.connect(db)) as con:
                ids = [
                    int(r[0])
                    for r in con.execute(
                        "SELECT id FROM broadcasts WHERE status = 'sending' ORDER BY id"
                    )
                ]
            report["seed"] = {"reused": str(db), "in_flight": ids}
        else:
            report["seed"] = seed(db, args.subscribers, args.broadcasts, args.deliveries)
            ids = report["seed"]["in_flight"]
            print(f"seeded in {report['seed']['seed_s']:.1f} s")
        report["rows"] = counts(db)
        print("rows: " + ", ".join(f"{k} {v:,}" for k, v in report["rows"].items()))
        values = {"broadcast": str(ids[-1] if ids else 1)}
        if "pages" in parts:
            print(f"\nconsole pages, {args.requests} requests each (goal: p95 < {GOAL_MS:.0f} ms):")
            only = [p.strip() for p in args.pages.split(",")] if args.pages else None
            only = [p if p.startswith("/console") else "/console" + p for p in only or []]
            report["pages"] = pages_part(db, tmp, args.requests, only or None, values)
        if "dispatch" in parts:
            if not ids:
                raise SystemExit("no broadcast in flight in this database: seed a fresh one")
            print(f"\nthe dispatcher flat out, {args.window:g} s windows, {args.rounds} rounds:")
            result = dispatch_part(db, tmp, ids, args.window, args.rounds)
            report["dispatch"] = result
            base = result["mean_per_s"]["no client"]
            for name, rate in result["mean_per_s"].items():
                change = f"  ({100 * (rate - base) / base:+.1f}%)" if base and rate != base else ""
                cores = result["mean_server_cores"][name]
                print(
                    f"  mean {name:<24} {rate:8.0f} sends/s{change:<10}  "
                    f"server {100 * cores:4.0f}% of a core"
                )
    report["load_after"] = load_average()
    RESULTS.mkdir(exist_ok=True)
    write_report("console", report)
    if os.environ.get("BENCH_CONSOLE_STRICT") and any(
        r["p95_ms"] >= GOAL_MS for r in report.get("pages", {}).get("pages", [])
    ):
        raise SystemExit("a console page is over the goal")


if __name__ == "__main__":
    main()
