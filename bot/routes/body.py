"""Request bodies that never finish, and clients that leave: neither may flood the log or
hold a connection.

:class:`BodyDeadline` gives every request a time by which its whole body must have arrived
(``REQUEST_BODY_SECONDS`` for the webhooks, longer for the console, whose uploads come over
slow phones); a body still coming then gets **408** and the connection is closed. A client
that disconnects mid-body is logged as one line at DEBUG: it is the client's doing, and a
traceback per disconnect let anyone fill the log.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

# The console's forms and CSV uploads may come slowly from a phone.
CONSOLE_BODY_SECONDS = 120.0


class BodyTimedOut(Exception):
    """The request's body did not arrive within its deadline."""


class BodyDeadline:
    """Raise :class:`BodyTimedOut` from ``receive`` once a request's body is overdue."""

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    def seconds_for(self, path: str) -> float:
        """How long a request to ``path`` may take to send its body."""
        return CONSOLE_BODY_SECONDS if path.startswith("/console") else self.seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.seconds_for(scope["path"])
        done = False

        async def receive_in_time() -> Message:
            nonlocal done
            if done:  # the body is in: what comes now is the disconnect, whenever it comes
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyTimedOut from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                done = True
            return message

        await self.app(scope, receive_in_time, send)


async def body_timed_out(request: Request, exc: Exception) -> Response:
    log.info("request body not finished in time: %s %s, 408", request.method, request.url.path)
    return PlainTextResponse(
        "request body not finished in time", status_code=408, headers={"Connection": "close"}
    )


async def client_left(request: Request, exc: Exception) -> Response:
    log.debug("client disconnected before its request was read: %s", request.url.path)
    # Nobody is listening; the server drops what is sent after a disconnect.
    return Response(status_code=400)


handlers = {BodyTimedOut: body_timed_out, ClientDisconnect: client_left}
