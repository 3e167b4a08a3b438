"""Webhook-to-reply-sent latency of ``outreach serve``: this tree (replies through the outbox)
against a peer tree (by default ``main``: today's path), in the same run, on the same load.

Each target is a real ``outreach serve`` on a fresh SQLite file, with every provider faked on
127.0.0.1 (in threads of this process): Telegram in webhook mode, Twilio (whose SMS webhooks are
answered in TwiML) and the SMSGate phone (whose ``sms:received`` webhooks are answered through
the SMS provider, here Twilio's REST API). The load is open: ``--rate`` new residents a second
on each channel, for ``--seconds``, each sending one message ("jobs"), after a warm-up. For
each reply, the time from just before its webhook was posted to:

* Telegram: the fake Bot API receiving the ``sendMessage``;
* Twilio: the TwiML response read (the reply is in it);
* SMSGate: the fake Twilio REST API receiving the message.

Times are ``time.monotonic()`` in this one process. The fakes and the load share this process's
two threads' worth of the machine with the server: compare the two targets, not the absolute
figures with a real provider's.

Run: .venv/bin/python -m bench.bench_replies [--rate 50] [--seconds 10] [--peer main]

The peer is checked out with ``git worktree add --detach`` into a temporary directory and run
with this venv (``PYTHONPATH`` first), its own migrations on its own database; ``--peer ''``
measures this tree alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench._common import (
    PUBLIC,
    REPO,
    TELEGRAM_TOKEN,
    env_without,
    free_port,
    load_average,
    machine,
    now_iso,
    percentile,
    serving,
    write_report,
)
from fakes import telegram_api as tg
from fakes.server import serve
from fakes.smsgate_api import FakeSMSGate, sign
from fakes.telegram_api import FakeTelegram
from fakes.twilio_api import FakeTwilio

ACCOUNT_SID = "AC" + "2" * 32
AUTH_TOKEN = "bench-twilio-token"
SIGNING_KEY = "bench-gateway-key"
WARMUP = 20  # residents per channel before the clock starts
CHANNELS = ("telegram", "twilio", "smsgate")


class StampedTelegram(FakeTelegram):
    """The fake Bot API, noting when each ``sendMessage`` arrived, per chat."""

    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.arrived: dict[str, float] = {}

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        self.arrived.setdefault(str(params.get("chat_id")), time.monotonic())
        return super()._send_message(params)


class StampedTwilio(FakeTwilio):
    """The fake Twilio, noting when each message creation arrived, per number."""

    arrived: dict[str, float]

    def __post_init__(self) -> None:
        super().__post_init__()
        self.arrived = {}

    def _message(self, form: dict[str, str]) -> dict[str, Any]:
        self.arrived.setdefault(form.get("To", ""), time.monotonic())
        return super()._message(form)


@contextlib.contextmanager
def peer_tree(ref: str) -> Iterator[Path]:
    """``ref`` checked out in a temporary worktree, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="bench-peer-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--quiet", str(tree), ref],
            cwd=REPO,
            check=True,
        )
        try:
            yield tree
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=REPO)


def outreach(tree: Path | None) -> list[str]:
    """The ``outreach`` command of ``tree`` (None: this one) with this interpreter."""
    if tree is None:
        return [str(Path(sys.executable).parent / "outreach")]
    return [sys.executable, "-c", "from bot.cli.main import main; main()"]


class Load:
    """Residents and their webhooks; when each was posted and when its reply arrived."""

    def __init__(self, telegram: StampedTelegram, twilio: StampedTwilio, gate: FakeSMSGate):
        self.telegram, self.twilio, self.gate = telegram, twilio, gate
        self.posted: dict[tuple[str, str], float] = {}
        self.twiml: dict[str, float] = {}
        self.failed = 0
        self._n = 0
        self._at = datetime.now(UTC).replace(microsecond=0)

    def who(self, channel: str, n: int) -> str:
        if channel == "telegram":
            return str(800_000_000 + n)
        return f"+92{'300' if channel == 'twilio' else '301'}{1_000_000 + n}"

    async def post(self, client: httpx.AsyncClient, url: str, channel: str, n: int) -> None:
        try:
            await self._post(client, url, channel, n)
        except httpx.HTTPError:  # a reset or a time-out: the provider would send it again
            self.failed += 1

    async def _post(self, client: httpx.AsyncClient, url: str, channel: str, n: int) -> None:
        who = self.who(channel, n)
        if channel == "telegram":
            body = tg.message_update(n + 1, int(who), "jobs")
            self.posted[(channel, who)] = time.monotonic()
            response = await self.telegram.post_update(
                url + "/telegram/webhook", body, client=client
            )
        elif channel == "twilio":
            params = {"MessageSid": f"SM{n:032x}", "From": who, "To": "+15005550006"}
            params["Body"] = "jobs"
            headers = {"X-Twilio-Signature": self.twilio.signature(PUBLIC + "/sms/twilio", params)}
            self.posted[(channel, who)] = time.monotonic()
            response = await client.post(url + "/sms/twilio", data=params, headers=headers)
            if response.status_code == 200:
                found = ET.fromstring(response.content).find("Message")  # noqa: S314
                if found is not None:
                    self.twiml[who] = time.monotonic()
        else:
            payload = {
                "messageId": f"m{n}",
                "message": "jobs",
                "sender": who,
                "phoneNumber": who,
                "simNumber": 1,
                "receivedAt": (self._at + timedelta(seconds=n)).isoformat(),
            }
            raw = self.gate.envelope("sms:received", payload)
            stamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json; charset=UTF-8",
                "X-Timestamp": stamp,
                "X-Signature": sign(SIGNING_KEY, raw, stamp),
            }
            self.posted[(channel, who)] = time.monotonic()
            response = await client.post(url + "/sms/smsgate", content=raw, headers=headers)
        if response.status_code != 200:
            self.failed += 1

    def arrived(self, channel: str, who: str) -> float | None:
        if channel == "telegram":
            return self.telegram.arrived.get(who)
        if channel == "twilio":
            return self.twiml.get(who)
        return self.twilio.arrived.get(who)

    def latencies_ms(self, channel: str, numbers: range) -> tuple[list[float], int]:
        """Sorted latencies of ``channel``'s residents ``numbers``, and how many got nothing."""
        out, missing = [], 0
        for n in numbers:
            who = self.who(channel, n)
            got = self.arrived(channel, who)
            if got is None:
                missing += 1
            else:
                out.append((got - self.posted[(channel, who)]) * 1000)
        return sorted(out), missing


async def drive(load: Load, url: str, first: int, count: int, rate: float) -> None:
    """``count`` residents a channel (numbered from ``first``), ``rate`` a second each, open
    loop: a webhook is posted on time whether or not the earlier ones were answered."""
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as client:
        tasks = []
        start = time.monotonic()
        for i in range(count):
            wait = start + i / rate - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            for channel in CHANNELS:
                tasks.append(asyncio.create_task(load.post(client, url, channel, first + i)))
        await asyncio.gather(*tasks)


def settings(db: Path, telegram: str, twilio: str, gate: str) -> dict[str, str]:
    return {
        **env_without("DATABASE_URL", "TELEGRAM_", "TWILIO_", "SMSGATE_", "PUBLIC_BASE_URL"),
        "DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "CONTENT_DIR": str(REPO / "content"),
        "LOG_LEVEL": "WARNING",
        "PUBLIC_BASE_URL": PUBLIC,
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_API_BASE_URL": telegram,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": "+15005550006",
        "TWILIO_API_BASE_URL": twilio,
        "SMSGATE_URL": gate,
        "SMSGATE_USERNAME": "gate-user",
        "SMSGATE_PASSWORD": "gate-pass",
        "SMSGATE_SIGNING_KEY": SIGNING_KEY,
    }


def run_target(
    name: str, tree: Path | None, rate: float, seconds: float
) -> tuple[int, dict[str, list[float]], dict[str, int]]:
    """One run of a target: webhooks not answered 200, and per channel the sorted latencies
    and how many residents got no reply."""
    telegram = StampedTelegram(TELEGRAM_TOKEN)
    twilio = StampedTwilio(ACCOUNT_SID, AUTH_TOKEN)
    gate = FakeSMSGate("gate-user", "gate-pass", SIGNING_KEY)
    count = int(rate * seconds)
    with (
        tempfile.TemporaryDirectory(prefix=f"bench-replies-{name}-") as tmp,
        serve(telegram.app) as telegram_api,
        serve(twilio.app) as twilio_api,
        serve(gate.app) as gate_api,
    ):
        cwd = Path(tmp)
        env = settings(cwd / "outreach.db", telegram_api, twilio_api, gate_api + gate.prefix)
        if tree is not None:  # the peer's code with its own content
            env["PYTHONPATH"] = str(tree)
            env["CONTENT_DIR"] = str(tree / "content")
        command = outreach(tree)
        subprocess.run(
            [*command, "db", "upgrade"], cwd=cwd, env=env, check=True, capture_output=True
        )
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = cwd / "serve.log"
        serve_cmd = [*command, "serve", "--port", str(port)]
        with serving(serve_cmd, log, cwd=cwd, env=env, ready=url + "/healthz"):
            load = Load(telegram, twilio, gate)
            asyncio.run(drive(load, url, 0, WARMUP, rate))
            asyncio.run(drive(load, url, WARMUP, count, rate))
            deadline = time.monotonic() + 60
            timed = range(WARMUP, WARMUP + count)
            while time.monotonic() < deadline:  # the last replies may still be on their way
                if all(load.latencies_ms(c, timed)[1] == 0 for c in CHANNELS):
                    break
                time.sleep(0.2)
            if "Traceback" in log.read_text(errors="replace"):
                print(f"{name}: the server logged a traceback:\n{log.read_text()[-3000:]}")
        latencies, missing = {}, {}
        for channel in CHANNELS:
            latencies[channel], missing[channel] = load.latencies_ms(channel, timed)
        return load.failed, latencies, missing


def figures(runs: list[tuple[int, dict[str, list[float]], dict[str, int]]]) -> dict[str, Any]:
    """The runs of one target pooled: p50, p99 and max per channel."""
    result: dict[str, Any] = {"failed_webhooks": sum(r[0] for r in runs)}
    for channel in CHANNELS:
        ms = sorted(x for r in runs for x in r[1][channel])
        result[channel] = {
            "n": len(ms),
            "missing": sum(r[2][channel] for r in runs),
            "p50_ms": round(percentile(ms, 50), 1),
            "p99_ms": round(percentile(ms, 99), 1),
            "max_ms": round(ms[-1], 1) if ms else None,
        }
    return result


def line(name: str, channel: str, r: dict[str, Any]) -> str:
    missing = f", {r['missing']} never answered" if r["missing"] else ""
    return (
        f"{name:<22} {channel:<9} p50 {r['p50_ms']:7.1f} ms   p99 {r['p99_ms']:7.1f} ms   "
        f"max {r['max_ms']} ms   (n={r['n']}{missing})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0, help="new residents/s per channel")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--peer", default="main", help="git ref of the peer ('' for none)")
    parser.add_argument(
        "--rounds", type=int, default=2, help="runs of each target, alternating who goes first"
    )
    args = parser.parse_args()

    ours, peer = "ours (outbox)", f"peer ({args.peer})"
    runs: dict[str, list[Any]] = {ours: []}
    seconds = args.seconds / args.rounds
    with contextlib.ExitStack() as stack:
        trees: dict[str, Path | None] = {ours: None}
        if args.peer:
            trees[peer] = stack.enter_context(peer_tree(args.peer))
            runs[peer] = []
        # On a shared machine the load moves: the targets take turns, each first in turn.
        for n in range(args.rounds):
            order = list(trees) if n % 2 == 0 else list(reversed(trees))
            for name in order:
                runs[name].append(run_target(name[:4], trees[name], args.rate, seconds))
    results = {name: figures(r) for name, r in runs.items()}
    print(
        f"webhook to reply sent, {args.rate:g} new residents/s on each channel for "
        f"{args.seconds:g} s ({args.rounds} rounds, alternating), SQLite; "
        f"load average {load_average()}"
    )
    for channel in CHANNELS:
        for name, r in results.items():
            print(line(name, channel, r[channel]))
    for name, r in results.items():
        if r["failed_webhooks"]:
            print(f"{name}: {r['failed_webhooks']} webhooks not answered 200")
    (REPO / "bench" / "results").mkdir(exist_ok=True)
    write_report(
        "replies",
        {"when": now_iso(), "machine": machine(), "rate": args.rate, "results": results},
    )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    sys.exit(main())
