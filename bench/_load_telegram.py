"""The load generator for bench_telegram, run in its own process (not a benchmark by itself).

    python -m bench._load_telegram PAYLOADS.pickle URL CONCURRENCY TIMES.json

PAYLOADS holds ``{"secret": str | None, "warmup": [...], "timed": [...]}``, each item
``(update_id, chat_id, body_bytes)``: every Update is JSON-encoded before anything is sent.
It plays Telegram delivering updates to a webhook: ``POST`` with ``Content-Type:
application/json`` and, when ``secret`` is set, ``X-Telegram-Bot-Api-Secret-Token``.
Protocol on stdin/stdout, one line each:

1. sends the warm-up, prints ``warm <json>``;
2. waits for ``go`` on stdin (the parent samples the servers' CPU time meanwhile);
3. sends the timed updates, writes TIMES.json and prints ``done <json>`` with the figures.

TIMES.json: ``{"warmup": [[sent, answered, status], ...], "timed": [...]}`` in the order of
the payloads, times from ``time.monotonic()`` (``CLOCK_MONOTONIC`` on Linux: the same clock
in every process, so the parent compares them with the fake Bot API's arrival times). ``sent``
is taken just before the request's bytes are written, ``answered`` when the response has been
read; ``status`` 0 is a failed connection or a time-out.

``CONCURRENCY`` tasks each hold one keep-alive HTTP/1.1 connection (bench._load's raw
client: every request's bytes built before the run, status line + headers + Content-Length
body read back) and take the next update as soon as their previous one is answered.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench._common import percentile
from bench._load import TIMEOUT_S, RawConnection

Item = tuple[int, int, bytes]


def raw_requests(url: str, items: list[Item], secret: str | None) -> list[bytes]:
    parts = urlsplit(url)
    head = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
    )
    if secret is not None:
        head += f"X-Telegram-Bot-Api-Secret-Token: {secret}\r\n"
    return [f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body for _, _, body in items]


async def send_all(
    url: str, items: list[Item], secret: str | None, concurrency: int
) -> tuple[dict[str, Any], list[list[float]]]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    raws = raw_requests(url, items, secret)
    n = len(raws)
    times = [[0.0, 0.0, 0] for _ in range(n)]
    statuses: Counter[int] = Counter()
    exceptions: Counter[str] = Counter()
    next_index = 0
    clock = time.monotonic

    async def worker() -> None:
        nonlocal next_index
        conn = RawConnection(host, port)
        if next_index < n:  # connect before the clock starts for the first request
            try:
                conn.reader, conn.writer = await asyncio.open_connection(host, port)
            except OSError:
                conn.close()
        while next_index < n:
            i = next_index
            next_index += 1
            t0 = clock()
            try:
                async with asyncio.timeout(TIMEOUT_S):
                    status, _ = await conn.request(raws[i])
            except (TimeoutError, OSError, asyncio.IncompleteReadError) as e:
                times[i] = [t0, clock(), 0]
                exceptions[type(e).__name__] += 1
                continue
            times[i] = [t0, clock(), status]
            statuses[status] += 1
        conn.close()

    cpu0 = time.process_time()
    start = clock()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = clock() - start
    cpu = time.process_time() - cpu0
    ms = sorted((a - s) * 1000 for s, a, _ in times)
    ok = statuses.get(200, 0)
    summary = {
        "updates": n,
        "start": start,
        "elapsed_s": elapsed,
        "ok": ok,
        "ok_per_s": ok / elapsed if elapsed else float("nan"),
        "errors": n - ok,
        "webhook_p50_ms": percentile(ms, 50),
        "webhook_p90_ms": percentile(ms, 90),
        "webhook_p99_ms": percentile(ms, 99),
        "webhook_max_ms": ms[-1] if ms else float("nan"),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "exceptions": dict(exceptions),
        "generator_cpu_s": cpu,
    }
    return summary, times


async def main(payloads: dict[str, Any], url: str, concurrency: int, out: Path) -> None:
    secret = payloads["secret"]
    warm, warm_times = await send_all(url, payloads["warmup"], secret, concurrency)
    print("warm " + json.dumps(warm), flush=True)
    line = await asyncio.to_thread(sys.stdin.readline)
    if line.strip() != "go":
        return
    done, timed_times = await send_all(url, payloads["timed"], secret, concurrency)
    text = json.dumps({"warmup": warm_times, "timed": timed_times})
    await asyncio.to_thread(out.write_text, text)
    print("done " + json.dumps(done), flush=True)


if __name__ == "__main__":
    # Written by bench_telegram a moment ago; read before any request is sent.
    loaded = pickle.loads(Path(sys.argv[1]).read_bytes())  # noqa: S301
    asyncio.run(main(loaded, sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])))
