"""Serve an ASGI app with uvicorn on 127.0.0.1, on a free port, for the length of a test.

``serve(app)`` runs the server in a background thread (its own event loop) and works from sync
and async tests alike; ``aserve(app)`` runs it as a task in the test's own loop, which is
cheaper and lets the fake and the code under test share one loop. Both yield the base URL
(``http://127.0.0.1:PORT``, no trailing slash) once the server accepts connections, and stop
it cleanly afterwards. The shape follows httpx's ``tests/conftest.py`` (``serve_in_thread``);
binding the socket ourselves gives the port before the server starts.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Generator, Iterator
from email.utils import formatdate
from typing import Literal

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_START_TIMEOUT = 10.0


class _TestServer(uvicorn.Server):
    """A uvicorn server that leaves the process's signal handlers alone and stops when told.

    uvicorn looks at ``should_exit`` every 0.1 s and then sleeps another 0.1 s (and 0.1 s
    more per check while connections close) before its lifespan shut-down: 0.2-0.4 s a
    server, two or three servers a test, most of the suite's waiting. Here :meth:`stop`
    wakes the main loop at once, and shut-down checks the closing connections and requests
    every few milliseconds, with the same bound (``timeout_graceful_shutdown``) after which
    requests still running are cancelled.
    """

    _POLL = 0.005

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._woken = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def stop(self) -> None:
        """Ask the server to stop (from any thread)."""
        self.should_exit = True
        if self._loop is not None:
            # A loop already closed (the server stopped by itself) has nothing left to wake.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._woken.set)

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        # on_tick(0) refreshes the Date header and says whether to stop.
        while not await self.on_tick(0):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), timeout=1.0)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        try:
            async with asyncio.timeout(self.config.timeout_graceful_shutdown):
                # uvicorn's connections and requests signal nothing when they end.
                while self.server_state.connections or self.server_state.tasks:  # noqa: ASYNC110
                    await asyncio.sleep(self._POLL)
                # Within the bound: from Python 3.12.1 this waits for every connection.
                for server in self.servers:
                    await server.wait_closed()
        except TimeoutError:
            for task in self.server_state.tasks:
                task.cancel(msg="the test server stopped")
        await self.lifespan.shutdown()


def _config(
    app: ASGIApp, lifespan: Literal["on", "off"] = "off", clock_offset: float = 0.0
) -> uvicorn.Config:
    return uvicorn.Config(
        _dated(app, clock_offset) if clock_offset else app,
        # uvicorn's own Date header comes first; a server whose clock is off sends its own.
        date_header=not clock_offset,
        log_level="warning",
        access_log=False,
        lifespan=lifespan,
        ws="none",
        # A request still running at shutdown (a fake told to stall) is cancelled after this.
        timeout_graceful_shutdown=2,
        # Idle connections stay open longer than any client keeps one in its pool (aiohttp 15 s,
        # httpx 5 s). At uvicorn's 5 s a client could reuse a connection just as the server
        # closed it: the request failed without reaching the fake, and a test counting the
        # provider's requests against the sender's attempts found one missing.
        timeout_keep_alive=75,
    )


def _bind() -> tuple[socket.socket, str]:
    # IPPROTO_TCP (not 0) lets asyncio set TCP_NODELAY on accepted connections; without it
    # Nagle adds ~40 ms to every response.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    return sock, f"http://127.0.0.1:{port}"


def _dated(app: ASGIApp, clock_offset: float) -> ASGIApp:
    """``app`` answering with a ``Date`` header ``clock_offset`` seconds off the real clock."""

    async def dated(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_dated(message: Message) -> None:
            if message["type"] == "http.response.start":
                date = formatdate(time.time() + clock_offset, usegmt=True)
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                message = {**message, "headers": [*headers, (b"date", date.encode("ascii"))]}
            await send(message)

        await app(scope, receive, send_dated)

    return dated


@contextlib.contextmanager
def serve(app: ASGIApp, *, clock_offset: float = 0.0) -> Iterator[str]:
    """Run ``app`` in a background thread; yield its base URL; stop it on exit.

    ``clock_offset`` makes the server's ``Date`` header that many seconds ahead of the real
    clock (behind when negative), as a provider whose clock differs from ours would.
    """
    sock, url = _bind()
    server = _TestServer(_config(app, clock_offset=clock_offset))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.005)
        yield url
    finally:
        server.stop()
        thread.join(timeout=_START_TIMEOUT)
        sock.close()


@contextlib.asynccontextmanager
async def aserve(app: ASGIApp, *, lifespan: Literal["on", "off"] = "off") -> AsyncIterator[str]:
    """Run ``app`` as a task in the running loop; yield its base URL; stop it on exit.

    ``lifespan="on"`` runs the app's start-up and shut-down (our own app needs them).
    """
    sock, url = _bind()
    server = _TestServer(_config(app, lifespan))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if task.done():
                task.result()  # re-raises whatever stopped the server
                raise RuntimeError("the test server stopped before it started")
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            await asyncio.sleep(0.005)
        yield url
    finally:
        server.stop()
        await task
        sock.close()


def basic_auth(header: str | None) -> tuple[str, str] | None:
    """The (user, password) of an ``Authorization: Basic`` header, or None if it is not one."""
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:], validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None
