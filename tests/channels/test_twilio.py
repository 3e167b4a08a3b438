"""The Twilio channel with the real twilio library against the fake Twilio API over HTTP."""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.rest import Client

from bot.channels.base import Permanent, RecipientGone, Retryable
from bot.channels.twilio import TwilioSMS, build_twilio_client, close_twilio_client
from bot.channels.twilio_webhooks import (
    StatusReport,
    TwilioInbound,
    parse_twilio_inbound,
    parse_twilio_status,
    twiml_reply,
    verify_twilio_signature,
)
from bot.config import Settings
from bot.core.decision import Reply
from fakes.server import aserve
from fakes.twilio_api import FakeTwilio, new_sid

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-test-token-5f2c"
FROM = "+15005550006"
TO = "+923001234567"
OPTED_OUT = "+923007654321"
LANDLINE = "+92619876543"
SERVICE_SID = "MG" + "fedcba9876543210" * 2
PUBLIC = "https://outreach.example.org"
STATUS_URL = PUBLIC + "/sms/twilio/status"


@pytest.fixture
def fake() -> FakeTwilio:
    return FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, opted_out={OPTED_OUT}, landlines={LANDLINE})


@pytest.fixture
async def api_url(fake: FakeTwilio) -> AsyncIterator[str]:
    async with aserve(fake.app) as url:
        yield url


def _settings(api_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_from_number": FROM,
        "twilio_api_base_url": api_url,
        "public_base_url": PUBLIC,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
async def client(api_url: str) -> AsyncIterator[Client]:
    client = await build_twilio_client(_settings(api_url))
    yield client
    await close_twilio_client(client)


@pytest.fixture
def sms(client: Client, api_url: str) -> TwilioSMS:
    return TwilioSMS.from_settings(client, _settings(api_url), timeout=2.0)


def _xml(document: str | bytes) -> ET.Element:
    return ET.fromstring(document)  # noqa: S314  # our own TwiML, not untrusted input


# -- sending ---------------------------------------------------------------------------------


async def test_send_returns_the_sid_and_segments(sms: TwilioSMS, fake: FakeTwilio) -> None:
    result = await sms.send(TO, Reply("Dhanote IT Park: classes start Monday 10:00."))

    assert result.status == "sent"
    assert result.segments == 1
    assert result.provider_id is not None
    assert result.provider_id.startswith("SM")
    assert len(result.provider_id) == 34
    assert result.provider_id in fake.messages
    request = fake.requests[-1]
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request.auth == (ACCOUNT_SID, AUTH_TOKEN)
    assert request.form == {
        "To": TO,
        "From": FROM,
        "Body": "Dhanote IT Park: classes start Monday 10:00.",
        "StatusCallback": STATUS_URL,
    }


async def test_urdu_text_is_counted_in_ucs2_segments(sms: TwilioSMS, fake: FakeTwilio) -> None:
    text = "نوکری کے لیے رجسٹریشن " * 5  # 110 characters, UCS-2: two parts

    result = await sms.send(TO, Reply(text))

    assert result.segments == 2
    assert fake.requests[-1].form["Body"] == text


async def test_send_through_a_messaging_service(client: Client, fake: FakeTwilio) -> None:
    sms = TwilioSMS(client, messaging_service_sid=SERVICE_SID, status_callback=STATUS_URL)

    result = await sms.send(TO, Reply("hello"))

    form = fake.requests[-1].form
    assert form["MessagingServiceSid"] == SERVICE_SID
    assert "From" not in form
    assert fake.messages[str(result.provider_id)]["status"] == "accepted"


async def test_without_public_url_no_status_callback_is_sent(
    client: Client, api_url: str, fake: FakeTwilio
) -> None:
    sms = TwilioSMS.from_settings(client, _settings(api_url, public_base_url=None))

    await sms.send(TO, Reply("hello"))

    assert "StatusCallback" not in fake.requests[-1].form


async def test_environment_edge_and_region_do_not_redirect_the_client(
    monkeypatch: pytest.MonkeyPatch, api_url: str, fake: FakeTwilio
) -> None:
    monkeypatch.setenv("TWILIO_REGION", "ie1")
    monkeypatch.setenv("TWILIO_EDGE", "dublin")
    client = await build_twilio_client(_settings(api_url))
    try:
        result = await TwilioSMS.from_settings(client, _settings(api_url)).send(TO, Reply("hi"))
    finally:
        await close_twilio_client(client)
    assert result.provider_id in fake.messages


def test_a_sender_needs_a_from_number_or_a_service() -> None:
    with pytest.raises(ValueError, match="from_number or a messaging_service_sid"):
        TwilioSMS(Client(ACCOUNT_SID, AUTH_TOKEN))


async def test_building_a_client_needs_credentials() -> None:
    with pytest.raises(ValueError, match="TWILIO_AUTH_TOKEN"):
        await build_twilio_client(Settings(_env_file=None, twilio_account_sid=ACCOUNT_SID))


# -- errors ----------------------------------------------------------------------------------


async def test_rate_limit_is_retryable_with_retry_after(sms: TwilioSMS, fake: FakeTwilio) -> None:
    fake.rate_limit_next(retry_after=7)

    with pytest.raises(Retryable) as caught:
        await sms.send(TO, Reply("hello"))

    assert caught.value.after == 7
    assert caught.value.throttled  # counted as a 429 (bot.outreach.providers)
    assert "20429" in caught.value.reason
    assert isinstance(caught.value.__cause__, TwilioRestException)


async def test_rate_limit_without_retry_after(sms: TwilioSMS, fake: FakeTwilio) -> None:
    fake.rate_limit_next()

    with pytest.raises(Retryable) as caught:
        await sms.send(TO, Reply("hello"))

    assert caught.value.after is None


@pytest.mark.parametrize(
    ("status", "json_body"),
    [
        pytest.param(500, True, id="500"),
        pytest.param(503, True, id="503"),
        pytest.param(502, False, id="502-html-page"),
    ],
)
async def test_server_errors_are_retryable(
    sms: TwilioSMS, fake: FakeTwilio, status: int, json_body: bool
) -> None:
    fake.fail_next(status=status, json_body=json_body)

    with pytest.raises(Retryable) as caught:
        await sms.send(TO, Reply("hello"))

    assert f"HTTP {status}" in caught.value.reason
    assert not caught.value.throttled  # the provider is unwell, not pacing us


async def test_after_a_failure_the_next_send_goes_through(sms: TwilioSMS, fake: FakeTwilio) -> None:
    fake.fail_next(2, status=500)
    for _ in range(2):
        with pytest.raises(Retryable):
            await sms.send(TO, Reply("hello"))

    result = await sms.send(TO, Reply("hello"))

    assert result.provider_id in fake.messages
    assert len(fake.requests) == 3


async def test_opted_out_recipient_is_gone(sms: TwilioSMS) -> None:
    with pytest.raises(RecipientGone) as caught:
        await sms.send(OPTED_OUT, Reply("hello"))

    assert caught.value.status == "opted_out"
    assert "21610" in caught.value.reason


@pytest.mark.parametrize(
    ("to", "code"),
    [
        pytest.param("+92300123456789012", 21211, id="21211-not-e164"),
        pytest.param(LANDLINE, 21614, id="21614-landline"),
    ],
)
async def test_invalid_recipient_is_gone(sms: TwilioSMS, to: str, code: int) -> None:
    with pytest.raises(RecipientGone) as caught:
        await sms.send(to, Reply("hello"))

    assert caught.value.status == "invalid"
    assert str(code) in caught.value.reason
    assert to not in caught.value.reason  # reasons are logged: no full numbers


async def test_body_over_1600_characters_is_permanent(sms: TwilioSMS) -> None:
    with pytest.raises(Permanent) as caught:
        await sms.send(TO, Reply("x" * 1601))

    assert not isinstance(caught.value, RecipientGone)
    assert "21617" in caught.value.reason


async def test_wrong_credentials_are_permanent(api_url: str, fake: FakeTwilio) -> None:
    client = await build_twilio_client(_settings(api_url, twilio_auth_token="wrong"))
    try:
        with pytest.raises(Permanent) as caught:
            await TwilioSMS(client, from_number=FROM).send(TO, Reply("hello"))
    finally:
        await close_twilio_client(client)

    assert "20003" in caught.value.reason
    assert "HTTP 401" in caught.value.reason
    assert fake.messages == {}


async def test_rfc9457_client_error_is_permanent(sms: TwilioSMS, fake: FakeTwilio) -> None:
    fake.service_error_next(status=400, code=20001, title="Invalid request", detail="bad Body")

    with pytest.raises(Permanent) as caught:
        await sms.send(TO, Reply("hello"))

    assert isinstance(caught.value.__cause__, TwilioServiceException)
    assert not isinstance(caught.value.__cause__, TwilioRestException)
    assert "20001" in caught.value.reason
    assert "bad Body" in caught.value.reason


async def test_rfc9457_server_error_is_retryable(sms: TwilioSMS, fake: FakeTwilio) -> None:
    fake.service_error_next(status=503, code=20503, title="Service unavailable")

    with pytest.raises(Retryable) as caught:
        await sms.send(TO, Reply("hello"))

    assert isinstance(caught.value.__cause__, TwilioServiceException)


async def test_rfc9457_opt_out_is_recipient_gone(sms: TwilioSMS, fake: FakeTwilio) -> None:
    fake.service_error_next(status=400, code=21610, title="Unsubscribed recipient")

    with pytest.raises(RecipientGone) as caught:
        await sms.send(TO, Reply("hello"))

    assert caught.value.status == "opted_out"


async def test_a_slow_api_times_out_as_retryable(
    client: Client, api_url: str, fake: FakeTwilio
) -> None:
    sms = TwilioSMS.from_settings(client, _settings(api_url), timeout=0.2)
    fake.delay_next(3.0)

    with pytest.raises(Retryable) as caught:
        await sms.send(TO, Reply("hello"))
    assert "no answer within 0.2s" in caught.value.reason

    result = await sms.send(TO, Reply("hello again"))
    assert result.provider_id in fake.messages


async def test_a_refused_connection_is_retryable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    client = await build_twilio_client(_settings(closed_url))
    try:
        with pytest.raises(Retryable) as caught:
            await TwilioSMS(client, from_number=FROM).send(TO, Reply("hello"))
    finally:
        await close_twilio_client(client)

    assert "connection failed" in caught.value.reason


# -- webhooks over HTTP, signed and posted by the fake as Twilio does ---------------------


def _status_app(seen: list[StatusReport]) -> Starlette:
    """A stand-in for the bot's status route: verify against the public URL, then parse."""

    async def status(request: Request) -> Response:
        form = {key: str(value) for key, value in (await request.form()).items()}
        signature = request.headers.get("X-Twilio-Signature")
        if not verify_twilio_signature(AUTH_TOKEN, STATUS_URL, form, signature):
            return PlainTextResponse("bad signature", status_code=403)
        seen.append(parse_twilio_status(form))
        return Response(status_code=204)

    return Starlette(routes=[Route("/sms/twilio/status", status, methods=["POST"])])


async def test_status_callback_over_http_behind_a_proxy(sms: TwilioSMS, fake: FakeTwilio) -> None:
    sent = await sms.send(TO, Reply("hello"))
    sid = str(sent.provider_id)
    seen: list[StatusReport] = []

    async with aserve(_status_app(seen)) as bot_url:
        internal = bot_url + "/sms/twilio/status"
        # Twilio signs the StatusCallback it was given (the public URL) and the proxy forwards
        # the request to the internal one.
        ok = await fake.post_status(internal, sid, "undelivered", error_code=30003)
        # A signature over the internal URL is what a naive check would accept.
        naive = await fake.post_status(internal, sid, "delivered", signed_url=internal)

    assert ok.status_code == 204
    assert naive.status_code == 403
    assert seen == [
        StatusReport(
            provider_id=sid, status="failed", error_code=30003, provider_status="undelivered"
        )
    ]
    assert fake.messages[sid]["status"] == "delivered"


async def test_inbound_webhook_over_http(fake: FakeTwilio) -> None:
    seen: list[TwilioInbound] = []
    public_inbound = PUBLIC + "/sms/twilio"

    async def inbound(request: Request) -> Response:
        form = {key: str(value) for key, value in (await request.form()).items()}
        signature = request.headers.get("X-Twilio-Signature")
        if not verify_twilio_signature(AUTH_TOKEN, public_inbound, form, signature):
            return PlainTextResponse("bad signature", status_code=403)
        message = parse_twilio_inbound(form)
        seen.append(message)
        return Response(twiml_reply(f"Shukriya: {message.body}"), media_type="text/xml")

    app = Starlette(routes=[Route("/sms/twilio", inbound, methods=["POST"])])
    async with aserve(app) as bot_url:
        response = await fake.post_inbound(
            bot_url + "/sms/twilio",
            TO,
            "naukri",
            message_sid="SM" + "b" * 32,
            signed_url=public_inbound,
        )

    assert response.status_code == 200
    assert seen == [TwilioInbound(sid="SM" + "b" * 32, from_=TO, to=FROM, body="naukri")]
    assert _xml(response.content).findtext("Message") == "Shukriya: naukri"


def test_fake_sids_look_like_twilio_sids() -> None:
    sid = new_sid()
    assert sid.startswith("SM")
    assert len(sid) == 34
    assert all(ch in "0123456789abcdef" for ch in sid[2:])
