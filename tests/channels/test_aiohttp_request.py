"""AiohttpRequest under the real python-telegram-bot Bot, against the fake Bot API over HTTP."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from telegram import Bot
from telegram.error import Forbidden, NetworkError, RetryAfter, TimedOut

from bot.channels.aiohttp_request import AiohttpRequest
from fakes.server import aserve
from fakes.telegram_api import FakeTelegram, message_update

TOKEN = "7000000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
CHAT = 555000111


def _bot(api_url: str, request: AiohttpRequest | None = None) -> Bot:
    request = request or AiohttpRequest(read_timeout=2.0, connect_timeout=2.0)
    return Bot(
        TOKEN,
        base_url=f"{api_url}/bot",
        request=request,
        get_updates_request=AiohttpRequest(connection_pool_size=1, read_timeout=0.5),
    )


@pytest.fixture
def fake() -> FakeTelegram:
    return FakeTelegram(TOKEN)


@pytest.fixture
async def api_url(fake: FakeTelegram) -> AsyncIterator[str]:
    async with aserve(fake.app) as url:
        yield url


@pytest.fixture
async def bot(api_url: str) -> AsyncIterator[Bot]:
    async with _bot(api_url) as bot:
        yield bot


async def test_a_send_goes_as_a_form_and_comes_back_a_message(bot: Bot, fake: FakeTelegram) -> None:
    message = await bot.send_message(CHAT, "<b>Jobs</b> fair", parse_mode="HTML")

    assert message.message_id == 1
    assert message.chat.id == CHAT
    assert message.text == "Jobs fair"
    call = fake.calls[-1]
    assert call.method == "sendMessage"
    assert call.content_type == "application/x-www-form-urlencoded"
    assert call.params == {"chat_id": CHAT, "text": "<b>Jobs</b> fair", "parse_mode": "HTML"}


async def test_initialising_the_bot_asks_get_me(bot: Bot, fake: FakeTelegram) -> None:
    assert bot.username == "DhanoteOutreachBot"
    assert [call.method for call in fake.calls] == ["getMe"]


async def test_429_raises_retry_after_with_telegrams_wait(bot: Bot, fake: FakeTelegram) -> None:
    fake.rate_limit_next(retry_after=7)

    with pytest.raises(RetryAfter) as info:
        await bot.send_message(CHAT, "hello")

    assert info.value.retry_after == timedelta(seconds=7)
    assert fake.rate_limited == 1


async def test_403_raises_forbidden(bot: Bot, fake: FakeTelegram) -> None:
    fake.block(CHAT)

    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(CHAT, "hello")


async def test_an_answer_later_than_the_read_timeout_raises_timed_out(
    api_url: str, fake: FakeTelegram
) -> None:
    async with _bot(api_url, AiohttpRequest(read_timeout=0.2)) as bot:
        fake.delay_next(3.0)
        with pytest.raises(TimedOut):
            await bot.send_message(CHAT, "hello")
        # The connection the late answer was due on is dropped; the next send works.
        assert (await bot.send_message(CHAT, "again")).text == "again"


async def test_a_full_pool_raises_timed_out(fake: FakeTelegram) -> None:
    arrived = asyncio.Event()

    async def noting(scope: Scope, receive: Receive, send: Send) -> None:
        arrived.set()
        await fake.app(scope, receive, send)

    request = AiohttpRequest(
        connection_pool_size=1, pool_timeout=0.1, connect_timeout=0.1, read_timeout=5.0
    )
    async with aserve(noting) as url, _bot(url, request) as bot:
        fake.delay_next(2.0)
        arrived.clear()  # initialising the bot asked getMe
        slow = asyncio.create_task(bot.send_message(CHAT, "slow"))
        await arrived.wait()  # the one connection is now taken
        with pytest.raises(TimedOut):
            await bot.send_message(CHAT, "queued")
        assert (await slow).text == "slow"


async def test_a_refused_connection_raises_network_error() -> None:
    with socket.socket() as s:  # a port nobody listens on once it is closed
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    async with AiohttpRequest() as request:
        bot = Bot(TOKEN, base_url=f"{closed}/bot", request=request)
        with pytest.raises(NetworkError, match=r"^aiohttp\.ClientConnectorError") as info:
            await bot.send_message(CHAT, "hello")
    assert not isinstance(info.value, TimedOut)


async def test_a_long_poll_gets_its_own_read_timeout(bot: Bot, fake: FakeTelegram) -> None:
    # getUpdates' read timeout is 0.5 s; PTB adds the poll's 1 s to it for this request.
    assert await bot.get_updates(timeout=1) == ()
    fake.push_update(message_update(1, CHAT, "jobs"))
    updates = await bot.get_updates(timeout=1)
    assert [u.update_id for u in updates] == [1]


async def test_files_go_as_multipart_with_the_other_fields() -> None:
    received: list[dict[str, Any]] = []

    async def set_webhook(request: Request) -> JSONResponse:
        async with request.form() as form:
            upload = form["certificate"]
            assert isinstance(upload, UploadFile)
            received.append(
                {
                    "content_type": request.headers["content-type"].split(";")[0],
                    "url": form["url"],
                    "content": await upload.read(),
                }
            )
        return JSONResponse({"ok": True, "result": True})

    app = Starlette(routes=[Route("/bot{token}/setWebhook", set_webhook, methods=["POST"])])
    certificate = b"-----BEGIN CERTIFICATE-----\nMII...\n"
    async with aserve(app) as url, AiohttpRequest() as request:
        bot = Bot(TOKEN, base_url=f"{url}/bot", request=request)
        assert await bot.set_webhook("https://example.org/hook", certificate=certificate)

    assert received == [
        {
            "content_type": "multipart/form-data",
            "url": "https://example.org/hook",
            "content": certificate,
        }
    ]


async def test_a_request_before_initialize_or_after_shutdown_is_refused(api_url: str) -> None:
    # PTB wraps what do_request raises besides its own errors: NetworkError, as for httpx.
    request = AiohttpRequest()
    with pytest.raises(NetworkError, match="AiohttpRequest is not initialized"):
        await request.post(f"{api_url}/bot{TOKEN}/getMe")
    await request.initialize()
    assert await request.post(f"{api_url}/bot{TOKEN}/getMe")
    await request.shutdown()
    await request.shutdown()  # a second shutdown does nothing
    with pytest.raises(NetworkError, match="AiohttpRequest is not initialized"):
        await request.post(f"{api_url}/bot{TOKEN}/getMe")
    await request.initialize()  # and it opens again
    assert await request.post(f"{api_url}/bot{TOKEN}/getMe")
    await request.shutdown()


def test_building_one_needs_no_event_loop() -> None:
    request = AiohttpRequest(read_timeout=3.0)
    assert request.read_timeout == 3.0
    with pytest.raises(ValueError, match="at least 1"):
        AiohttpRequest(connection_pool_size=0)
