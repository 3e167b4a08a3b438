"""Signed Twilio SMS webhooks: ours (``outreach serve``) vs a Flask + gunicorn peer.

Compares requests answered per second, latency and server CPU per request of our real
server against Twilio's own quickstart (Flask under gunicorn), and against bare ASGI
"floors" that show what any Python server can answer on these cores.

Run: .venv/bin/python -m bench.bench_sms [--requests 20000] [--concurrency 50]
     [--targets ours,peer,ours-2w,...] [--install-fast] [--profile]

For each target, in the order given (default: ours, peer, ours-2w, floor-1w, floor-2w,
floor-verify-1w, floor-verify-2w, floor-store-1w, floor-store-2w; about 1.5 minutes on a
quiet machine) and on the same load:

- ``ours``: the real ``outreach serve`` (the .venv entry point) on a fresh SQLite file,
  migrated first with ``outreach db upgrade``. Each request: read and bound the body, verify
  ``X-Twilio-Signature`` (twilio's RequestValidator over PUBLIC_BASE_URL + path), parse the
  phone number, upsert the subscriber and contact, store the inbound message (de-duplicated
  on MessageSid), run the cost and loop guards (two COUNT queries), decide the reply, store
  it, commit (BEGIN IMMEDIATE, WAL), answer TwiML.
- ``ours-fast``: the same app with uvicorn's httptools parser and uvloop
  (``bench._serve``), what ``uvicorn[standard]`` would give. Only with ``--targets``:
  the project depends on ``uvicorn[standard]``, so ``ours`` already runs on both. Runs when
  both import, from the venv or from bench/results/site (``--install-fast`` pip-installs
  them there, leaving the project's venv alone); so do the floors.
- ``ours-h11``: ``bench._serve`` with h11 + asyncio, a control that should match ``ours``
  (only with ``--targets``).
- ``ours-2w``: the same app in 2 processes, ``uvicorn --factory
  bot.routes.app:create_app_from_env --workers 2``, both on the one SQLite file (each process has
  its own writer thread; they take turns on SQLite's lock, waiting up to busy_timeout).
  Checked afterwards like ``ours``; "database is locked" in its log is counted.
- ``floor-1w``, ``floor-2w``: a bare ASGI app (bench/_floor_app.py, no framework) under
  uvicorn with httptools + uvloop, 1 and 2 worker processes, answering a fixed TwiML reply
  without parsing, verifying or storing anything: the most any Python ASGI server can
  answer on these cores while the generator shares them.
- ``floor-verify-1w``, ``floor-verify-2w``: the same plus the form parsed and the
  signature checked with twilio's RequestValidator, as ours does. Nothing stored.
- ``floor-store-1w``, ``floor-store-2w``: floor-verify plus the rows ours writes for a
  message (subscriber and contact on first contact, inbound, reply) and one guard query, in
  plain sqlite3 through one group-committing writer thread per process (the design of
  bot/store/units.py); checked afterwards like ours. No decision, no phone parsing, no ORM,
  no framework: a floor for "verified, stored and answered".
- ``floor-store-pg-1w``, ``floor-store-pg-2w`` (only with ``--targets``): floor-verify plus
  the same rows on a fresh PostgreSQL database, in plain asyncpg (no SQLAlchemy), each message
  in a transaction of its own (``app_store_pg``): the floor of ours' design on PostgreSQL.
- ``floor-store-pg-batch-1w``, ``floor-store-pg-batch-2w`` (only with ``--targets``): the
  same rows, but the messages that arrive while one transaction runs are stored together in the
  next with set-wise statements (arrays and ``unnest``, ``app_store_pg_batch``): what a
  design that batches the statements, not only the transactions, could reach.
- ``peer``: bench/peer_flask.py under ``gunicorn -w 2`` (sync workers), the shape of Twilio's
  SMS quickstart: TwiML from a keyword dict, no signature check, nothing stored.

The load: a warm-up (not counted), then ``--requests`` signed ``POST``s from a separate
process (``bench._load``: ``--concurrency`` keep-alive connections; a raw HTTP/1.1 client by
default, which leaves more of the shared cores to the server under test than aiohttp does,
or ``--client aiohttp``). Each request has a unique MessageSid, comes from one of
``--senders`` valid Pakistani mobile numbers and carries a text from
fakes/residents.py (SMS rows, without STOP/START words so nobody opts out
mid-run; no number sends the same text twice, so the loop guard holds nothing; the cost
guard is set to 1,000,000 replies an hour). All bodies are encoded and signed before the
run. Afterwards our SQLite file is read to check that every request was stored and every
answer's reply stored.

The machine's cores are shared by the server, the generator and (with ``--profile``)
py-spy: the table shows how much CPU each used. Figures go to bench/results/sms.json.
``--unique-texts`` types every text anew (random case and spacing, which the bot reads the
same) so that no cache of what a text means or of decoded form values ever helps: the worst
case for ours, where residents never send the same words twice.

Target: ours >= 1,000 signed, stored and answered SMS/s, and >= 2x the peer.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import phonenumbers
from twilio.request_validator import RequestValidator

from bench._common import (
    BIN,
    POSTGRES_URL,
    PUBLIC,
    REPO,
    RESULTS,
    LoadGenerator,
    check_counts,
    dump_payloads,
    env_without,
    free_port,
    fresh_postgres,
    importable,
    machine,
    migrate,
    module,
    now_iso,
    pick,
    print_problems,
    print_profiles,
    profile_path,
    recording,
    serving,
    tree_cpu_s,
    versions,
    with_repo_on_path,
    write_report,
)
from bot.core.segments import count_segments
from fakes.residents import ROWS

EXTRA_SITE = RESULTS / "site"  # uvloop + httptools for ours-fast, outside the project's venv

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "bench-twilio-auth-token"
OUR_NUMBER = "+15005550006"
SIGNED_URL = PUBLIC + "/sms/twilio"

TARGET_RPS = 1000.0
TARGET_RATIO = 2.0

# Mobile prefixes of the Pakistani networks (Jazz, Zong, Warid, Ufone, Telenor).
PK_PREFIXES = [f"30{d}" for d in range(10)] + [
    *(f"31{d}" for d in range(6)),
    *(f"32{d}" for d in range(4)),
    *(f"33{d}" for d in range(6)),
    *(f"34{d}" for d in range(8)),
]


# -- the load --------------------------------------------------------------------------------


def sender_numbers(count: int, rng: random.Random) -> list[str]:
    """``count`` distinct E.164 Pakistani mobiles that ``phonenumbers`` calls valid."""
    numbers: list[str] = []
    seen: set[str] = set()
    while len(numbers) < count:
        prefix = PK_PREFIXES[len(numbers) % len(PK_PREFIXES)]
        number = f"+92{prefix}{rng.randrange(10**7):07d}"
        if number in seen:
            continue
        if not phonenumbers.is_valid_number(phonenumbers.parse(number)):
            continue
        seen.add(number)
        numbers.append(number)
    return numbers


def resident_bodies() -> list[str]:
    """What residents text by SMS, less the opt-out and opt-in words."""
    return [r.text for r in ROWS if r.channel == "sms" and r.intent not in ("opt_out", "opt_in")]


def twilio_params(sid: str, sender: str, body: str) -> dict[str, str]:
    """The form Twilio posts for an incoming SMS (the fields its webhook really sends)."""
    return {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": "PK",
        "To": OUR_NUMBER,
        "ToZip": "",
        "NumSegments": str(count_segments(body).segments),
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }


@dataclass
class Load:
    warmup: list[tuple[bytes, str]]
    timed: list[tuple[bytes, str]]
    senders: int
    bodies: int
    build_s: float


def varied(text: str, rng: random.Random) -> str:
    """``text`` as someone else might type it: letters in random case, spaces doubled or
    added at the end. The bot reads it the same (it normalises case and spacing), but the
    exact text is new, so nothing cached for an earlier text is reused."""
    letters = "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in text)
    return letters.replace(" ", "  ", rng.randint(0, 1)) + " " * rng.randint(0, 3)


def build_load(
    warmup: int, requests: int, senders: int, seed: int, unique_texts: bool = False
) -> Load:
    """Every request encoded and signed up front, so signing never loads the generator.

    Request ``i`` comes from number ``i % senders`` with body ``(7n + i // senders) % B``:
    consecutive requests come from different people, and no one repeats a text (the loop
    guard would rightly stop answering a number that does). ``unique_texts`` types each
    body anew (:func:`varied`).
    """
    start = time.perf_counter()
    rng = random.Random(seed)
    numbers = sender_numbers(senders, rng)
    bodies = resident_bodies()
    if (warmup + requests) // senders >= len(bodies):
        raise SystemExit("too few senders: someone would repeat a text; raise --senders")
    validator = RequestValidator(AUTH_TOKEN)
    items: list[tuple[bytes, str]] = []
    for i in range(warmup + requests):
        n = i % senders
        body = bodies[(7 * n + i // senders) % len(bodies)]
        if unique_texts:
            body = varied(body, rng)
        sid = "SM" + "".join(rng.choices("0123456789abcdef", k=32))
        params = twilio_params(sid, numbers[n], body)
        signature = validator.compute_signature(SIGNED_URL, params)
        items.append((urlencode(params).encode(), signature))
    return Load(items[:warmup], items[warmup:], senders, len(bodies), time.perf_counter() - start)


# -- targets ---------------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    does: str
    path: str  # the webhook path on the target
    ours: bool  # our app: migrate a fresh database first, verify it afterwards
    extra_env: dict[str, str] = field(default_factory=dict)
    wrapper_args: list[str] = field(default_factory=list)  # bench._serve, if not the CLI
    uvicorn_args: list[str] = field(default_factory=list)  # the uvicorn CLI, if not the above
    floor_db: bool = False  # bench._floor_app's app_store: a fresh FLOOR_DB, checked after
    postgres: bool = False  # ours on a fresh PostgreSQL database instead of a SQLite file

    def command(self, port: int) -> list[str]:
        if self.uvicorn_args:
            return [
                *(str(BIN / "uvicorn"), *self.uvicorn_args, "--host", "127.0.0.1"),
                *("--port", str(port), "--log-level", "warning", "--no-access-log"),
            ]
        if self.name == "peer":
            return [
                *(str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}"),
                *("--chdir", str(REPO), "bench.peer_flask:app"),
            ]
        if self.wrapper_args:
            return module("_serve", "--port", str(port), *self.wrapper_args)
        return [str(BIN / "outreach"), "serve", "--host", "127.0.0.1", "--port", str(port)]


OURS_DOES = (
    "verify signature + upsert subscriber/contact + store inbound + guards + decide"
    " + store reply + commit + TwiML"
)
DEFAULT_TARGETS = (
    "ours,peer,ours-2w,floor-1w,floor-2w,floor-verify-1w,floor-verify-2w,"
    "floor-store-1w,floor-store-2w"
)
TARGETS = {
    "ours": Target("ours", "outreach serve (uvicorn auto): " + OURS_DOES, "/sms/twilio", True),
    "ours-fast": Target(
        "ours-fast",
        "same app, uvicorn --http httptools --loop uvloop (bench/_serve.py)",
        "/sms/twilio",
        True,
        wrapper_args=["--http", "httptools", "--loop", "uvloop"],
    ),
    "ours-h11": Target(
        "ours-h11",
        "same app, uvicorn --http h11 --loop asyncio (bench/_serve.py, control)",
        "/sms/twilio",
        True,
        wrapper_args=["--http", "h11", "--loop", "asyncio"],
    ),
    "ours-2w": Target(
        "ours-2w",
        "same app, 2 processes: uvicorn --factory bot.routes.app:create_app_from_env --workers 2"
        " (uvicorn 'auto'), one SQLite file",
        "/sms/twilio",
        True,
        uvicorn_args=["--factory", "bot.routes.app:create_app_from_env", "--workers", "2"],
    ),
    "ours-pg": Target(
        "ours-pg",
        "outreach serve (uvicorn auto) on PostgreSQL (asyncpg): " + OURS_DOES,
        "/sms/twilio",
        True,
        postgres=True,
    ),
    **{
        f"ours-pg-{workers}w": Target(
            f"ours-pg-{workers}w",
            f"same app on PostgreSQL, {workers} processes: uvicorn --factory"
            f" bot.routes.app:create_app_from_env --workers {workers} (uvicorn 'auto')",
            "/sms/twilio",
            True,
            uvicorn_args=[
                "--factory",
                "bot.routes.app:create_app_from_env",
                "--workers",
                str(workers),
            ],
            postgres=True,
        )
        for workers in (2, 3)
    },
    **{
        f"floor{'-verify' if verify else ''}-{workers}w": Target(
            f"floor{'-verify' if verify else ''}-{workers}w",
            f"bare ASGI app (bench/_floor_app.py, no framework), uvicorn httptools + uvloop,"
            f" {workers} worker{'s' if workers > 1 else ''}: fixed TwiML, "
            + (
                "form parsed + RequestValidator signature check, nothing stored"
                if verify
                else "no signature check, nothing parsed or stored"
            ),
            "/sms/twilio",
            False,
            uvicorn_args=[
                *("--http", "httptools", "--loop", "uvloop", "--workers", str(workers)),
                "bench._floor_app:app" + ("_verify" if verify else ""),
            ],
        )
        for verify in (False, True)
        for workers in (1, 2)
    },
    **{
        f"floor-store-{workers}w": Target(
            f"floor-store-{workers}w",
            f"bare ASGI app + signature check + plain sqlite3 storage (bench/_floor_app.py"
            f" app_store), uvicorn httptools + uvloop, {workers} worker"
            f"{'s' if workers > 1 else ''}: contact, inbound, guard query, reply;"
            " group commit in a writer thread",
            "/sms/twilio",
            False,
            uvicorn_args=[
                *("--http", "httptools", "--loop", "uvloop", "--workers", str(workers)),
                *("--factory", "bench._floor_app:app_store"),
            ],
            floor_db=True,
        )
        for workers in (1, 2)
    },
    **{
        f"floor-store-pg{'-batch' if batch else ''}-{workers}w": Target(
            f"floor-store-pg{'-batch' if batch else ''}-{workers}w",
            f"bare ASGI app + signature check + plain asyncpg storage on PostgreSQL"
            f" (bench/_floor_app.py app_store_pg{'_batch' if batch else ''}), uvicorn httptools"
            f" + uvloop, {workers} worker{'s' if workers > 1 else ''}: contact locked, inbound,"
            " guard query, reply; "
            + (
                "the messages that wait meanwhile in one transaction, set-wise statements"
                if batch
                else "one transaction a message"
            ),
            "/sms/twilio",
            False,
            uvicorn_args=[
                *("--http", "httptools", "--loop", "uvloop", "--workers", str(workers)),
                *("--factory", "bench._floor_app:app_store_pg" + ("_batch" if batch else "")),
            ],
            postgres=True,
        )
        for batch in (False, True)
        for workers in (1, 2)
    },
    "peer": Target(
        "peer",
        "Flask + MessagingResponse under gunicorn -w 2 (sync): TwiML only,"
        " no signature check, nothing stored",
        "/sms",
        False,
    ),
}


def server_env(tmp: Path, target: Target, database_url: str) -> dict[str, str]:
    # Only Twilio is configured: no Telegram bot or SMS gateway from the caller's environment.
    env = env_without("TELEGRAM_", "SMSGATE_")
    env.update(
        DATABASE_URL=database_url,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_FROM_NUMBER=OUR_NUMBER,
        TWILIO_API_BASE_URL="http://127.0.0.1:9",  # inbound answers in TwiML; never called
        PUBLIC_BASE_URL=PUBLIC,
        CONTENT_DIR=str(REPO / "content"),
        LOG_LEVEL="WARNING",
        SMS_REPLIES_PER_HOUR="1000000",  # the cost guard would hold replies in a bench
    )
    env.update(target.extra_env)
    # bench._serve runs where ours runs, in a scratch directory: it needs the repository.
    return with_repo_on_path(env) if target.wrapper_args else env


def verify_db(db: Path | str, sent: int, answered: int, senders: int) -> dict[str, Any]:
    """What the server stored (a SQLite file or a PostgreSQL URL), read after it stopped."""
    inbound = "SELECT count(*) FROM messages WHERE direction = 'in'"
    outbound = "SELECT count(*) FROM messages WHERE direction = 'out'"
    return check_counts(
        db,
        {
            "inbound": inbound,
            "inbound_distinct_sids": (
                "SELECT count(DISTINCT provider_id) FROM messages WHERE direction = 'in'"
            ),
            "outbound": outbound,
            "outbound_sent": outbound + " AND status = 'sent' AND length(text) > 0",
            "contacts": "SELECT count(*) FROM contacts WHERE channel = 'sms'",
            "contacts_active": "SELECT count(*) FROM contacts WHERE status = 'active'",
            "subscribers": "SELECT count(*) FROM subscribers",
        },
        {
            "inbound": sent,
            "inbound_distinct_sids": sent,
            "outbound": answered,
            "outbound_sent": answered,
            "contacts": min(senders, sent),
            "contacts_active": min(senders, sent),
            "subscribers": min(senders, sent),
        },
    )


def verify_floor_db(db: Path | str, sent: int, answered: int, senders: int) -> dict[str, Any]:
    """What bench._floor_app's app_store stored, like :func:`verify_db` for ours."""
    return check_counts(
        db,
        {
            "inbound": "SELECT count(*) FROM messages WHERE direction = 'in'",
            "outbound": "SELECT count(*) FROM messages WHERE direction = 'out'",
            "contacts": "SELECT count(*) FROM contacts",
            "subscribers": "SELECT count(*) FROM subscribers",
        },
        {
            "inbound": sent,
            "outbound": answered,
            "contacts": min(senders, sent),
            "subscribers": min(senders, sent),
        },
    )


def run_target(
    target: Target,
    load: Load,
    payloads: Path,
    concurrency: int,
    client: str,
    profile: bool,
    postgres_url: str,
) -> dict[str, Any]:
    with contextlib.ExitStack() as scratch:
        tmp = Path(scratch.enter_context(tempfile.TemporaryDirectory(prefix="bench-sms-")))
        database: Path | str = tmp / "outreach.db"
        if target.postgres:
            database = scratch.enter_context(fresh_postgres(postgres_url, f"sms_{target.name}"))
            database_url = database
        else:
            database_url = f"sqlite+aiosqlite:///{database}"
        env = server_env(tmp, target, database_url)
        if target.floor_db:
            env["FLOOR_DB"] = str(tmp / "floor.db")
        elif target.postgres and not target.ours:  # the floor's own asyncpg, not SQLAlchemy's
            env["FLOOR_PG"] = database_url.replace("postgresql+asyncpg://", "postgresql://")
        if target.ours:
            migrate(tmp, env)
        port = free_port()
        log = tmp / "server.log"
        base = f"http://127.0.0.1:{port}"
        health = base + ("/healthz" if target.ours else target.path)
        load_cmd = module("_load", str(payloads), base + target.path, str(concurrency), client)
        with contextlib.ExitStack() as running:
            cwd = tmp if target.ours else REPO
            server = running.enter_context(
                serving(target.command(port), log, cwd=cwd, env=env, ready=health)
            )
            gen = running.enter_context(LoadGenerator(load_cmd))
            warm = gen.read("warm")
            if profile and target.name.startswith("ours"):
                out = profile_path("sms", target.name)
                running.enter_context(recording(server.pid, out, subprocesses=True))
            cpu0 = tree_cpu_s(server.pid)
            gen.go()
            done = gen.read("done")
            cpu1 = tree_cpu_s(server.pid)
            gen.wait()
        server_log = log.read_text(errors="replace")
        result: dict[str, Any] = {
            "name": target.name,
            "does": target.does,
            "command": " ".join(target.command(port)),
            **done,
            "server_cpu_s": cpu1 - cpu0,
            "server_cores": (cpu1 - cpu0) / done["elapsed_s"],
            "generator_cores": done["generator_cpu_s"] / done["elapsed_s"],
            "server_cpu_ms_per_request": (cpu1 - cpu0) * 1000 / done["requests"],
            "warmup": {k: warm[k] for k in ("requests", "rps", "ok", "empty", "errors")},
            "server_log_errors": server_log.count("Exception in ASGI application"),
            "server_log_db_locked": server_log.count(
                "OperationalError: (sqlite3.OperationalError) database is locked"
            )
            + server_log.count("floor store failed: database is locked"),
            "server_log_tail": server_log[-2000:] if "Traceback" in server_log else "",
        }
        sent = warm["requests"] + done["requests"]
        answered = warm["ok"] + done["ok"]
        if target.ours:
            result["db"] = verify_db(database, sent, answered, load.senders)
        elif target.floor_db:
            result["db"] = verify_floor_db(tmp / "floor.db", sent, answered, load.senders)
        elif target.postgres:
            result["db"] = verify_floor_db(database, sent, answered, load.senders)
        return result


# -- profiling (--profile) -------------------------------------------------------------------


PROFILE_LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("SQLAlchemy (statements, compile cache, ORM session, results)", ("sqlalchemy/",)),
    ("aiosqlite (each call queued to its thread and back)", ("aiosqlite/",)),
    ("asyncio event loop (select, callbacks, wake-ups)", ("asyncio/", "selectors.py")),
    ("uvicorn + h11 (HTTP parsing and writing)", ("uvicorn/", "/h11/")),
    ("starlette (routing, middleware, request, response)", ("starlette/",)),
    ("RequestValidator (signature check)", ("request_validator.py",)),
    ("bot.core (decide, render, segments)", ("bot/core/",)),
    ("phonenumbers (parse the sender)", ("phonenumbers/",)),
    ("twiml (MessagingResponse)", ("twilio/twiml",)),
    ("logging", ("logging/",)),
    ("bot.store", ("bot/store/",)),
    ("bot.outreach.inbox", ("bot/outreach/inbox.py",)),
    ("bot.routes (form parsing, body)", ("bot/routes/", "bot/channels/")),
]


# -- output ----------------------------------------------------------------------------------


# What the SMS bench runs on, in sms.json.
VERSIONS = "uvicorn starlette sqlalchemy aiosqlite twilio aiohttp flask gunicorn uvloop httptools"


def table(results: list[dict[str, Any]]) -> list[str]:
    peer = next((r for r in results if r["name"] == "peer"), None)
    head = (
        f"{'name':<15} {'requests':>8} {'req/s':>8} {'x peer':>6} {'p50 ms':>7} {'p90 ms':>7}"
        f" {'p99 ms':>7} {'errors':>6} {'empty':>5} {'server CPU':>10} {'gen CPU':>7}"
        f" {'CPU ms/req':>10} {'stored':>6}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        stored = ("yes" if r["db"]["ok"] else "NO") if "db" in r else "n/a"
        ratio = f"{r['rps'] / peer['rps']:>6.2f}" if peer else f"{'-':>6}"
        lines.append(
            f"{r['name']:<15} {r['requests']:>8} {r['rps']:>8.0f} {ratio} {r['p50_ms']:>7.1f}"
            f" {r['p90_ms']:>7.1f} {r['p99_ms']:>7.1f} {r['errors']:>6} {r['empty']:>5}"
            f" {r['server_cores']:>9.2f}c {r['generator_cores']:>6.2f}c"
            f" {r['server_cpu_ms_per_request']:>10.2f} {stored:>6}"
        )
    return lines


def floor_verdict(by_name: dict[str, dict[str, Any]]) -> list[str]:
    """Whether 2x the peer is within reach of any Python ASGI server here, from the floors."""
    peer = by_name.get("peer")
    floors = [r for n, r in by_name.items() if n.startswith("floor")]
    if peer is None or not floors:
        return []
    lines = []
    kinds = {
        "floor-verify": "bare app + signature check",
        "floor-store": "bare app + signature check + sqlite3 storage",
        "floor": "bare app, no work",
    }
    for prefix, what in kinds.items():
        group = [
            r
            for r in floors
            if r["name"].startswith(prefix + "-") and r["name"][len(prefix) + 1].isdigit()
        ]
        if not group:
            continue
        best = max(group, key=lambda r: r["rps"])
        ratio = best["rps"] / peer["rps"]
        lines.append(
            f"floor ({what}): best {best['name']} {best['rps']:.0f} req/s = {ratio:.2f}x the"
            f" peer; {TARGET_RATIO:.0f}x the peer needs {TARGET_RATIO * peer['rps']:.0f} req/s"
            + (" -> within reach" if ratio >= TARGET_RATIO else " -> out of reach even here")
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description="Signed Twilio SMS webhook throughput.")
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--senders", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument(
        "--unique-texts",
        action="store_true",
        help="type every text anew (random case and spacing): the caches of what a text "
        "means and of decoded form values never help",
    )
    parser.add_argument(
        "--client",
        choices=["raw", "aiohttp"],
        default="raw",
        help="the generator's HTTP client (default raw: HTTP/1.1 over asyncio streams)",
    )
    parser.add_argument(
        "--targets",
        default=DEFAULT_TARGETS,
        help=f"comma-separated, from {', '.join(TARGETS)} (default {DEFAULT_TARGETS})",
    )
    parser.add_argument(
        "--install-fast",
        action="store_true",
        help=f"pip-install uvloop + httptools into {EXTRA_SITE.relative_to(REPO)} for ours-fast",
    )
    parser.add_argument(
        "--postgres-url",
        default=POSTGRES_URL,
        help="the PostgreSQL server for the -pg targets (a database is made and dropped for"
        " each); default $OUTREACH_TEST_POSTGRES_URL or the local server's test database",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="record our server with py-spy during the timed run (slows it down a little)",
    )
    args = parser.parse_args()
    names = pick(args.targets, TARGETS)
    RESULTS.mkdir(parents=True, exist_ok=True)

    base_env = dict(os.environ)
    if args.install_fast:
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--upgrade"]
        subprocess.run(
            [*pip, "--target", str(EXTRA_SITE), "uvloop>=0.19", "httptools>=0.6"], check=True
        )
    venv_fast = importable(["uvloop", "httptools"], base_env)
    needs_fast = [n for n in names if n == "ours-fast" or n.startswith("floor")]
    if needs_fast and not venv_fast:
        pythonpath = os.pathsep.join(p for p in (str(EXTRA_SITE), base_env.get("PYTHONPATH")) if p)
        extra = dict(base_env, PYTHONPATH=pythonpath)
        if EXTRA_SITE.is_dir() and importable(["uvloop", "httptools"], extra):
            for n in needs_fast:
                TARGETS[n].extra_env["PYTHONPATH"] = pythonpath
        else:
            for n in needs_fast:
                names.remove(n)
            print(
                f"{', '.join(needs_fast)} skipped: uvloop/httptools not installed"
                " (add --install-fast)\n"
            )

    load = build_load(args.warmup, args.requests, args.senders, args.seed, args.unique_texts)
    cores = os.cpu_count() or 0
    print(
        f"SMS webhook benchmark: {args.requests} signed POSTs (+{args.warmup} warm-up) at "
        f"concurrency {args.concurrency}, keep-alive, from {load.senders} numbers, "
        f"{load.bodies} resident texts; signed up front in {load.build_s:.1f} s"
    )
    print(
        f"machine: {cores} cores shared by the server, the load generator (one process, "
        f"{args.client} client){' and py-spy' if args.profile else ''}; "
        f"Python {platform.python_version()}"
    )
    print(
        f"outreach serve runs uvicorn 'auto': "
        f"{'httptools + uvloop' if venv_fast else 'h11 + asyncio (httptools/uvloop not installed)'}"
    )
    print()

    load_before = os.getloadavg()
    print(f"load on the machine before the run: {load_before} (1/5/15 min)\n")
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-sms-load-") as tmp:
        payloads = dump_payloads(
            Path(tmp) / "payloads.pickle", {"warmup": load.warmup, "timed": load.timed}
        )
        for name in names:
            target = TARGETS[name]
            print(f"running {name}: {target.does}", flush=True)
            result = run_target(
                target,
                load,
                payloads,
                args.concurrency,
                args.client,
                args.profile,
                args.postgres_url,
            )
            results.append(result)
            print(
                f"  {result['rps']:.0f} req/s, p50 {result['p50_ms']:.1f} ms, "
                f"p99 {result['p99_ms']:.1f} ms, errors {result['errors']}, "
                f"empty {result['empty']}",
                flush=True,
            )
            print_problems(result)
            if result["server_log_errors"]:
                print(
                    f"  server log: {result['server_log_errors']} exceptions in the app, "
                    f"{result['server_log_db_locked']} of them 'database is locked'; "
                    "last lines:\n    " + "\n    ".join(result["server_log_tail"].splitlines()[-4:])
                )

    print()
    print(f"load on the machine: {load_before} before, {os.getloadavg()} after (1/5/15 min)")
    print("\n".join(table(results)))
    print()
    print("notes:")
    print(f"  - {cores} cores shared: server, generator and any peer workers compete for them;")
    print("    'server CPU' / 'gen CPU' are cores used during the timed run (1.00c = one core).")
    for r in results:
        print(f"  - {r['name']}: {r['does']}")
    print("  - ours is checked afterwards in its SQLite file: every request stored, every")
    print("    answer's reply stored as sent ('stored' column). The peer stores nothing.")
    print("  - 'empty': 200 with empty TwiML (a guard held the reply); 'errors': anything else.")

    by_name = {r["name"]: r for r in results}
    verdict: dict[str, Any] = {}
    if "ours" in by_name:
        ours = by_name["ours"]
        good = ours["errors"] == 0 and ours.get("db", {}).get("ok", False)
        verdict["ours_rps"] = ours["rps"]
        verdict["target_rps"] = TARGET_RPS
        verdict["meets_rps"] = good and ours["rps"] >= TARGET_RPS
        line = f"target: ours {ours['rps']:.0f} req/s vs >= {TARGET_RPS:.0f}"
        if "peer" in by_name:
            ratio = ours["rps"] / by_name["peer"]["rps"]
            verdict["ratio_to_peer"] = ratio
            verdict["meets_ratio"] = good and ratio >= TARGET_RATIO
            line += f"; {ratio:.2f}x the peer vs >= {TARGET_RATIO:.0f}x"
        met = all(v for k, v in verdict.items() if k.startswith("meets"))
        print(line + (" -> MET" if met else " -> NOT MET"))
    for name in ("ours-2w", "ours-pg", "ours-pg-2w", "ours-pg-3w"):
        if name in by_name:
            r = by_name[name]
            good = r["errors"] == 0 and r.get("db", {}).get("ok", False)
            line = f"{name}: {r['rps']:.0f} req/s, stored {'all' if good else 'NOT all'}"
            if "peer" in by_name:
                line += f", {r['rps'] / by_name['peer']['rps']:.2f}x the peer"
            if r["server_log_db_locked"]:
                line += f"; {r['server_log_db_locked']} 'database is locked' in its log"
            print(line)
    verdict["floors"] = floor_verdict(by_name)
    for line in verdict["floors"]:
        print(line)
    if args.profile:
        print_profiles("sms", by_name, PROFILE_LAYERS, 25, greenlets=True)

    report = {
        "benchmark": "sms_twilio_webhook",
        "when": now_iso(),
        "machine": machine(loadavg_before=load_before, loadavg_after=os.getloadavg()),
        "versions": versions(*VERSIONS.split()),
        "outreach_serve_uvicorn_auto": "httptools+uvloop" if venv_fast else "h11+asyncio",
        "load": {
            "requests": args.requests,
            "unique_texts": args.unique_texts,
            "warmup": args.warmup,
            "concurrency": args.concurrency,
            "senders": load.senders,
            "bodies": load.bodies,
            "generator": f"{args.client} client, one process, keep-alive",
            "profiled": args.profile,
        },
        "results": results,
        "verdict": verdict,
    }
    write_report("sms", report)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
