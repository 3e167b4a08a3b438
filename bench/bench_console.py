"""The coordinators' console with a real town's data: p50/p95 of every console page, and
what the live progress costs the dispatcher.

Run: .venv/bin/python -m bench.bench_console [--subscribers 100000] [--broadcasts 1000]
     [--deliveries 1000000] [--requests 100] [--pages /,/overview/live] [--window 10]
     [--rounds 3] [--parts pages,dispatch] [--db PATH]

The issue's goal: every console page renders in under 150 ms at p95 with 100,000
subscribers, 1,000 broadcasts and 1,000,000 deliveries on SQLite, and the live progress
costs the dispatcher nothing measurable.

The database (a fresh, migrated SQLite file; ``--db`` keeps it and reuses it when it exists)
is :func:`bench._seed.town`, written by ``INSERT … SELECT`` from recursive CTEs (under a
minute): subscribers on SMS, Telegram or both, broadcasts done with deliveries in every
status and two in flight, schedules, 300,000 messages, unanswered questions and hand-overs.

Part ``pages``: ``outreach serve`` (the real command, ``RUN_WORKER=false`` so nothing moves
under the measurement) on the file, a coordinator signed in with a one-time link as in a
browser, then each console page requested ``--requests`` times one after another (after 5
unmeasured), timed from request to last byte, with the server's CPU time per request (on a
machine busy with other work the wall time grows, the CPU time much less). The pages are
found in the app's routes (``bot.console.PAGES``: every GET route but signing in and out),
so pages added later are measured without a change here; a path parameter is filled from
:data:`PARAMETERS` with a real id of the town (a broadcast in flight, a subscriber on both
channels, an open hand-over …) and a route with one not listed there is named and skipped.
Then :data:`EXTRA`: the fragments htmx fetches as a coordinator types (the compose preview
with its audience count, the subscribers search, the reply cost), searches that touch
thousands of rows, the next pages of lists, a finished broadcast. POSTs carry the CSRF
token in the header, as htmx sends it. Downloads (CSV) are timed with fewer requests and
not held to the goal. ``--pages`` measures only those cases (by name or path).

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

# Table names and placeholders in the SQL here are constants of this module (no input).
# ruff: noqa: S608

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import os
import re
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
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
from bench._seed import town

GOAL_MS = 150.0
WARM = 5
POLL_EVERY = 2.0
WARM_UP_S = 5.0  # before the first dispatch window
# What fills a console path's parameter, from the town (:func:`town_values`): a broadcast in
# flight (its live part is the heaviest), a subscriber on both channels with the most
# history, a schedule, an open hand-over, an answer the benchmark adds. A route with a
# parameter not listed here is skipped, and named, until it is added.
PARAMETERS: dict[str, str] = {
    "id": "{broadcast}",
    "broadcast_id": "{broadcast}",
    "subscriber_id": "{subscriber}",
    "schedule_id": "{schedule}",
    "thread_id": "{thread}",
    "key": "{answer}",
}
ANSWER = "bench_fees"  # added through the console's own form when missing


@dataclass(frozen=True, slots=True)
class Case:
    """One request the console answers: a page, or a fragment htmx fetches (``htmx``)."""

    name: str
    path: str
    form: dict[str, str | list[str]] | None = None  # POSTed (CSRF in the header) when set
    htmx: bool = False
    # The compose preview as a text is typed: the audience's count the page carries (from a
    # first preview) goes with each request, as it does in the browser.
    typing: bool = False


def _compose(**more: str | list[str]) -> dict[str, str | list[str]]:
    """The compose form as htmx posts it for the live preview: every audience field."""
    return {
        "audience": "1",
        "text_en": "Dhanote IT Park: free training starts Monday 10:00.",
        "text_ur": "",
        "text_roman": "",
        "title": "",
        "channel": ["sms", "telegram"],
        "both_channels": "default",
        "when": "",
        "test_channel": "sms",
        "test_address": "",
        "test_language": "en",
    } | more


# The cases beyond one request per route: the fragments that fire as a coordinator types,
# searches that touch many rows, the next pages of lists, a finished broadcast.
EXTRA: tuple[Case, ...] = (
    Case("compose preview, everyone", "/console/compose/preview", _compose(), htmx=True),
    Case(
        "compose preview, Urdu readers in Multan on SMS",
        "/console/compose/preview",
        _compose(channel=["sms"], language=["ur"], city=["multan"]),
        htmx=True,
    ),
    Case(
        "compose preview, a topic, weekly",
        "/console/compose/preview",
        _compose(topic=["jobs"], when="every monday at 10:00"),
        htmx=True,
    ),
    Case(
        "compose preview, typing a text (everyone)",
        "/console/compose/preview",
        _compose(),
        htmx=True,
        typing=True,
    ),
    Case("broadcasts, page 25", "/console/broadcasts?before={page25}"),
    Case("a finished broadcast", "/console/broadcasts/{done}"),
    Case("a finished broadcast's progress", "/console/broadcasts/{done}/progress", htmx=True),
    Case("subscribers, typed: whole number", "/console/subscribers?q=0300%200049999", htmx=True),
    Case("subscribers, typed: +92300 (everyone)", "/console/subscribers?q=%2B92300", htmx=True),
    Case("subscribers, typed: 0300004 (thousands)", "/console/subscribers?q=0300004", htmx=True),
    Case("subscribers, typed: 0300000 (old only)", "/console/subscribers?q=0300000", htmx=True),
    Case("subscribers, number start, next page", "/console/subscribers?q=0300&before=5000"),
    Case("subscribers, typed: chat id", "/console/subscribers?q=5000050001", htmx=True),
    Case("subscribers, typed: city", "/console/subscribers?q=multan", htmx=True),
    Case("subscribers, typed: #id", "/console/subscribers?q=%2377777", htmx=True),
    Case("subscribers, typed: a name", "/console/subscribers?q=amina", htmx=True),
    Case("subscribers, typed: part of an Urdu name", "/console/subscribers?q=قریش", htmx=True),
    Case("subscribers, typed: a name no one has", "/console/subscribers?q=zubair", htmx=True),
    Case("subscribers, typed: no match", "/console/subscribers?q=0345%201234567", htmx=True),
    Case("subscribers, page 1000", "/console/subscribers?before=50000"),
    Case("inbox, page 2", "/console/inbox?page=2"),
    Case("reply cost as typed", "/console/inbox/{thread}/cost?text=Fees%20kitni%20hai", htmx=True),
)
# Downloads, not pages: timed too, and their p95 shown, but the goal is for pages.
DOWNLOADS = ("/console/broadcasts.csv", "/console/subscribers/export.csv")


# -- the database ----------------------------------------------------------------------------


def town_values(db: Path) -> dict[str, str]:
    """Real ids from the town in ``db`` for :data:`PARAMETERS` and :data:`EXTRA`."""
    with contextlib.closing(sqlite3.connect(db)) as con:

        def one(sql: str) -> str:
            row = con.execute(sql).fetchone()
            return str(row[0]) if row and row[0] is not None else "1"

        broadcasts = [r[0] for r in con.execute("SELECT id FROM broadcasts ORDER BY id DESC")]
        return {
            "broadcast": one("SELECT max(id) FROM broadcasts WHERE status = 'sending'"),
            "done": one("SELECT max(id) FROM broadcasts WHERE status = 'done'"),
            "page25": str(broadcasts[min(25 * 20, len(broadcasts) - 1)]) if broadcasts else "1",
            # On both channels, with the most deliveries and messages among the first few.
            "subscriber": one(
                "SELECT c.subscriber_id FROM contacts c WHERE c.channel = 'telegram' "
                "AND c.subscriber_id IN (SELECT subscriber_id FROM contacts "
                "WHERE channel = 'sms') AND c.subscriber_id < 3000 "
                "ORDER BY (SELECT count(*) FROM deliveries d "
                "WHERE d.contact_id = c.subscriber_id) DESC LIMIT 1"
            ),
            "schedule": one("SELECT min(id) FROM schedules"),
            "thread": one("SELECT max(id) FROM threads WHERE state = 'open'"),
            "answer": ANSWER,
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
    """An httpx client signed in to the console at ``url`` with a one-time link, carrying the
    session's CSRF token in its headers as htmx does."""
    import httpx

    client = httpx.Client(base_url=url, timeout=60)
    path = sign_in_link(db, "bench")
    form = client.get(path)
    token = re.search(r'"X-CSRF-Token": "([^"]+)"', form.text)
    if form.status_code != 200 or token is None:
        raise SystemExit(f"the sign-in link answered {form.status_code}")
    done = client.post(path, data={"csrf": token.group(1)})
    if done.status_code != 303:
        raise SystemExit(f"signing in answered {done.status_code}: {done.text[:300]}")
    page = client.get("/console/")
    token = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text)
    if token is None:
        raise SystemExit("no CSRF token on the overview")
    client.headers["X-CSRF-Token"] = token.group(1)
    return client


def add_answer(client: Any) -> None:
    """The answer :data:`ANSWER`, through the console's form, unless it is there already."""
    if client.get(f"/console/answers/{ANSWER}/edit").status_code == 200:
        return
    added = client.post(
        "/console/answers/new",
        data={
            "key": ANSWER,
            "keywords": "bench fees\nbench fee",
            "sms_en": "The bench course costs nothing.",
            "sms_ur": "بینچ کورس مفت ہے۔",
            "telegram_en": "The bench course costs nothing.",
            "telegram_ur": "بینچ کورس مفت ہے۔",
        },
    )
    if added.status_code != 303:
        raise SystemExit(f"adding the answer answered {added.status_code}: {added.text[:300]}")


# -- part 1: pages ---------------------------------------------------------------------------


def console_cases(values: dict[str, str]) -> tuple[list[Case], list[str]]:
    """A case per console GET route (from the app's routes, parameters filled with real ids),
    then :data:`EXTRA`; and the routes skipped for a parameter :data:`PARAMETERS` lacks."""
    from starlette.routing import Route

    from bot.console import PAGES, signin

    cases, skipped = [], []
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
            path = "/console" + path.format(**values)
            live = path.endswith(("/live", "/progress", "/cost"))
            cases.append(Case(path, path, htmx=live))
    extra = [Case(c.name, c.path.format(**values), c.form, c.htmx, c.typing) for c in EXTRA]
    return cases + extra, skipped


def measure(client: Any, case: Case, requests: int, pid: int, warm: int = WARM) -> dict[str, Any]:
    """``requests`` requests of ``case`` one after another (after ``warm`` unmeasured ones),
    and the server's CPU time per request (less sensitive than wall time to a busy machine)."""
    headers = {"HX-Request": "true"} if case.htmx else {}
    form = case.form
    if case.typing and form is not None:
        first = client.post(case.path, data=form, headers=headers)
        counted = re.search(r'name="counted" value="([^"]*)"', first.text)
        if counted is None:
            print(f"  ({case.name}: no count carried by this version: every request counts)")
        form = form | {"counted": html.unescape(counted.group(1))}
    statuses: dict[int, int] = {}
    times = []
    size = 0
    cpu = 0.0
    for n in range(warm + requests):
        if n == warm:
            cpu = tree_cpu_s(pid)
        start = time.perf_counter()
        if form is None:
            response = client.get(case.path, headers=headers)
        else:
            response = client.post(case.path, data=form, headers=headers)
        took = (time.perf_counter() - start) * 1000
        if n >= warm:
            times.append(took)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            size = len(response.content)
    cpu = tree_cpu_s(pid) - cpu
    times.sort()
    return {
        "name": case.name,
        "path": case.path,
        "method": "GET" if case.form is None else "POST",
        "server_cpu_ms": 1000 * cpu / requests,
        "requests": requests,
        "statuses": statuses,
        "bytes": size,
        "p50_ms": percentile(times, 50),
        "p95_ms": percentile(times, 95),
        "max_ms": times[-1],
        "download": case.path in DOWNLOADS,
    }


def pages_part(
    db: Path, tmp: Path, requests: int, only: list[str] | None, values: dict[str, str]
) -> dict[str, Any]:
    found, skipped = console_cases(values)
    cases = [c for c in found if c.name in only or c.path in only] if only else found
    results = []
    with outreach_serve(db, tmp, "pages", RUN_WORKER="false") as (url, pid):
        client = signed_in(url, db)
        add_answer(client)
        for case in cases:
            download = case.path in DOWNLOADS
            if download:
                r = measure(client, case, max(3, requests // 20), pid, warm=1)
            else:
                r = measure(client, case, requests, pid)
            results.append(r)
            ok = set(r["statuses"]) == {200}
            verdict = (
                ("download" if download else "ok" if r["p95_ms"] < GOAL_MS else "OVER")
                if ok
                else r["statuses"]
            )
            print(
                f"  {case.name[:52]:<52} p50 {r['p50_ms']:7.1f}  p95 {r['p95_ms']:7.1f}  "
                f"max {r['max_ms']:7.1f} ms  CPU {r['server_cpu_ms']:6.1f} ms  "
                f"{r['bytes']:>7} B  {verdict}",
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
            print(f"reusing {db} (migrated to the head first)")
            migrate(
                db.parent,
                {**env_without("DATABASE_URL"), "DATABASE_URL": f"sqlite+aiosqlite:///{db}"},
            )
            with contextlib.closing(sqlite3.connect(db)) as con:
                ids = [
                    int(r[0])
                    for r in con.execute(
                        "SELECT id FROM broadcasts WHERE status = 'sending' ORDER BY id"
                    )
                ]
            report["seed"] = {"reused": str(db), "in_flight": ids}
        else:
            report["seed"] = town(db, args.subscribers, args.broadcasts, args.deliveries)
            ids = report["seed"]["in_flight"]
            print(f"seeded in {report['seed']['seed_s']:.1f} s")
        report["rows"] = counts(db)
        print("rows: " + ", ".join(f"{k} {v:,}" for k, v in report["rows"].items()))
        values = town_values(db)
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
