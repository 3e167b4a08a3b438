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
client and worker loop: every request's bytes built before the run, status line + headers +
Content-Length body read back), opened before the clock starts, and take the next update as
soon as their previous one is answered.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench._common import percentile
from bench._load import RawConnection, Sender, protocol, send_each

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

    async def connected() -> Sender:
        conn = RawConnection(host, port)
        if n:  # connect before the clock starts for the first request
            try:
                conn.reader, conn.writer = await asyncio.open_connection(host, port)
            except OSError:
                conn.close()
        return (lambda i: conn.request(raws[i])), conn.close

    sent = await send_each(connected, n, concurrency, time.monotonic)
    ms = sent.latencies_ms()
    statuses = sent.statuses()
    ok = statuses.get(200, 0)
    summary = {
        "updates": n,
        "start": sent.start,
        "elapsed_s": sent.elapsed_s,
        "ok": ok,
        "ok_per_s": ok / sent.elapsed_s if sent.elapsed_s else float("nan"),
        "errors": n - ok,
        "webhook_p50_ms": percentile(ms, 50),
        "webhook_p90_ms": percentile(ms, 90),
        "webhook_p99_ms": percentile(ms, 99),
        "webhook_max_ms": ms[-1] if ms else float("nan"),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "exceptions": dict(sent.exceptions),
        "generator_cpu_s": sent.cpu_s,
    }
    return summary, [[t0, answered, status] for t0, answered, status, _ in sent.requests]


async def main(payloads: dict[str, Any], url: str, concurrency: int, out: Path) -> None:
    times: dict[str, list[list[float]]] = {}

    async def phase(name: str) -> dict[str, Any]:
        summary, times[name] = await send_all(url, payloads[name], payloads["secret"], concurrency)
        if name == "timed":  # written before "done", when the driver reads it
            await asyncio.to_thread(out.write_text, json.dumps(times))
        return summary

    await protocol(phase)


if __name__ == "__main__":
    # Written by bench_telegram a moment ago; read before any request is sent.
    loaded = pickle.loads(Path(sys.argv[1]).read_bytes())  # noqa: S301
    asyncio.run(main(loaded, sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])))
