"""The peer for bench_broadcast: a broadcast as a python-telegram-bot user writes one.

    python -m bench.peer_ptb_broadcast --api http://127.0.0.1:8090 --token 7000000001:AAF...
        --chats chats.txt --text "..." [--rate-limiter|--no-rate-limiter] [--concurrency 100]

PTB's documented tool for pacing is ``telegram.ext.AIORateLimiter`` (the
``python-telegram-bot[rate-limiter]`` extra; it needs only aiolimiter): built into the bot
with ``Application.builder().rate_limiter(AIORateLimiter(max_retries=3))``, it holds every
request to 30 a second overall (an ``aiolimiter.AsyncLimiter(30, 1)``; groups also 20 a
minute) and, on a 429, pauses every request for ``retry_after`` and tries again, up to
``max_retries`` times. The broadcast is then a plain loop: every chat id in the file (one a
line) gets ``bot.send_message(chat_id, text)``, at most ``--concurrency`` at a time (as our
dispatcher's batch of 100), everything else left to PTB's defaults (``HTTPXRequest``).
Nothing is stored: a send that fails after its retries is counted, not retried later.

``--no-rate-limiter`` sends as fast as the API answers (the unlimited benchmark).

Prints one JSON line: counts by outcome, the 429s PTB saw (``RetryAfter`` raised to the
loop, and retried inside AIORateLimiter), wall time and CPU seconds of this process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import time
from collections import Counter
from pathlib import Path

from telegram.error import Forbidden, RetryAfter, TelegramError
from telegram.ext import AIORateLimiter, Application


class _CountRetries(logging.Handler):
    """Counts AIORateLimiter's "Rate limit hit. Retrying" lines: the 429s it retried."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.retried = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("Rate limit hit. Retrying"):
            self.retried += 1


async def broadcast(
    api: str, token: str, chats: list[int], text: str, limited: bool, concurrency: int
) -> dict[str, object]:
    builder = Application.builder().token(token).base_url(f"{api}/bot").updater(None)
    if limited:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))
    application = builder.build()
    outcomes: Counter[str] = Counter()
    gate = asyncio.Semaphore(concurrency)

    async def send(chat_id: int) -> None:
        async with gate:
            try:
                await application.bot.send_message(chat_id, text)
            except RetryAfter:
                outcomes["rate_limited"] += 1
            except Forbidden:
                outcomes["forbidden"] += 1
            except TelegramError as exc:
                outcomes[f"failed: {type(exc).__name__}"] += 1
            else:
                outcomes["sent"] += 1

    async with application:
        cpu, start = time.process_time(), time.monotonic()
        await asyncio.gather(*(send(chat) for chat in chats))
        wall, cpu = time.monotonic() - start, time.process_time() - cpu
    return {"outcomes": dict(outcomes), "wall_s": wall, "cpu_s": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", required=True, help="the Bot API root, without /bot")
    parser.add_argument("--token", required=True)
    parser.add_argument("--chats", type=Path, required=True, help="a file of chat ids")
    parser.add_argument("--text", required=True)
    parser.add_argument(
        "--rate-limiter", action=argparse.BooleanOptionalAction, default=True, dest="limited"
    )
    parser.add_argument("--concurrency", type=int, default=100)
    args = parser.parse_args()
    counter = _CountRetries()
    logging.getLogger("telegram.ext.AIORateLimiter").addHandler(counter)
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.INFO)
    chats = [int(line) for line in args.chats.read_text().split()]
    result = asyncio.run(
        broadcast(args.api, args.token, chats, args.text, args.limited, args.concurrency)
    )
    result["retried_429s"] = counter.retried
    print(json.dumps(result))


if __name__ == "__main__":
    main()
