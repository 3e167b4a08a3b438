"""Bodies that never finish get 408 and a closed connection; clients that leave mid-body
cost one DEBUG line, not a traceback. Over real sockets to the served app."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from starlette.types import Receive, Scope, Send

from bot.routes.body import CONSOLE_BODY_SECONDS, BodyDeadline
from fakes.server import aserve
from tests.apps import app_for
from tests.conftest import PATIENCE, eventually
from tests.routes.conftest import make_settings

DEADLINE = 0.5
HEAD = (
    "POST {path} HTTP/1.1\r\nHost: outreach.example.org\r\n"
    "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n"
)

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
async def url(db_url: str) -> AsyncIterator[str]:
    app = app_for(make_settings(db_url, request_body_seconds=DEADLINE, run_worker=False))
    async with aserve(app, lifespan="on") as served:
        yield served


async def connect(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = url.removeprefix("http://").split(":")
    return await asyncio.open_connection(host, int(port))


async def test_a_body_that_never_finishes_gets_408_and_the_connection_closes(url: str) -> None:
    async def slow_client() -> bytes:
        reader, writer = await connect(url)
        writer.write((HEAD.format(path="/sms/twilio") + "From=%2B92").encode())
        await writer.drain()
        # To the end: the server closes the connection (a server that never does fails here).
        answer = await asyncio.wait_for(reader.read(), PATIENCE)
        writer.close()
        return answer

    answers = await asyncio.gather(*(slow_client() for _ in range(50)))
    for answer in answers:
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:80]
        assert b"connection: close" in answer.lower()


async def test_a_client_that_leaves_mid_body_is_one_debug_line(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for _ in range(5):
        _, writer = await connect(url)
        writer.write((HEAD.format(path="/sms/twilio") + "From=").encode())
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    def logged() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name == "bot.routes.body"]

    await eventually(lambda: len(logged()) == 5, "a line per client that left")
    assert all(r.levelno == logging.DEBUG for r in logged())
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    ("path", "seconds"),
    [
        ("/sms/twilio", 3.0),
        ("/telegram/webhook", 3.0),
        ("/console/subscribers/import", CONSOLE_BODY_SECONDS),
    ],
)
def test_the_console_gets_longer_than_the_webhooks(path: str, seconds: float) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("not called")

    assert BodyDeadline(app, seconds=3.0).seconds_for(path) == seconds
