"""The fake provider APIs for bench_telegram and bench_broadcast, each in its own process
(not a benchmark by itself).

    python -m bench._fakes telegram --port 8090 --token 7000000001:AAF...
        [--per-second 30 --per-chat 1] [--http h11|httptools] [--loop asyncio|uvloop]
    python -m bench._fakes twilio --port 8091 --sid AC... --token ... [--http ...] [--loop ...]

Each serves one of fakes/ under uvicorn (h11 + asyncio by default, access log off), with
``GET /_bench/count`` (``{"sends": n}``, to wait on) and ``GET /_bench/stats``.

``telegram``: fakes/telegram_api.FakeTelegram. Without ``--per-second``/``--per-chat``
there is no rate limit (``enforce_rate`` is never called, so every ``sendMessage`` is
answered at once); with either, ``enforce_rate`` answers 429 with ``retry_after`` to a send
above it, as Telegram's flood control does. Its stats::

    {"webhook_url": ..., "webhook_secret": ..., "methods": {"sendMessage": n, ...},
     "rate_limited": n, "sends": [[chat_id, arrived, ok], ...]}

one entry per ``sendMessage``, in arrival order: ``arrived`` is ``time.monotonic()`` when the
request reached the fake's app (before its body was read). On Linux ``time.monotonic()`` is
``CLOCK_MONOTONIC``, one clock for the whole system, so the benchmark compares it with the
load generator's send times taken in another process. ``ok`` is false when the fake answered
an error (it validates text, HTML and keyboards like Telegram, and answers 429 above an
enforced rate); ``rate_limited`` counts the 429s.

``twilio``: fakes/twilio_api.FakeTwilio, its stats in the same shape: ``sends`` is one
``["", arrived, ok]`` per message creation, and ``accepted_to`` the ``To`` of every message
created. No rate limit, and no router in front of the fake's app.
"""

from __future__ import annotations

import argparse
import contextvars
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import Message, Receive, Scope, Send

from fakes.telegram_api import ApiError, FakeTelegram
from fakes.twilio_api import FakeTwilio

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


def telegram(token: str) -> tuple[BenchTelegram, Starlette]:
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


def twilio(sid: str, token: str) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    fake = FakeTwilio(sid, token)
    arrivals: list[tuple[float, bool]] = []

    def stats() -> JSONResponse:
        return JSONResponse(
            {
                "rate_limited": 0,
                "sends": [["", t, ok] for t, ok in arrivals],
                "accepted_to": [m["to"] for m in fake.messages.values()],
            }
        )

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/_bench/count":
            await JSONResponse({"sends": len(arrivals)})(scope, receive, send)
            return
        if scope["type"] == "http" and scope["path"] == "/_bench/stats":
            await stats()(scope, receive, send)
            return
        if scope["type"] != "http" or scope["method"] != "POST":
            await fake.app(scope, receive, send)
            return
        arrived, status = time.monotonic(), 0

        async def noting(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await fake.app(scope, receive, noting)
        arrivals.append((arrived, status == 201))

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("provider", choices=["telegram", "twilio"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--sid", help="twilio: the account SID")
    parser.add_argument("--per-second", type=int, help="enforce this many sends a second")
    parser.add_argument("--per-chat", type=int, help="enforce this many sends a second a chat")
    parser.add_argument("--http", default="h11", choices=["h11", "httptools"])
    parser.add_argument("--loop", default="asyncio", choices=["asyncio", "uvloop"])
    args = parser.parse_args()
    app: Any
    if args.provider == "twilio":
        app = twilio(args.sid, args.token)
    else:
        fake, app = telegram(args.token)
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
