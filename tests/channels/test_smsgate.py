"""The SMSGate channel with the real android_sms_gateway library against the fake gateway."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from android_sms_gateway import AsyncAPIClient
from android_sms_gateway.errors import APIError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.channels.base import Permanent, RecipientGone, Retryable
from bot.channels.smsgate import SMSGate, build_smsgate_client, close_smsgate_client
from bot.channels.smsgate_webhooks import (
    InvalidSmsGateEvent,
    SmsGateEvent,
    UnsupportedSmsGateEvent,
    parse_smsgate_event,
    verify_smsgate_signature,
)
from bot.config import Settings
from bot.core.decision import Reply
from fakes.server import aserve, serve
from fakes.smsgate_api import FakeSMSGate, nanoid
from tests.conftest import PATIENCE

USERNAME = "OUTREACH"
PASSWORD = "gateway-pass-71"
SIGNING_KEY = "k3y-from-the-phone"
TO = "+923001234567"


@pytest.fixture
def fake() -> FakeSMSGate:
    return FakeSMSGate(USERNAME, PASSWORD, SIGNING_KEY)


@pytest.fixture
async def api_url(fake: FakeSMSGate) -> AsyncIterator[str]:
    async with aserve(fake.app) as url:
        yield url + fake.prefix


def _settings(api_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "smsgate_url": api_url,
        "smsgate_username": USERNAME,
        "smsgate_password": PASSWORD,
        "smsgate_signing_key": SIGNING_KEY,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
async def client(api_url: str) -> AsyncIterator[AsyncAPIClient]:
    client = build_smsgate_client(_settings(api_url), timeout=2.0)
    yield client
    await close_smsgate_client(client)


@pytest.fixture
def gate(client: AsyncAPIClient) -> SMSGate:
    return SMSGate(client, timeout=2.0)


# -- sending ---------------------------------------------------------------------------------


async def test_send_returns_the_gateway_message_id(gate: SMSGate, fake: FakeSMSGate) -> None:
    result = await gate.send(TO, Reply("Dhanote IT Park: classes start Monday 10:00."))

    assert result.status == "sent"
    assert result.provider_id in fake.messages
    assert result.segments == 1
    request = fake.requests[-1]
    assert request.method == "POST"
    assert request.path == "/3rdparty/v1/messages"
    assert request.auth == (USERNAME, PASSWORD)
    assert request.json == {
        "phoneNumbers": [TO],
        "textMessage": {"text": "Dhanote IT Park: classes start Monday 10:00."},
        "withDeliveryReport": True,
        "isEncrypted": False,
        "priority": 0,
    }


async def test_send_counts_urdu_segments(gate: SMSGate, fake: FakeSMSGate) -> None:
    text = "نوکری کے لیے رجسٹریشن " * 5

    result = await gate.send(TO, Reply(text))

    assert result.segments == 2
    assert fake.sent[-1]["textMessage"]["text"] == text


async def test_send_passes_ttl_and_sim(client: AsyncAPIClient, fake: FakeSMSGate) -> None:
    await SMSGate(client, ttl=3600, sim_number=2).send(TO, Reply("hello"))

    assert fake.sent[-1]["ttl"] == 3600
    assert fake.sent[-1]["simNumber"] == 2


async def test_rate_limit_is_retryable_with_retry_after(gate: SMSGate, fake: FakeSMSGate) -> None:
    fake.rate_limit_next(retry_after=30)

    with pytest.raises(Retryable) as caught:
        await gate.send(TO, Reply("hello"))

    assert caught.value.after == 30
    assert caught.value.throttled
    assert "HTTP 429" in caught.value.reason
    assert isinstance(caught.value.__cause__, APIError)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_errors_are_retryable(gate: SMSGate, fake: FakeSMSGate, status: int) -> None:
    fake.fail_next(status=status)

    with pytest.raises(Retryable) as caught:
        await gate.send(TO, Reply("hello"))

    assert caught.value.after is None
    assert not caught.value.throttled
    assert f"HTTP {status}" in caught.value.reason


async def test_after_a_failure_the_next_send_goes_through(gate: SMSGate, fake: FakeSMSGate) -> None:
    fake.fail_next(status=503)
    with pytest.raises(Retryable, match="queue limit exceeded"):
        await gate.send(TO, Reply("hello"))

    result = await gate.send(TO, Reply("hello"))

    assert result.provider_id in fake.messages


async def test_invalid_number_is_permanent_and_not_logged_in_full(gate: SMSGate) -> None:
    number = "+92300123456789012"

    with pytest.raises(Permanent) as caught:
        await gate.send(number, Reply("hello"))

    assert not isinstance(caught.value, RecipientGone)
    assert "HTTP 400" in caught.value.reason
    assert "invalid phone number" in caught.value.reason
    assert number not in caught.value.reason


async def test_wrong_password_is_permanent(api_url: str, fake: FakeSMSGate) -> None:
    client = build_smsgate_client(_settings(api_url, smsgate_password="wrong"))
    try:
        with pytest.raises(Permanent) as caught:
            await SMSGate(client).send(TO, Reply("hello"))
    finally:
        await close_smsgate_client(client)

    assert "HTTP 401" in caught.value.reason
    assert fake.messages == {}


async def test_a_slow_gateway_times_out_as_retryable(
    client: AsyncAPIClient, fake: FakeSMSGate
) -> None:
    gate = SMSGate(client, timeout=0.2)
    fake.delay_next(3.0)

    with pytest.raises(Retryable, match=r"no answer within 0\.2s"):
        await gate.send(TO, Reply("hello"))

    # The client still works afterwards (with time to spare: 0.2 s is short on a busy box).
    again = await SMSGate(client, timeout=PATIENCE).send(TO, Reply("hello again"))
    assert again.provider_id in fake.messages


async def test_the_http_clients_own_time_out_is_retryable(api_url: str, fake: FakeSMSGate) -> None:
    client = build_smsgate_client(_settings(api_url), timeout=0.2)
    fake.delay_next(3.0)
    try:
        with pytest.raises(Retryable, match="no answer"):
            await SMSGate(client, timeout=10.0).send(TO, Reply("hello"))
    finally:
        await close_smsgate_client(client)


async def test_a_refused_connection_is_retryable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_url = f"http://127.0.0.1:{sock.getsockname()[1]}/3rdparty/v1"
    client = build_smsgate_client(_settings(closed_url))
    try:
        with pytest.raises(Retryable, match="connection failed: ConnectError"):
            await SMSGate(client).send(TO, Reply("hello"))
    finally:
        await close_smsgate_client(client)


async def test_a_closed_client_is_refused(api_url: str) -> None:
    client = build_smsgate_client(_settings(api_url))
    await close_smsgate_client(client)

    with pytest.raises(RuntimeError, match="not open"):
        await SMSGate(client).send(TO, Reply("hello"))


def test_building_a_client_needs_url_and_password() -> None:
    with pytest.raises(ValueError, match="SMSGATE_URL"):
        build_smsgate_client(Settings(_env_file=None, smsgate_url="http://phone:8080"))


def test_the_fake_works_from_a_sync_test_too(fake: FakeSMSGate) -> None:
    with serve(fake.app) as url:
        response = httpx.post(
            f"{url}{fake.prefix}/messages",
            json={"textMessage": {"text": "hi"}, "phoneNumbers": [TO]},
            auth=(USERNAME, PASSWORD),
        )

    assert response.status_code == 202
    assert response.headers["Location"] == f"{fake.prefix}/messages/{response.json()['id']}"
    assert response.json()["recipients"] == [{"phoneNumber": TO, "state": "Pending"}]


# -- webhooks over HTTP, signed and posted by the fake as the phone does -----------------


def _webhook_app(seen: list[SmsGateEvent]) -> Starlette:
    """A stand-in for the bot's gateway route: verify the raw body, then parse it."""

    async def webhook(request: Request) -> Response:
        body = await request.body()
        if not verify_smsgate_signature(
            SIGNING_KEY,
            body,
            request.headers.get("X-Timestamp"),
            request.headers.get("X-Signature"),
            now=time.time(),
        ):
            return PlainTextResponse("bad signature", status_code=401)
        try:
            seen.append(parse_smsgate_event(body))
        except UnsupportedSmsGateEvent:
            return Response(status_code=204)
        except InvalidSmsGateEvent as exc:
            return PlainTextResponse(str(exc), status_code=400)
        return Response(status_code=204)

    return Starlette(routes=[Route("/sms/smsgate", webhook, methods=["POST"])])


async def test_webhooks_over_http(gate: SMSGate, fake: FakeSMSGate) -> None:
    sent = await gate.send(TO, Reply("Training on Monday"))
    message_id = str(sent.provider_id)
    seen: list[SmsGateEvent] = []

    async with aserve(_webhook_app(seen)) as bot_url:
        url = bot_url + "/sms/smsgate"
        answers = [
            await fake.post_received(url, TO, "naukri <info> & 'FAQ ۳' = ?"),
            await fake.post_sent(url, message_id, TO, parts=1),
            await fake.post_delivered(url, message_id, TO),
            await fake.post_failed(url, message_id, TO, "RESULT_ERROR_NO_SERVICE"),
            await fake.post_event(url, "system:ping", {"health": {"status": "pass"}}),
            await fake.post_event(url, "sms:received", {}, signing_key="not-the-key"),
            await fake.post_event(url, "sms:received", {}, timestamp=int(time.time()) - 3600),
        ]

    assert [answer.status_code for answer in answers] == [204, 204, 204, 204, 204, 401, 401]
    received, sent_report, delivered, failed = seen
    assert received.event == "sms:received"
    assert received.text == "naukri <info> & 'FAQ ۳' = ?"
    assert received.phone_number == TO
    assert received.status is None
    assert [sent_report.status, delivered.status, failed.status] == ["sent", "delivered", "failed"]
    assert {sent_report.message_id, delivered.message_id, failed.message_id} == {message_id}
    assert failed.reason == "RESULT_ERROR_NO_SERVICE"
    assert fake.messages[message_id]["state"] == "Failed"


def test_fake_ids_look_like_gateway_ids() -> None:
    ident = nanoid()
    assert len(ident) == 21
