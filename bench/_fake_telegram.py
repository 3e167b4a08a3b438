"""The fake Bot API for bench_telegram and bench_broadcast, in its own process (not a
benchmark by itself).

    python -m bench._fake_telegram --port 8090 --token 7000000001:AAF...
        [--per-second 30 --per-chat 1] [--http h11|httptools] [--loop asyncio|uvloop]

Serves fakes/telegram_api.FakeTelegram under uvicorn (h11 + asyncio by default, access
log off). Without ``--per-second``/``--per-chat`` there is no rate limit (``enforce_rate`` is
never called, so every ``sendMessage`` is answered at once); with either, ``enforce_rate``
answers 429 with ``retry_after`` to a send above it, as Telegram's flood control does.
Adds ``GET /_bench/stats``::

    {"webhook_url": ..., "webhook_secret": ..., "methods": {"sendMessage": n, ...},
     "rate_limited": n, "sends": [[chat_id, arrived, ok], ...]}

one entry per ``sendMessage``, in arrival order: ``arrived`` is ``time.monotonic()`` when the
request reached the fake's app (before its body was read). On Linux ``time.monotonic()`` is
``CLOCK_MONOTONIC``, one clock for the whole system, so the benchmark compares it with the
load generator's send times taken in another process. ``ok`` is false when the fake answered
an error (it validates text, HTML and keyboards like Telegram, and answers 429 above an
enforced rate); ``rate_limited`` counts the 429s.
"""

from __future__ import annotations

import argparse
import contextvars
import time
from collections import Counter
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from fakes.telegram_api import ApiError, FakeTelegram

_arrived: contextvars.ContextVar[float] = contextvars.ContextVar("arrived", default=0.0)


class BenchTelegram(FakeTelegram):
    """FakeTelegram that notes when each ``sendMessage`` arrived, and for which chat."""

    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.sends: list[tuple[int, float, bool]] = []
        self.methods: Counter[str] = Counter()

    async def _endpoint(self, request: Request) -> Response:
        _arrived.set(time.monotonic())
        self.methods[request.path_params.get("method", "?")] += 1
        return await super()._endpoint(request)

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        arrived = _arrived.get()
        chat = params.get("chat_id")
        chat_id = (
            int(chat) if isinstance(chat, int | str) and str(chat).lstrip("-").isdigit() else 0
        )
        try:
            message = super()._send_message(params)
        except ApiError:
            self.sends.append((chat_id, arrived, False))
            raise
        self.sends.append((chat_id, arrived, True))
        return message


def build(token: str) -> tuple[BenchTelegram, Starlette]:
    fake = BenchTelegram(token)

    async def stats(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "webhook_url": fake.webhook_url,
                "webhook_secret": fake.webhook_secret,
                "methods": dict(fake.methods),
                "rate_limited": fake.rate_limited,
                "sends": fake.sends,
            }
        )

    async def count(request: Request) -> JSONResponse:
        return JSONResponse({"sends": len(fake.sends)})

    app = Starlette(
        routes=[
            Route("/_bench/stats", stats),
            Route("/_bench/count", count),
            Mount("", app=fake.app),
        ]
    )
    return fake, app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--per-second", type=int, help="enforce this many sends a second")
    parser.add_argument("--per-chat", type=int, help="enforce this many sends a second a chat")
    parser.add_argument("--http", default="h11", choices=["h11", "httptools"])
    parser.add_argument("--loop", default="asyncio", choices=["asyncio", "uvloop"])
    args = parser.parse_args()
    fake, app = build(args.token)
    if args.per_second is not None or args.per_chat is not None:
        fake.enforce_rate(args.per_second, args.per_chat)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        http=args.http,
        loop=args.loop,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
