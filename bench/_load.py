"""The load generator for bench_sms, run in its own process (not a benchmark by itself).

    python -m bench._load PAYLOADS.pickle URL CONCURRENCY [raw|aiohttp]

PAYLOADS holds ``{"warmup": [...], "timed": [...]}``, each item ``(body_bytes, signature)``:
every request is encoded and signed before anything is sent, so the generator only sends.
Protocol on stdin/stdout, one line each:

1. sends the warm-up, prints ``warm <json>``;
2. waits for ``go`` on stdin (the parent samples the server's CPU time meanwhile);
3. sends the timed requests and prints ``done <json>`` with the figures.

``CONCURRENCY`` tasks each hold one connection, kept alive unless the server closes it (the
peer's gunicorn sync workers close after every response; the client then reconnects, as
Twilio would). Two clients:

- ``raw`` (default): HTTP/1.1 over asyncio streams, every request's bytes built before the
  run; it reads the status line, the headers and a Content-Length body. It uses about a
  third of aiohttp's CPU per request, which matters when the generator shares 2 cores
  with the server under test.
- ``aiohttp``: one ClientSession with a pool of ``CONCURRENCY`` connections.

A response counts as ``ok`` when it is a 200 holding ``<Message>``, ``empty`` when a 200 has
no ``<Message>`` (a guard held the reply, or a duplicate), else as an error.

bench._load_telegram uses its connection, its worker loop and its protocol.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bench._common import percentile

HEADERS = {
    "Content-Type": "application/x-www-form-urlencoded",
    "User-Agent": "TwilioProxy/1.1",
    "Accept": "*/*",
}

# Sends request i; returns (status, body), raises OSError/ConnectionError on a broken socket.
Send = Callable[[int], Awaitable[tuple[int, bytes]]]
# One worker's sender and what closes its connection when the worker is done.
Sender = tuple[Send, Callable[[], None]]
TIMEOUT_S = 60.0
# A failed connection or a time-out, counted by name; the request's status is then 0.
FAILED = (aiohttp.ClientError, TimeoutError, OSError, asyncio.IncompleteReadError)


class RawConnection:
    """One keep-alive HTTP/1.1 connection; reconnects when the server closed it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        try:
            self.writer.write(raw)
            head = await self.reader.readuntil(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            status = int(lines[0].split(b" ", 2)[1])
            length = -1
            close = False
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            if length >= 0:
                body = await self.reader.readexactly(length)
            else:  # no length: the body runs to the end of the connection
                body = await self.reader.read()
                close = True
        except BaseException:
            self.close()
            raise
        if close:
            self.close()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


@dataclass
class Sent:
    """A phase's requests: ``(started, answered, status, body)`` each, in request order."""

    requests: list[tuple[float, float, int, bytes]]
    exceptions: Counter[str]
    start: float
    elapsed_s: float
    cpu_s: float  # this process's, while it sent

    def statuses(self) -> Counter[int]:
        return Counter(status for _, _, status, _ in self.requests if status)

    def latencies_ms(self) -> list[float]:
        return sorted((answered - t0) * 1000 for t0, answered, _, _ in self.requests)


async def send_each(
    open_sender: Callable[[], Awaitable[Sender]],
    n: int,
    concurrency: int,
    clock: Callable[[], float],
) -> Sent:
    """Requests 0 to n - 1 from ``concurrency`` workers, each with its own sender (one
    connection), each taking the next request as soon as its previous one is answered."""
    requests = [(0.0, 0.0, 0, b"")] * n
    exceptions: Counter[str] = Counter()
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        send, close = await open_sender()
        while next_index < n:
            i = next_index
            next_index += 1
            t0 = clock()
            try:
                async with asyncio.timeout(TIMEOUT_S):
                    status, content = await send(i)
            except FAILED as e:
                requests[i] = (t0, clock(), 0, b"")
                exceptions[type(e).__name__] += 1
                continue
            requests[i] = (t0, clock(), status, content)
        close()

    cpu0 = time.process_time()
    start = clock()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = clock() - start
    return Sent(requests, exceptions, start, elapsed, time.process_time() - cpu0)


async def send_all(
    open_sender: Callable[[], Awaitable[Sender]], n: int, concurrency: int
) -> dict[str, Any]:
    sent = await send_each(open_sender, n, concurrency, time.perf_counter)
    statuses = sent.statuses()
    ok = sum(s == 200 and b"<Message>" in body for _, _, s, body in sent.requests)
    empty = statuses[200] - ok
    ms = sent.latencies_ms()
    return {
        "requests": n,
        "elapsed_s": sent.elapsed_s,
        "rps": n / sent.elapsed_s,
        "p50_ms": percentile(ms, 50),
        "p90_ms": percentile(ms, 90),
        "p99_ms": percentile(ms, 99),
        "max_ms": ms[-1] if ms else float("nan"),
        "mean_ms": sum(ms) / n if n else float("nan"),
        "ok": ok,
        "empty": empty,
        "errors": n - ok - empty,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "exceptions": dict(sent.exceptions),
        "generator_cpu_s": sent.cpu_s,
    }


async def protocol(phase: Callable[[str], Awaitable[dict[str, Any]]]) -> None:
    """Runs ``phase("warmup")``, then ``phase("timed")`` once the driver says ``go``, each
    phase's figures printed on a line of their own (bench._common.LoadGenerator reads them)."""
    print("warm " + json.dumps(await phase("warmup")), flush=True)
    line = await asyncio.to_thread(sys.stdin.readline)
    if line.strip() != "go":
        return
    print("done " + json.dumps(await phase("timed")), flush=True)


def raw_requests(url: str, items: list[tuple[bytes, str]]) -> list[bytes]:
    parts = urlsplit(url)
    head = f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in HEADERS.items()
    )
    return [
        f"{head}X-Twilio-Signature: {sig}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
        for body, sig in items
    ]


async def run_phase(
    client: str,
    session: aiohttp.ClientSession | None,
    url: str,
    items: list[tuple[bytes, str]],
    concurrency: int,
) -> dict[str, Any]:
    if client == "raw":
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        raws = raw_requests(url, items)

        async def make_raw() -> Sender:
            conn = RawConnection(host, port)
            return (lambda i: conn.request(raws[i])), conn.close

        return await send_all(make_raw, len(items), concurrency)

    assert session is not None

    async def make_aiohttp() -> Sender:
        async def send(i: int) -> tuple[int, bytes]:
            body, signature = items[i]
            headers = {**HEADERS, "X-Twilio-Signature": signature}
            async with session.post(url, data=body, headers=headers) as response:
                return response.status, await response.read()

        return send, lambda: None

    return await send_all(make_aiohttp, len(items), concurrency)


async def main(
    payloads: dict[str, list[tuple[bytes, str]]], url: str, concurrency: int, client: str
) -> None:
    session = None
    if client == "aiohttp":
        connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
        session = aiohttp.ClientSession(connector=connector)
    try:
        await protocol(lambda phase: run_phase(client, session, url, payloads[phase], concurrency))
    finally:
        if session is not None:
            await session.close()


if __name__ == "__main__":
    # Written by bench_sms a moment ago; read before any request is sent.
    loaded = pickle.loads(Path(sys.argv[1]).read_bytes())  # noqa: S301
    chosen = sys.argv[4] if len(sys.argv) > 4 else "raw"
    if chosen not in ("raw", "aiohttp"):
        raise SystemExit(f"unknown client {chosen!r}: raw or aiohttp")
    asyncio.run(main(loaded, sys.argv[2], int(sys.argv[3]), chosen))
