"""A broadcast: ours (the real dispatcher) vs a python-telegram-bot loop with AIORateLimiter.

Compares, paced at Telegram's 30/s, how close each comes to the limit without a 429 (accepted
rate, most in 1 s, gaps, 429s); and flat out, deliveries per second and CPU per delivery.

Run: .venv/bin/python -m bench.bench_broadcast [--recipients 10000] [--parts paced,unlimited]
     [--paced ours,ours-spaced,ours-bucket,ours-once,peer]
     [--unlimited ours-aiohttp,ours-httpx,ours-once,ours-sms,peer,ours-pg,ours-sms-pg,...]
     [--profile] [--postgres-url URL]

With the defaults (10,000 recipients) part 1 takes about 6 minutes a target, part 2 about
a minute in all.

Each run gets a fresh database, a SQLite file or, for the ``-pg`` targets, a PostgreSQL
database made for it on the server of ``--postgres-url`` (by default
$OUTREACH_TEST_POSTGRES_URL or the local server's test database) and dropped after it:
migrated; ``--recipients`` subscribers with one active contact each, Telegram chat ids
5000000001… or +92300… numbers for SMS, written by ``INSERT … SELECT``
(:func:`bench._seed.subscribers`); one announcement queued to all of them by
:func:`bot.store.broadcasts.start_broadcast`. And a fresh fake in its own process:
``bench._fakes`` (fakes/telegram_api.FakeTelegram, or for SMS fakes/twilio_api.FakeTwilio,
under uvicorn). The fake notes each send's arrival by ``time.monotonic()`` and answers errors
as the provider does.

Ours runs in a process of its own (this module, ``--child``): the real
:class:`bot.outreach.dispatcher.Dispatcher` (default concurrency 100, lease, back-off and
attempts; ``chat_gap=1.0``) with the real :class:`bot.channels.telegram.TelegramChannel` on
``build_bot`` (PTB on aiohttp by default, on httpx for ``-httpx``) or
:class:`bot.channels.twilio.TwilioSMS`, and :class:`bot.store.units.Units` on the app's
engine for the database (:func:`bot.store.engine.create_engine`: SQLite's writer thread, or
asyncpg with its default pool).
It runs ``Dispatcher.run(channel, stop)`` (``-once`` targets: a loop of
``run_once(channel, now)``) until every delivery is final (sent, failed or skipped); a
retry waits its back-off. The peer (``bench.peer_ptb_broadcast``) sends the same text to the
same chat ids with python-telegram-bot alone, nothing stored, as PTB's docs suggest.

Part 1, ``paced``: the fake enforces Telegram's flood limits (``enforce_rate(30, 1)``: a send
that would make more than 30 in any 1 s, or 2 to one chat within 1 s, gets 429 with
``retry_after``).

- ``ours``: the dispatcher's ``rate`` is what the worker gives it,
  ``bot.outreach.worker.pacing(30)`` (30 = ``Settings.telegram_per_second``): a
  :class:`bot.outreach.pacing.Pacer`, an ``aiolimiter.AsyncLimiter`` spacing sends plus
  reserved places in a 1.02 s window, checked again against the sends that went right
  before each send.
- ``ours-spaced``: ``AsyncLimiter(1, 1 / 30)`` alone: each send at least 1/30 s after the
  one before, no burst, but every late timer pushes the later sends back.
- ``ours-bucket``: ``AsyncLimiter(30, 1)``, the limiter you get by writing the rate down: a
  leaky bucket that holds 30, so it lets 30 go at once whenever it has drained (at the start,
  after any pause) and 30/s on top; a sliding-window limit refuses that burst.
- ``ours-once``: as ``ours``, through a loop of ``run_once``.
- ``peer``: PTB's ``AIORateLimiter(max_retries=3)`` (itself an ``AsyncLimiter(30, 1)``).

Reported: the accepted rate (accepted sends at the fake, first to last, as a share of 30/s),
the most accepted sends in any 1 s window, the gaps between accepted sends, the 429s the fake
answered, and every delivery's final status. Target for ours: at least 97% of 30/s, no 429.

Part 2, ``unlimited``: the fake enforces nothing and runs with httptools + uvloop so that it
is not what limits; nothing paces the dispatcher. Reported: deliveries final per second of
the dispatcher's run, and the CPU each process used. Target for ours: at least 1,000/s.
``--profile`` runs each target again under ``py-spy record --gil`` and prints where the time
holding the GIL went (event loop thread and SQLite writer thread apart).

- ``ours-aiohttp``, ``ours-httpx``, ``ours-once`` (batch 100), ``ours-aiohttp-uvloop``,
  ``ours-aiohttp-b500`` (batch 500): Telegram on SQLite, as named;
- ``ours-sms``: SMS through the Twilio fake, on SQLite;
- ``ours-pg``, ``ours-sms-pg``: ``ours-aiohttp`` and ``ours-sms`` on PostgreSQL (not run
  by default: give them with ``--unlimited``). Also reported for them, per delivery, from
  the server's own counters for the bench database (``pg_stat_database``,
  ``pg_stat_user_tables``) read before and after the run: transactions (one per unit of
  work; each costs a BEGIN and a COMMIT round trip besides its statements), index scans and
  row updates of ``deliveries``, connections opened, and the CPU of the backends serving
  the database (found by their process title in /proc every 0.2 s, so only when the server
  runs on this machine);
- ``peer``: PTB alone, no rate limiter, nothing stored.

The machine's cores are shared by the fake and the sender, and by anything else running: the
load average is printed with each run. Figures go to bench/results/broadcast.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench._common import (
    POSTGRES_URL,
    REPO,
    RESULTS,
    backends_cpu,
    check_counts,
    env_without,
    free_port,
    fresh_postgres,
    function_of,
    get_json,
    layer_of,
    load_average,
    machine,
    module,
    now_iso,
    pick,
    py_spy,
    read_stacks,
    serving,
    tree_cpu_s,
    versions,
    write_report,
)
from bench._common import TELEGRAM_TOKEN as TOKEN
from bench._seed import FIRST_CHAT

TEXT = (
    "Dhanote IT Park: free DigiSkills training starts Monday 10:00 at the park. "
    "Send training for details, or /stop to stop these messages."
)
TWILIO_SID = "AC" + "0123456789abcdef" * 2
TWILIO_TOKEN = "bench-twilio-token-5f2c"
TWILIO_FROM = "+15005550006"
LIMIT_PER_S = 30  # Telegram's broadcast limit, and Settings.telegram_per_second's default
TARGET_SHARE = 0.97
TARGET_PER_S = 1000.0
FINAL = ("sent", "delivered", "failed", "skipped")


# -- the database ----------------------------------------------------------------------------


def seed(url: str, recipients: int, channel: str = "telegram") -> float:
    """Migrate the empty database at ``url`` and queue one broadcast to ``recipients``
    subscribers with one contact each on ``channel`` (Telegram chat ids from FIRST_CHAT, or
    +92300 numbers); seconds."""
    from bench._seed import seed as seeded
    from bench._seed import subscribers
    from bot.core.audience import Audience
    from bot.store import broadcasts

    now = datetime.now(UTC) - timedelta(minutes=1)
    audience = Audience(channels=frozenset({channel}))  # type: ignore[arg-type]

    def fill(conn: Any) -> int:
        subscribers(conn, recipients, now, TEXT, channel, mixed=False)
        _, queued = broadcasts.start_broadcast(conn, 1, audience, "bench:broadcast", now, now)
        return queued

    queued, seconds = seeded(url, fill)
    if queued != recipients:
        raise SystemExit(f"queued {queued} deliveries for {recipients} recipients")
    return seconds


STATUSES = ("pending", "sending", *FINAL)


def statuses(db: Path | str) -> tuple[dict[str, int], int]:
    """Deliveries by status (those with any), and how many took more than one attempt."""
    queries = {s: f"SELECT count(*) FROM deliveries WHERE status = '{s}'" for s in STATUSES}  # noqa: S608
    queries["retried"] = "SELECT count(*) FROM deliveries WHERE attempts > 1"
    found = dict(check_counts(db, queries, {})["found"])
    retried = found.pop("retried")
    return {status: n for status, n in found.items() if n}, retried


# What the PostgreSQL server counted for the bench database (pg_stat_database and
# pg_stat_user_tables): read before and after a run, per delivery in the report.
PG_COUNTERS = {
    "transactions": "SELECT xact_commit + xact_rollback FROM pg_stat_database "
    "WHERE datname = current_database()",
    "connections": "SELECT sessions FROM pg_stat_database WHERE datname = current_database()",
    "delivery_index_scans": "SELECT idx_scan FROM pg_stat_user_tables WHERE relname = 'deliveries'",
    "delivery_rows_updated": "SELECT n_tup_upd FROM pg_stat_user_tables "
    "WHERE relname = 'deliveries'",
}
# Other connections to the bench database: the dispatcher's, until their backends exit
# (and write their counters).
_OTHERS = (
    "SELECT count(*) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


def pg_counters(url: str) -> dict[str, int]:
    """The server's counters for the database at ``url``, once no other connection to it is
    left (a backend writes its counters when it ends)."""
    deadline = time.monotonic() + 10
    while check_counts(url, {"others": _OTHERS}, {})["found"]["others"]:
        if time.monotonic() > deadline:
            raise SystemExit("the dispatcher's connections to PostgreSQL did not end")
        time.sleep(0.1)
    return dict(check_counts(url, PG_COUNTERS, {})["found"])


# -- ours, in a process of its own (--child) -------------------------------------------------


class LimiterOnly:
    """A plain ``aiolimiter.AsyncLimiter`` in the place of the dispatcher's
    :class:`bot.outreach.pacing.Pacer`: each send waits its turn on the limiter, and nothing
    checks the window before the send nor holds back after a 429. For comparison."""

    def __init__(self, limiter: Any) -> None:
        self._limiter = limiter
        self.per_second = limiter.max_rate / limiter.time_period
        self.gate = contextlib.nullcontext()  # no gate: sends wait on the limiter alone

    async def wait(self) -> None:
        await self._limiter.acquire()

    def free_in(self) -> float:
        return 0.0

    def sent(self) -> None:
        pass

    def hold(self, seconds: float) -> None:
        pass


def pacer(kind: str, per_s: float) -> Any:
    from aiolimiter import AsyncLimiter

    from bot.outreach.worker import pacing

    if kind == "pacer":
        return pacing(per_s)
    if kind == "spaced":
        return LimiterOnly(AsyncLimiter(1, 1 / per_s))
    if kind == "bucket":
        return LimiterOnly(AsyncLimiter(per_s, 1))
    return None


async def run_dispatcher(args: argparse.Namespace) -> dict[str, Any]:
    """The dispatcher's loop until every delivery is final; timings of this process."""
    from sqlalchemy import func, select

    from bot.channels.telegram import TelegramChannel, build_bot
    from bot.channels.twilio import TwilioSMS, build_twilio_client, close_twilio_client
    from bot.config import Settings
    from bot.outreach.dispatcher import Dispatcher
    from bot.store.engine import create_engine
    from bot.store.tables import deliveries
    from bot.store.units import Units

    d = deliveries.c

    def waiting(conn: Any) -> tuple[int, datetime | None]:
        row = conn.execute(
            select(func.count(), func.min(d.next_attempt_at)).where(
                d.status.in_(("pending", "sending"))
            )
        ).one()
        return int(row[0]), row[1]

    limiter = pacer(args.limiter, args.per_s)
    channel = args.channel
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token=TOKEN,  # type: ignore[arg-type]
        telegram_api_base_url=args.api,
        twilio_account_sid=TWILIO_SID,
        twilio_auth_token=TWILIO_TOKEN,  # type: ignore[arg-type]
        twilio_from_number=TWILIO_FROM,
        twilio_api_base_url=args.api,
    )
    engine = create_engine(args.database)
    units = Units(engine)
    runs = claimed = 0
    async with contextlib.AsyncExitStack() as stack:
        if channel == "telegram":
            bot = await stack.enter_async_context(build_bot(settings, http=args.http))
            sender: Any = TelegramChannel(bot)
        else:
            client = await build_twilio_client(settings)
            stack.push_async_callback(close_twilio_client, client)
            sender = TwilioSMS.from_settings(client, settings)
        dispatcher = Dispatcher(
            units,
            {channel: sender},
            batch=args.batch,
            rate={channel: limiter} if limiter is not None else None,
            chat_gap=1.0,  # Telegram's one message a second to one chat
        )
        cpu, start = time.process_time(), time.monotonic()
        if args.driver == "run":
            stop = asyncio.Event()

            async def finished_yet(now: datetime) -> None:
                nonlocal runs
                runs += 1
                left, _ = await units.run(waiting)
                if not left:
                    stop.set()

            await dispatcher.run(channel, stop, idle=0.2, on_idle=finished_yet)
        else:
            while True:
                n = await dispatcher.run_once(channel, datetime.now(UTC))
                runs += 1
                claimed += n
                if n:
                    continue
                left, due = await units.run(waiting)
                if not left:
                    break
                wait = (due - datetime.now(UTC)).total_seconds() if due else 0.1
                await asyncio.sleep(min(max(wait, 0.01), 1.0))
        wall, cpu = time.monotonic() - start, time.process_time() - cpu
    units.close()
    await engine.dispose()
    return {"wall_s": wall, "cpu_s": cpu, "loops": runs, "claimed": claimed}


def child(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True, help="SQLAlchemy URL")
    parser.add_argument("--api", required=True)
    parser.add_argument("--limiter", choices=["pacer", "spaced", "bucket", "none"], required=True)
    parser.add_argument("--per-s", type=float, default=LIMIT_PER_S)
    parser.add_argument("--http", choices=["aiohttp", "httpx"], default="aiohttp")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument("--driver", choices=["run", "run_once"], default="run")
    parser.add_argument("--channel", choices=["telegram", "sms"], default="telegram")
    args = parser.parse_args(argv)
    if args.loop == "uvloop":
        import uvloop

        result = uvloop.run(run_dispatcher(args))
    else:
        result = asyncio.run(run_dispatcher(args))
    print(json.dumps(result))


# -- a run -----------------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    does: str
    ours: bool
    limiter: str = "none"  # ours: pacer | spaced | bucket | none; the peer: ptb | none
    http: str = "aiohttp"
    batch: int = 100  # the Dispatcher's default
    loop: str = "asyncio"
    driver: str = "run"  # Dispatcher.run, or a loop of run_once
    channel: str = "telegram"
    postgres: bool = False  # on a fresh PostgreSQL database instead of a SQLite file


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """The most of ``times`` (sorted) in any half-open ``window``. By arrival at the fake's
    app: the fake itself counts by when it checks the rate, a little later, so this can
    exceed its limit by one."""
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while times[lo] <= t - window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def command(target: Target, database: str, api: str, chats: Path, per_s: float) -> list[str]:
    if target.ours:
        return module(
            "bench_broadcast",
            "--child",
            *("--database", database, "--api", api, "--limiter", target.limiter),
            *("--per-s", str(per_s), "--http", target.http, "--batch", str(target.batch)),
            *("--loop", target.loop, "--driver", target.driver, "--channel", target.channel),
        )
    cmd = module("peer_ptb_broadcast", "--api", api, "--token", TOKEN)
    cmd += ["--chats", str(chats), "--text", TEXT]
    if target.limiter == "none":
        cmd.append("--no-rate-limiter")
    return cmd


def run(
    target: Target,
    part: str,
    recipients: int,
    tmp: Path,
    per_s: float,
    postgres_url: str,
    profile: bool = False,
) -> dict[str, Any]:
    """One target on a fresh database and a fresh fake; its figures."""
    with contextlib.ExitStack() as scratch:
        if target.postgres:
            url = scratch.enter_context(fresh_postgres(postgres_url, f"broadcast_{target.name}"))
            db: Path | str = url
        else:
            db = tmp / f"{part}-{target.name}.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            url = f"sqlite+aiosqlite:///{db}"
        seed_s = seed(url, recipients, target.channel)
        before = pg_counters(url) if target.postgres else {}
        result = _run(target, part, recipients, tmp, per_s, url, profile)
        result["seed_s"] = seed_s
        if target.postgres:
            after = pg_counters(url)
            result["server"] = {k: after[k] - before[k] for k in PG_COUNTERS}
        if target.ours:
            result["deliveries"], result["retried"] = statuses(db)
            result["all_final"] = (
                sum(n for s, n in result["deliveries"].items() if s in FINAL) == recipients
            )
    return result


def _run(
    target: Target, part: str, recipients: int, tmp: Path, per_s: float, url: str, profile: bool
) -> dict[str, Any]:
    chats = tmp / "chats.txt"
    chats.write_text("\n".join(str(FIRST_CHAT + i) for i in range(recipients)) + "\n")
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    if target.channel == "sms":
        fake_cmd = module("_fakes", "twilio", "--port", str(port), "--sid", TWILIO_SID)
        fake_cmd += ["--token", TWILIO_TOKEN, "--http", "httptools", "--loop", "uvloop"]
    else:
        fake_cmd = module("_fakes", "telegram", "--port", str(port), "--token", TOKEN)
        if part == "paced":
            fake_cmd += ["--per-second", str(LIMIT_PER_S), "--per-chat", "1"]
        else:
            fake_cmd += ["--http", "httptools", "--loop", "uvloop"]
    fake_log = tmp / f"fake-{part}-{target.name}.log"
    env = env_without("TELEGRAM_", "PTB_", "TWILIO_", "SMSGATE_")
    env["PTB_TIMEDELTA"] = "true"  # as bot/channels/telegram.py asks
    with serving(fake_cmd, fake_log, env=env, ready=f"{api}/_bench/count") as fake:
        cmd = command(target, url, api, chats, per_s)
        spy_out = RESULTS / f"broadcast-profile-{part}-{target.name}.txt"
        if profile:
            spy = py_spy()
            if spy is None:
                raise SystemExit("no py-spy: .venv/bin/pip install -e '.[bench]'")
            cmd = [spy, "record", "--rate", "250", "--format", "raw", "--gil", "--threads"]
            cmd += ["--output", str(spy_out), "--", *command(target, url, api, chats, per_s)]
        load = load_average()
        fake_cpu = tree_cpu_s(fake.pid)
        with backends_cpu(url) as server_cpu:
            out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO)
        fake_cpu = tree_cpu_s(fake.pid) - fake_cpu
        if out.returncode != 0:
            raise SystemExit(f"{target.name} failed ({out.returncode}):\n{out.stderr[-4000:]}")
        lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
        sender: dict[str, Any] = json.loads(lines[-1])
        stats: dict[str, Any] = get_json(f"{api}/_bench/stats")
    sends = stats["sends"]
    if part == "paced":  # for a closer look at where the 429s fell
        (RESULTS / f"broadcast-sends-{target.name}.json").write_text(json.dumps(sends))
    accepted = sorted(t for _, t, ok in sends if ok)
    gaps = sorted(1000 * (b - a) for a, b in itertools.pairwise(accepted)) or [0.0]
    per_chat = Counter(stats.get("accepted_to") or [chat for chat, _, ok in sends if ok])
    span = accepted[-1] - accepted[0] if len(accepted) > 1 else 0.0
    rate = (len(accepted) - 1) / span if span else 0.0
    result: dict[str, Any] = {
        "name": target.name,
        "part": part,
        "does": target.does,
        "recipients": recipients,
        "load_before": load,
        "accepted": len(accepted),
        "refused": len(sends) - len(accepted),
        "rate_limited": stats["rate_limited"],
        "accepted_per_s": rate,
        "share_of_limit": rate / LIMIT_PER_S,
        "max_in_1s": max_in_window(accepted),
        "gap_ms": {
            "p1": gaps[len(gaps) // 100],
            "p50": gaps[len(gaps) // 2],
            "p99": gaps[len(gaps) * 99 // 100],
            "max": gaps[-1],
        },
        "chats_missing": recipients - len(per_chat),
        "chats_twice": sum(1 for n in per_chat.values() if n > 1),
        "sender_wall_s": sender["wall_s"],
        "sender_cpu_s": sender["cpu_s"],
        "sender_cores": sender["cpu_s"] / sender["wall_s"] if sender["wall_s"] else 0.0,
        "fake_cpu_s": fake_cpu,
        "server_cpu_s": server_cpu(),
        "final_per_s": recipients / sender["wall_s"] if sender["wall_s"] else 0.0,
        "sender": sender,
        "load_after": load_average(),
    }
    if profile:
        result["profile"] = summarize(spy_out)
    return result


# -- profiles --------------------------------------------------------------------------------

LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("httpx + httpcore (PTB's HTTPXRequest)", ("httpx/", "httpcore/", "anyio/")),
    ("aiohttp + yarl + multidict", ("aiohttp/", "yarl/", "multidict/")),
    ("python-telegram-bot (Bot.send_message, RequestData, de_json)", ("telegram/",)),
    ("SQLAlchemy (statements, cache keys, compile, execute, results)", ("sqlalchemy/",)),
    ("sqlite3 (the driver)", ("sqlite3/",)),
    ("bot.store.units (writer thread, group commit, hand-back)", ("bot/store/units.py",)),
    ("bot.store.deliveries (building statements)", ("bot/store/",)),
    ("bot.channels.telegram (escape, split, log)", ("bot/channels/",)),
    ("bot.outreach.dispatcher", ("bot/outreach/",)),
    ("aiolimiter", ("aiolimiter/",)),
    ("logging", ("logging/",)),
    ("json", ("json/",)),
    ("asyncio event loop (select, callbacks, tasks, transports)", ("asyncio/", "selectors.py")),
    ("thread pool (hand-off to the writer thread)", ("concurrent/futures", "threading.py")),
]


def summarize(path: Path, top: int = 25) -> list[str]:
    """Where the sender's time holding the GIL went, from py-spy's collapsed stacks.

    Recorded with ``--gil``: only the thread holding the GIL is sampled. The event loop and
    the SQLite writer thread (bot.store.units) take turns on it, so the shares add up to what
    one core can do for this process. Each sample is charged to the innermost layer it is in.
    """
    stacks: list[tuple[bool, list[str], int]] = []
    for parts, count in read_stacks(path):
        # py-spy names a thread only in some samples; the writer's frames tell it apart.
        writer = any(
            ("sqlite-writer" in p and p.startswith("thread "))
            or "(concurrent/futures/thread.py" in p
            for p in parts
        )
        frames = [f for f in parts if not f.startswith(("process ", "thread "))]
        stacks.append((writer, frames or ["(no Python frame)"], count))
    total = sum(c for _, _, c in stacks)
    if not total:
        return ["  (no samples)"]
    layers: dict[str, Counter[str]] = {"event loop": Counter(), "SQLite writer": Counter()}
    functions: Counter[str] = Counter()
    for writer, frames, count in stacks:
        layers["SQLite writer" if writer else "event loop"][layer_of(frames, LAYERS)] += count
        functions[function_of(frames[-1])] += count
    lines = [f"  {total} samples of the thread holding the GIL (py-spy --gil, 250/s):"]
    for thread, counts in layers.items():
        n = sum(counts.values())
        lines.append(f"  {thread} thread: {100 * n / total:.1f}%")
        lines += [f"    {100 * c / total:5.1f}%  {name}" for name, c in counts.most_common()]
    lines.append(f"  top {top} functions by self time:")
    lines += [f"    {100 * c / total:5.1f}%  {f}" for f, c in functions.most_common(top)]
    return lines


# -- output ----------------------------------------------------------------------------------


PACED = {
    "ours": Target(
        "ours",
        "Dispatcher.run + TelegramChannel (aiohttp), Pacer(30): the worker's pacing",
        True,
        "pacer",
    ),
    "ours-spaced": Target(
        "ours-spaced",
        "Dispatcher.run + TelegramChannel (aiohttp), AsyncLimiter(1, 1/30) alone",
        True,
        "spaced",
    ),
    "ours-bucket": Target(
        "ours-bucket",
        "Dispatcher.run + TelegramChannel (aiohttp), AsyncLimiter(30, 1) alone",
        True,
        "bucket",
    ),
    "ours-once": Target(
        "ours-once",
        "a loop of Dispatcher.run_once, TelegramChannel (aiohttp), Pacer(30)",
        True,
        "pacer",
        driver="run_once",
    ),
    "peer": Target(
        "peer",
        "PTB Application + AIORateLimiter(max_retries=3), gather, 100 in flight (httpx)",
        False,
        "ptb",
    ),
}
UNLIMITED = {
    "ours-aiohttp": Target(
        "ours-aiohttp", "Dispatcher.run + TelegramChannel, PTB on AiohttpRequest", True
    ),
    "ours-httpx": Target(
        "ours-httpx", "Dispatcher.run + TelegramChannel, PTB on HTTPXRequest", True, http="httpx"
    ),
    "ours-once": Target(
        "ours-once",
        "a loop of Dispatcher.run_once(batch=100), TelegramChannel, PTB on AiohttpRequest",
        True,
        driver="run_once",
    ),
    "ours-aiohttp-uvloop": Target(
        "ours-aiohttp-uvloop",
        "Dispatcher.run + TelegramChannel, PTB on AiohttpRequest, uvloop",
        True,
        loop="uvloop",
    ),
    "ours-aiohttp-b500": Target(
        "ours-aiohttp-b500",
        "Dispatcher(batch=500).run + TelegramChannel, PTB on AiohttpRequest",
        True,
        batch=500,
    ),
    "ours-sms": Target(
        "ours-sms",
        "Dispatcher.run + TwilioSMS (twilio's AsyncTwilioHttpClient, aiohttp), fake Twilio",
        True,
        channel="sms",
    ),
    "ours-pg": Target(
        "ours-pg",
        "Dispatcher.run + TelegramChannel, PTB on AiohttpRequest, on PostgreSQL (asyncpg)",
        True,
        postgres=True,
    ),
    "ours-sms-pg": Target(
        "ours-sms-pg",
        "Dispatcher.run + TwilioSMS, fake Twilio, on PostgreSQL (asyncpg)",
        True,
        channel="sms",
        postgres=True,
    ),
    "peer": Target(
        "peer",
        "PTB Application, no rate limiter, gather, 100 in flight (httpx), nothing stored",
        False,
    ),
}


def _final(r: dict[str, Any]) -> str:
    """Ours' deliveries by final status, at the end of its line; nothing for the peer."""
    if "deliveries" not in r:
        return ""
    return f"  deliveries {r['deliveries']}{'' if r['all_final'] else ' NOT ALL FINAL'}"


def paced_line(r: dict[str, Any]) -> str:
    return (
        f"  {r['name']:<12} accepted {r['accepted']:>6} at {r['accepted_per_s']:6.2f}/s ="
        f" {100 * r['share_of_limit']:5.1f}% of 30/s; max in 1 s {r['max_in_1s']:>3};"
        f" 429s {r['rate_limited']:>5}; gap p50/p99/max {r['gap_ms']['p50']:.1f}/"
        f"{r['gap_ms']['p99']:.1f}/{r['gap_ms']['max']:.0f} ms; took {r['sender_wall_s']:6.1f} s;"
        f" missing {r['chats_missing']}, twice {r['chats_twice']}{_final(r)}"
        f"  [load {r['load_before']}]"
    )


def unlimited_line(r: dict[str, Any]) -> str:
    per_send_ms = 1000 * r["sender_cpu_s"] / r["recipients"]
    return (
        f"  {r['name']:<13} {r['final_per_s']:7.0f}/s ({r['recipients']} in"
        f" {r['sender_wall_s']:5.2f} s); sender {r['sender_cores']:.2f} cores,"
        f" {per_send_ms:.2f} ms CPU a delivery; fake {r['fake_cpu_s'] / r['sender_wall_s']:.2f}"
        f" cores; refused {r['refused']}, missing {r['chats_missing']}, twice"
        f" {r['chats_twice']}{_final(r)}  [load {r['load_before']}]{_server(r)}"
    )


def _server(r: dict[str, Any]) -> str:
    """What the PostgreSQL server did for each delivery, on a line of its own."""
    if "server" not in r:
        return ""
    n, server = r["recipients"], r["server"]
    cpu = r["server_cpu_s"]
    return (
        f"\n    PostgreSQL, a delivery: {server['transactions'] / n:.2f} transactions,"
        f" {server['delivery_index_scans'] / n:.2f} index scans and"
        f" {server['delivery_rows_updated'] / n:.2f} row updates of deliveries;"
        f" {server['connections']} connections opened in all;"
        + (" backends' CPU not seen" if cpu is None else f" backends {1000 * cpu / n:.2f} ms CPU")
    )


def main() -> int:
    """Exits 1 when ``ours`` (paced) or ``ours-aiohttp`` (unlimited) misses its target."""
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--parts", default="paced,unlimited")
    parser.add_argument("--paced", default="ours,ours-spaced,ours-bucket,peer")
    parser.add_argument("--unlimited", default="ours-aiohttp,ours-httpx,ours-once,ours-sms,peer")
    parser.add_argument("--profile", action="store_true", help="py-spy the unlimited runs")
    parser.add_argument(
        "--postgres-url",
        default=POSTGRES_URL,
        help="the PostgreSQL server for the -pg targets (a database is made and dropped for"
        " each); default $OUTREACH_TEST_POSTGRES_URL or the local server's test database",
    )
    args = parser.parse_args()
    parts = args.parts.split(",")
    RESULTS.mkdir(exist_ok=True)
    results: list[dict[str, Any]] = []
    cores = os.cpu_count()
    print(f"{args.recipients} recipients; {cores} cores; load {load_average()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-broadcast-") as tmp_name:
        tmp = Path(tmp_name)
        if "paced" in parts:
            print("\npart 1, paced: the fake enforces 30/s overall and 1/s a chat", flush=True)
            for name in pick(args.paced, PACED):
                target = PACED[name]
                per_s = LIMIT_PER_S
                print(f"running {name}: {target.does}", flush=True)
                r = run(target, "paced", args.recipients, tmp, per_s, args.postgres_url)
                results.append(r)
                print(paced_line(r), flush=True)
        if "unlimited" in parts:
            print("\npart 2, unlimited: the fake enforces nothing", flush=True)
            for name in pick(args.unlimited, UNLIMITED):
                target = UNLIMITED[name]
                print(f"running {name}: {target.does}", flush=True)
                r = run(target, "unlimited", args.recipients, tmp, LIMIT_PER_S, args.postgres_url)
                results.append(r)
                print(unlimited_line(r), flush=True)
                if args.profile:
                    p = run(
                        target,
                        "unlimited",
                        args.recipients,
                        tmp,
                        LIMIT_PER_S,
                        args.postgres_url,
                        True,
                    )
                    print(f"  again under py-spy: {p['final_per_s']:.0f}/s", flush=True)
                    print("\n".join(p["profile"]), flush=True)
                    r["profile"] = p["profile"]

    print("\nsummary")
    for r in results:
        print(paced_line(r) if r["part"] == "paced" else unlimited_line(r))
    missed = []
    for r in results:
        if r["part"] == "paced" and r["name"].startswith("ours"):
            ok = r["share_of_limit"] >= TARGET_SHARE and r["rate_limited"] == 0 and r["all_final"]
            print(
                f"  target {r['name']}: >= 97% of 30/s, no 429, all final: "
                f"{'met' if ok else 'NOT met'}"
            )
        elif r["part"] == "unlimited" and r["name"].startswith("ours"):
            ok = r["final_per_s"] >= TARGET_PER_S and r["all_final"]
            print(f"  target {r['name']}: >= 1000 deliveries/s: {'met' if ok else 'NOT met'}")
        else:
            continue
        if not ok and r["name"] in ("ours", "ours-aiohttp"):  # what the runtime runs
            missed.append(f"{r['part']} {r['name']}")
    report = {
        "benchmark": "telegram_broadcast",
        "when": now_iso(),
        "machine": machine(),
        "versions": versions(
            "python-telegram-bot", "httpx", "aiohttp", "aiolimiter", "sqlalchemy", "uvicorn"
        ),
        "recipients": args.recipients,
        "results": results,
    }
    write_report("broadcast", report)
    return 1 if missed else 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
