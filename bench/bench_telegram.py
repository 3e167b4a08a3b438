"""Telegram webhook update -> reply: ours (``outreach serve``) vs python-telegram-bot's example.

Compares updates taken per second, the webhook's response time, the time from an update
sent to its reply at a fake Bot API, and the bot's CPU per update, of our real server against
PTB's own custom-webhook example (with and without its concurrent updates).

Run: .venv/bin/python -m bench.bench_telegram [--updates 5000] [--concurrency 50]
     [--targets ours,peer,peer-conc] [--profile]

Three processes besides this one, per target, on the same load:

- the fake Bot API (``bench._fakes telegram``: fakes/telegram_api.FakeTelegram under
  uvicorn, no rate limit), which notes for every ``sendMessage`` the chat and the
  ``time.monotonic()`` it arrived at (``GET /_bench/stats``);
- the bot under test, pointed at the fake by ``TELEGRAM_API_BASE_URL`` / ``base_url``;
- the load generator (``bench._load_telegram``), which plays Telegram: it POSTs Update JSON to
  the webhook at ``--concurrency`` keep-alive connections and notes ``time.monotonic()`` as it
  sends each one.

``time.monotonic()`` is ``CLOCK_MONOTONIC`` on Linux, one clock for the whole system, so a
send time from the generator and an arrival time at the fake compare directly: update->reply
is the time from the first byte of the update leaving the generator to the bot's
``sendMessage`` reaching the fake's app. The bot answers each text update with one message in
the same chat, so the k-th reply in a chat is paired with the k-th update sent to that chat.
Updates go round ``--chats`` chats, so two updates to one chat are ``--chats`` sends apart and
(at ``--concurrency`` below that) never in flight together.

Targets:

- ``ours``: the real ``outreach serve`` (the .venv entry point) on a fresh SQLite file,
  migrated first with ``outreach db upgrade``, in webhook mode (PUBLIC_BASE_URL set: it calls
  setMyCommands and setWebhook on the fake at start). Each update: check the secret header
  (constant time), parse the JSON, ``Update.de_json``, PTB ``process_update`` -> our handler
  -> inbox (upsert subscriber/contact, store the inbound message de-duplicated on update_id,
  decide, store the reply as queued, commit) -> ``sendMessage`` (HTML, inline keyboard when the
  answer has buttons) -> mark the reply sent with its message id, commit -> 200. The webhook
  answers after the reply has been sent.
- ``peer``: ``bench.peer_ptb``, python-telegram-bot's own custom-webhook example
  (examples/customwebhookbot/starlettebot.py) under uvicorn: the route puts
  ``Update.de_json(...)`` on ``application.update_queue`` and answers 200 at once; one
  ``MessageHandler`` replies with ``reply_text`` from a keyword dict. No secret check, nothing
  stored; PTB's default handles queued updates one at a time, as in the example.
- ``peer-conc``: the same with ``concurrent_updates(64)`` (what ours uses), so replies go out
  concurrently through PTB's httpx pool as ours do.

Load: a warm-up (``--warmup``, not counted), then ``--updates`` updates, each a private text
message (fakes/telegram_api.message_update, or command_update for ``/start`` and
``/menu`` so they carry their bot_command entity) with a unique update_id, from ``--chats``
chats, the texts from fakes/residents.py (SMS and Telegram rows, without the
opt-out ones so nobody stops mid-run; no chat sends the same text twice). Before the timed run
every warm-up reply has arrived; after it the bench waits until every reply has arrived (or
none came for ``--drain-stall`` seconds), since the peer answers after its webhook returns.
Afterwards our SQLite file is read: every update stored once, every reply stored as sent.

Every process shares the machine's cores (2 on the machine this was written on): the table
shows the CPU each used.
Figures go to bench/results/telegram.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._common import (
    BIN,
    PUBLIC,
    REPO,
    RESULTS,
    LoadGenerator,
    check_counts,
    dump_payloads,
    env_without,
    free_port,
    get_json,
    importable,
    machine,
    migrate,
    module,
    now_iso,
    percentile,
    pick,
    print_problems,
    print_profiles,
    profile_path,
    recording,
    serving,
    tree_cpu_s,
    versions,
    write_report,
)
from bench._common import TELEGRAM_TOKEN as TOKEN
from fakes import telegram_api as tg
from fakes.residents import ROWS

SECRET = "bench-telegram-webhook-secret_0123456789"
FIRST_UPDATE_ID = 800_000_000
DRAIN_MAX_S = 600.0
# What the Telegram bench runs on, in telegram.json.
VERSIONS = "python-telegram-bot httpx uvicorn starlette sqlalchemy aiosqlite h11 uvloop httptools"


# -- the load --------------------------------------------------------------------------------


def resident_rows() -> list[Any]:
    """What residents send, by SMS or Telegram, less the opt-out words and the empty text
    (Telegram delivers no empty message)."""
    return [
        r
        for r in ROWS
        if r.channel in ("sms", "telegram") and r.intent != "opt_out" and r.text.strip()
    ]


@dataclass
class Load:
    warmup: list[tuple[int, int, bytes]]  # (update_id, chat_id, body)
    timed: list[tuple[int, int, bytes]]
    chats: int
    texts: int
    build_s: float


def build_load(warmup: int, updates: int, chats: int, seed: int) -> Load:
    """Every Update encoded up front. Update ``i`` comes from chat ``i % chats`` with text
    ``(7n + i // chats) % T``: consecutive updates come from different chats, and no chat
    sends a text twice."""
    start = time.perf_counter()
    rng = random.Random(seed)
    chat_ids = rng.sample(range(100_000_000, 7_999_999_999), chats)
    rows = resident_rows()
    if (warmup + updates) // chats >= len(rows):
        raise SystemExit("too few chats: one would repeat a text; raise --chats")
    date = int(time.time())
    items: list[tuple[int, int, bytes]] = []
    for i in range(warmup + updates):
        n = i % chats
        row = rows[(7 * n + i // chats) % len(rows)]
        update_id, chat = FIRST_UPDATE_ID + i, chat_ids[n]
        lang = "ur" if row.lang == "ur" else "en"
        if row.text.startswith("/"):
            update = tg.command_update(update_id, chat, row.text, language_code=lang, date=date)
        else:
            update = tg.message_update(update_id, chat, row.text, language_code=lang, date=date)
        items.append((update_id, chat, json.dumps(update, ensure_ascii=False).encode()))
    return Load(items[:warmup], items[warmup:], chats, len(rows), time.perf_counter() - start)


# -- targets ---------------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    does: str
    path: str  # the webhook path
    health: str
    ours: bool  # migrate a fresh database first, check it afterwards; send the secret
    concurrent_updates: int = 0  # the peer's PTB concurrent_updates

    def command(self, port: int, api: str) -> list[str]:
        if self.ours:
            return [str(BIN / "outreach"), "serve", "--host", "127.0.0.1", "--port", str(port)]
        cmd = module("peer_ptb", "--port", str(port), "--api", api, "--token", TOKEN)
        cmd += ["--public-url", PUBLIC]
        if self.concurrent_updates:
            cmd += ["--concurrent-updates", str(self.concurrent_updates)]
        return cmd


OURS_DOES = (
    "secret check + Update.de_json + PTB process_update + inbox (upsert contact, store update,"
    " decide, store reply) + sendMessage + mark sent, all before the 200"
)
PEER_DOES = (
    "PTB customwebhookbot/starlettebot.py shape: update_queue.put + 200 at once; reply_text"
    " from a keyword dict; no secret check, nothing stored"
)
TARGETS = {
    "ours": Target("ours", "outreach serve: " + OURS_DOES, "/telegram/webhook", "/healthz", True),
    "peer": Target(
        "peer",
        PEER_DOES + "; concurrent_updates off (PTB's default, as in the example)",
        "/telegram",
        "/healthcheck",
        False,
    ),
    "peer-conc": Target(
        "peer-conc",
        PEER_DOES + "; concurrent_updates(64), like ours",
        "/telegram",
        "/healthcheck",
        False,
        concurrent_updates=64,
    ),
}


def server_env(tmp: Path, api: str) -> dict[str, str]:
    # Only Telegram is configured: no SMS provider from the caller's environment.
    env = env_without("TELEGRAM_", "SMSGATE_", "TWILIO_", "PTB_")
    env.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp / 'outreach.db'}",
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        TELEGRAM_API_BASE_URL=api,
        PUBLIC_BASE_URL=PUBLIC,
        CONTENT_DIR=str(REPO / "content"),
        LOG_LEVEL="WARNING",
        PTB_TIMEDELTA="true",  # as bot/channels/telegram.py asks
    )
    return env


def drain(fake: str, expected: int, stall_s: float) -> tuple[int, float]:
    """Wait until the fake has ``expected`` sendMessages, or none came for ``stall_s``.

    Returns the count and how long it waited."""
    start = last_change = time.monotonic()
    seen = -1
    while True:
        count = int(get_json(fake + "/_bench/count")["sends"])
        now = time.monotonic()
        if count >= expected or now - last_change > stall_s or now - start > DRAIN_MAX_S:
            return count, now - start
        if count != seen:
            seen, last_change = count, now
        time.sleep(0.05)


def verify_db(db: Path, updates: int, replies: int, chats: int) -> dict[str, Any]:
    """What the server stored, read back with the sqlite3 module after it stopped."""
    return check_counts(
        db,
        {
            "inbound": "SELECT count(*) FROM messages WHERE direction = 'in'",
            "inbound_distinct_update_ids": (
                "SELECT count(DISTINCT provider_id) FROM messages WHERE direction = 'in'"
                " AND channel = 'telegram'"
            ),
            "outbound": "SELECT count(*) FROM messages WHERE direction = 'out'",
            "outbound_sent": (
                "SELECT count(*) FROM messages WHERE direction = 'out' AND status = 'sent'"
                " AND channel = 'telegram' AND provider_id IS NOT NULL AND length(text) > 0"
            ),
            "contacts": "SELECT count(*) FROM contacts WHERE channel = 'telegram'",
            "contacts_active": "SELECT count(*) FROM contacts WHERE status = 'active'",
            "subscribers": "SELECT count(*) FROM subscribers",
        },
        {
            "inbound": updates,
            "inbound_distinct_update_ids": updates,
            "outbound": replies,
            "outbound_sent": replies,
            "contacts": min(chats, updates),
            "contacts_active": min(chats, updates),
            "subscribers": min(chats, updates),
        },
    )


def pair_replies(
    load: Load, times: dict[str, list[list[float]]], sends: list[list[Any]]
) -> dict[str, Any]:
    """Match each reply at the fake to its update: the k-th reply in a chat to the k-th update
    sent to it (updates that got a 200). Latencies of the timed updates only."""
    per_chat_updates: dict[int, list[tuple[float, bool]]] = defaultdict(list)
    for phase, items in (("warmup", load.warmup), ("timed", load.timed)):
        for (_, chat, _), (sent, _, status) in zip(items, times[phase], strict=True):
            if status == 200:
                per_chat_updates[chat].append((sent, phase == "timed"))
    per_chat_replies: dict[int, list[float]] = defaultdict(list)
    failed = 0
    for chat, arrived, ok in sends:
        if ok:
            per_chat_replies[int(chat)].append(float(arrived))
        else:
            failed += 1
    latencies: list[float] = []
    timed_arrivals: list[float] = []
    missing = missing_timed = extra = before_sent = 0
    for chat in per_chat_updates.keys() | per_chat_replies.keys():
        ups = sorted(per_chat_updates.get(chat, []))
        replies = sorted(per_chat_replies.get(chat, []))
        extra += max(0, len(replies) - len(ups))
        for k, (sent, timed) in enumerate(ups):
            if k >= len(replies):
                missing += 1
                missing_timed += timed
                continue
            if not timed:
                continue
            delta = replies[k] - sent
            before_sent += delta < 0
            latencies.append(delta * 1000)
            timed_arrivals.append(replies[k])
    latencies.sort()
    timed_start = min((t[0] for t in times["timed"]), default=0.0)
    last = max(timed_arrivals, default=timed_start)
    span = last - timed_start
    return {
        "replies_paired_timed": len(latencies),
        "missing_replies": missing,
        "missing_replies_timed": missing_timed,
        "extra_replies": extra,
        "failed_sends": failed,
        "replies_before_update_sent": before_sent,
        "reply_p50_ms": percentile(latencies, 50),
        "reply_p90_ms": percentile(latencies, 90),
        "reply_p99_ms": percentile(latencies, 99),
        "reply_max_ms": latencies[-1] if latencies else float("nan"),
        "reply_mean_ms": sum(latencies) / len(latencies) if latencies else float("nan"),
        "replies_per_s": len(latencies) / span if span > 0 else float("nan"),
        "last_reply_after_start_s": span,
    }


def run_target(
    target: Target,
    load: Load,
    payloads: Path,
    concurrency: int,
    stall_s: float,
    profile: bool,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"bench-telegram-{target.name}-") as tmpdir:
        tmp = Path(tmpdir)
        fake_port, port = free_port(), free_port()
        fake_url, base = f"http://127.0.0.1:{fake_port}", f"http://127.0.0.1:{port}"
        fake_log, log = tmp / "fake.log", tmp / "server.log"
        env = server_env(tmp, fake_url)
        fake_cmd = module("_fakes", "telegram", "--port", str(fake_port), "--token", TOKEN)
        times_path = tmp / "times.json"
        load_cmd = module("_load_telegram", str(payloads), base + target.path, str(concurrency))
        with contextlib.ExitStack() as running:
            fake = running.enter_context(
                serving(fake_cmd, fake_log, ready=fake_url + "/_bench/count")
            )
            if target.ours:
                migrate(tmp, env)
            cwd = tmp if target.ours else REPO
            cmd, health = target.command(port, fake_url), base + target.health
            server = running.enter_context(serving(cmd, log, cwd=cwd, env=env, ready=health))
            registered = get_json(fake_url + "/_bench/stats")
            if target.ours and registered["webhook_secret"] != SECRET:
                raise SystemExit(f"ours did not register its webhook: {registered}")
            gen = running.enter_context(LoadGenerator([*load_cmd, str(times_path)]))
            warm = gen.read("warm")
            warm_replies, _ = drain(fake_url, len(load.warmup), stall_s)
            if profile:
                running.enter_context(recording(server.pid, profile_path("telegram", target.name)))
            cpu0 = tree_cpu_s(server.pid), tree_cpu_s(fake.pid)
            go = time.monotonic()
            gen.go()
            done = gen.read("done")
            done_at = time.monotonic()
            cpu_done = tree_cpu_s(server.pid), tree_cpu_s(fake.pid)
            total = len(load.warmup) + len(load.timed)
            replies, waited = drain(fake_url, total, stall_s)
            cpu1 = tree_cpu_s(server.pid), tree_cpu_s(fake.pid)
            gen.wait()
            stats = get_json(fake_url + "/_bench/stats")
            times = json.loads(times_path.read_text())
        server_log = log.read_text(errors="replace")
        # Until the last reply (not the end of the wait for replies that never came).
        last_reply = max((float(t) for _, t, _ in stats["sends"]), default=done_at)
        window = max(done_at, last_reply) - go
        result: dict[str, Any] = {
            "name": target.name,
            "does": target.does,
            "command": " ".join(target.command(port, fake_url)),
            **done,
            **pair_replies(load, times, stats["sends"]),
            "warmup": {
                "updates": warm["updates"],
                "ok_per_s": warm["ok_per_s"],
                "errors": warm["errors"],
                "replies": warm_replies,
            },
            "fake_methods": stats["methods"],
            "drain_after_webhooks_s": waited,
            "replies_at_fake": replies,
            # CPU from "go" until the last reply (the peer keeps working after its 200s).
            "window_s": window,
            "server_cpu_s": cpu1[0] - cpu0[0],
            "server_cores": (cpu1[0] - cpu0[0]) / window,
            "server_cpu_ms_per_update": (cpu1[0] - cpu0[0]) * 1000 / done["updates"],
            "server_cores_during_webhooks": (cpu_done[0] - cpu0[0]) / done["elapsed_s"],
            "fake_cpu_s": cpu1[1] - cpu0[1],
            "fake_cores": (cpu1[1] - cpu0[1]) / window,
            "generator_cores": done["generator_cpu_s"] / done["elapsed_s"],
            "server_log_errors": server_log.count("Traceback"),
            "server_log_tail": server_log[-2000:] if "Traceback" in server_log else "",
        }
        if target.ours:
            result["db"] = verify_db(
                tmp / "outreach.db",
                warm["ok"] + done["ok"],
                sum(1 for s in stats["sends"] if s[2]),
                load.chats,
            )
        return result


# -- profiling (--profile) -------------------------------------------------------------------


PROFILE_LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("SQLAlchemy (statements, compile cache, ORM session, results)", ("sqlalchemy/",)),
    ("aiosqlite (each call queued to its thread and back)", ("aiosqlite/",)),
    ("httpx + httpcore (the sendMessage request)", ("httpx/", "httpcore/", "anyio/", "h2/")),
    ("python-telegram-bot (de_json, handlers, request building)", ("telegram/",)),
    ("asyncio event loop (select, callbacks, wake-ups)", ("asyncio/", "selectors.py")),
    ("uvicorn + h11 or httptools (HTTP parsing and writing)", ("uvicorn/", "/h11/")),
    ("starlette (routing, request, response)", ("starlette/",)),
    ("json", ("json/",)),
    ("logging", ("logging/",)),
    ("bot.core (decide, match, render)", ("bot/core/",)),
    ("bot.store", ("bot/store/",)),
    ("bot.outreach.inbox", ("bot/outreach/inbox.py",)),
    ("bot.telegram.residents + channels + routes", ("bot/telegram/", "bot/channels/", "routes/")),
]


# -- output ----------------------------------------------------------------------------------


def table(results: list[dict[str, Any]]) -> list[str]:
    head = (
        f"{'name':<9} {'updates':>7} {'upd/s':>6} {'hook p50':>8} {'hook p99':>8}"
        f" {'reply p50':>9} {'reply p90':>9} {'reply p99':>9} {'replies/s':>9} {'errors':>6}"
        f" {'missing':>7} {'server CPU':>10} {'ms/upd':>6} {'fake CPU':>8} {'stored':>6}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        stored = ("yes" if r["db"]["ok"] else "NO") if "db" in r else "no"
        lines.append(
            f"{r['name']:<9} {r['updates']:>7} {r['ok_per_s']:>6.0f}"
            f" {r['webhook_p50_ms']:>8.1f} {r['webhook_p99_ms']:>8.1f}"
            f" {r['reply_p50_ms']:>9.1f} {r['reply_p90_ms']:>9.1f} {r['reply_p99_ms']:>9.1f}"
            f" {r['replies_per_s']:>9.0f} {r['errors']:>6} {r['missing_replies']:>7}"
            f" {r['server_cores']:>9.2f}c {r['server_cpu_ms_per_update']:>6.2f}"
            f" {r['fake_cores']:>7.2f}c {stored:>6}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description="Telegram webhook updates to replies.")
    parser.add_argument("--updates", type=int, default=5_000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--chats", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument(
        "--drain-stall",
        type=float,
        default=15.0,
        help="stop waiting for replies when none arrived for this many seconds",
    )
    parser.add_argument(
        "--targets",
        default="ours,peer,peer-conc",
        help=f"comma-separated, from {', '.join(TARGETS)} (default all three)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run each target a second time with py-spy recording the bot (timed run only)",
    )
    args = parser.parse_args()
    names = pick(args.targets, TARGETS)
    if args.concurrency >= args.chats:
        raise SystemExit("--concurrency must stay below --chats (one update per chat in flight)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    # uvicorn's "auto" picks httptools + uvloop when they are installed (uvicorn[standard]).
    fast = importable(["uvloop", "httptools"], dict(os.environ))
    uvicorn_auto = "httptools + uvloop" if fast else "h11 + asyncio"

    load = build_load(args.warmup, args.updates, args.chats, args.seed)
    cores = os.cpu_count() or 0
    print(
        f"Telegram webhook benchmark: {args.updates} updates (+{args.warmup} warm-up) at "
        f"concurrency {args.concurrency}, keep-alive, from {load.chats} chats, "
        f"{load.texts} resident texts; encoded up front in {load.build_s:.1f} s"
    )
    print(
        f"machine: {cores} cores shared by the bot, the fake Bot API, the load generator"
        f"{' and py-spy' if args.profile else ''} (one process each); "
        f"Python {platform.python_version()}"
    )
    print(
        f"uvicorn 'auto' here: {uvicorn_auto} for outreach serve; the peer runs under "
        f"asyncio.run() as the example does ({'httptools' if fast else 'h11'} + asyncio); "
        "the fake: h11 + asyncio"
    )
    print()

    results = []
    with tempfile.TemporaryDirectory(prefix="bench-telegram-load-") as tmp:
        for name in names:
            target = TARGETS[name]
            secret = SECRET if target.ours else None
            payloads = dump_payloads(
                Path(tmp) / f"payloads-{name}.pickle",
                {"secret": secret, "warmup": load.warmup, "timed": load.timed},
            )
            print(f"running {name}: {target.does}", flush=True)
            result = run_target(target, load, payloads, args.concurrency, args.drain_stall, False)
            if args.profile:
                print("  (again, with py-spy attached)", flush=True)
                run_target(target, load, payloads, args.concurrency, args.drain_stall, True)
            results.append(result)
            print(
                f"  {result['ok_per_s']:.0f} updates/s, webhook p50 {result['webhook_p50_ms']:.1f}"
                f" ms p99 {result['webhook_p99_ms']:.1f} ms; update->reply p50 "
                f"{result['reply_p50_ms']:.1f} ms p99 {result['reply_p99_ms']:.1f} ms; "
                f"errors {result['errors']}, missing replies {result['missing_replies']}",
                flush=True,
            )
            print_problems(result)
            if result["failed_sends"] or result["extra_replies"]:
                print(
                    f"  fake: {result['failed_sends']} sendMessage answered with an error, "
                    f"{result['extra_replies']} replies more than updates"
                )
            if result["server_log_errors"]:
                print(
                    f"  server log: {result['server_log_errors']} tracebacks; last lines:\n    "
                    + "\n    ".join(result["server_log_tail"].splitlines()[-4:])
                )

    print()
    print("\n".join(table(results)))
    print()
    print("notes:")
    print(f"  - {cores} cores shared by the bot, the fake Bot API and the generator; CPU columns")
    print("    are cores used from the start of the timed run to the last reply (1.00c = one")
    print("    core); ms/upd is the bot's CPU per update.")
    print("  - upd/s: webhook 200s per second of the timed run; hook p50/p99: the webhook's")
    print("    response time; reply p50/p90/p99: update sent -> its sendMessage at the fake, by")
    print("    time.monotonic() in both processes (CLOCK_MONOTONIC, system-wide on Linux);")
    print("    replies/s: timed replies / (last reply - first timed send).")
    for r in results:
        print(f"  - {r['name']}: {r['does']}")
    print("  - ours answers its webhook after the reply is sent and stored, so upd/s is also")
    print("    its reply rate; the peer answers at once and replies later from its queue, so")
    print("    its upd/s is only intake: compare replies/s and update->reply.")
    print("  - ours is checked afterwards in its SQLite file: every update stored once, every")
    print("    reply stored as sent with Telegram's message id ('stored'). The peer stores")
    print("    nothing and checks no secret (anyone can post it updates).")
    if args.profile:
        names = [r["name"] for r in results]
        print_profiles("telegram", names, PROFILE_LAYERS, 20, run="a second run, ")

    report = {
        "benchmark": "telegram_webhook_to_reply",
        "when": now_iso(),
        "machine": machine(),
        "versions": versions(*VERSIONS.split()),
        "uvicorn_auto": uvicorn_auto,
        "clock": "time.monotonic() (CLOCK_MONOTONIC, system-wide) in generator and fake",
        "load": {
            "updates": args.updates,
            "warmup": args.warmup,
            "concurrency": args.concurrency,
            "chats": load.chats,
            "texts": load.texts,
            "generator": "raw HTTP/1.1 client, one process, keep-alive",
        },
        "results": results,
    }
    write_report("telegram", report)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
