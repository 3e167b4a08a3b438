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
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.channels.base import Permanent, RecipientGone, Retryable
from bot.channels.twilio import (
    InvalidTwilioPayload,
    StatusReport,
    TwilioInbound,
    TwilioSMS,
    build_twilio_client,
    close_twilio_client,
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


# -- signatures ------------------------------------------------------------------------------

PARAMS = {"MessageSid": "SM" + "a" * 32, "MessageStatus": "delivered", "To": TO, "From": FROM}


def test_signature_from_request_validator_verifies() -> None:
    signature = RequestValidator(AUTH_TOKEN).compute_signature(STATUS_URL, PARAMS)

    assert verify_twilio_signature(AUTH_TOKEN, STATUS_URL, PARAMS, signature)


@pytest.mark.parametrize(
    ("token", "url", "params", "signature"),
    [
        pytest.param(AUTH_TOKEN, STATUS_URL, PARAMS, "c2lnbmF0dXJl", id="wrong-signature"),
        pytest.param("other-token", STATUS_URL, PARAMS, None, id="other-token"),
        pytest.param(
            AUTH_TOKEN, "http://127.0.0.1:8000/sms/twilio/status", PARAMS, None, id="internal-url"
        ),
        pytest.param(
            AUTH_TOKEN, STATUS_URL, {**PARAMS, "MessageStatus": "failed"}, None, id="tampered"
        ),
        pytest.param(AUTH_TOKEN, STATUS_URL, PARAMS, "", id="empty-signature"),
        pytest.param("", STATUS_URL, PARAMS, None, id="empty-token"),
    ],
)
def test_signature_is_refused(
    token: str, url: str, params: dict[str, str], signature: str | None
) -> None:
    good = RequestValidator(AUTH_TOKEN).compute_signature(STATUS_URL, PARAMS)
    given = good if signature is None else signature

    assert not verify_twilio_signature(token, url, params, given)


def test_missing_signature_is_refused() -> None:
    assert not verify_twilio_signature(AUTH_TOKEN, STATUS_URL, PARAMS, None)


def test_a_signature_that_is_not_ascii_is_refused() -> None:
    assert not verify_twilio_signature(AUTH_TOKEN, STATUS_URL, PARAMS, "ساین")


# Which URL Twilio signed, and which one we check against: RequestValidator.validate accepts
# a signature of the URL without its port or with the default port written out.
_PORT_CASES = [
    ("https://bot.example.org/sms/twilio", "https://bot.example.org/sms/twilio"),
    ("https://bot.example.org:443/sms/twilio", "https://bot.example.org/sms/twilio"),
    ("https://bot.example.org/sms/twilio", "https://bot.example.org:443/sms/twilio"),
    ("https://bot.example.org:8443/sms/twilio", "https://bot.example.org:8443/sms/twilio"),
    ("https://bot.example.org/sms/twilio", "https://bot.example.org:8443/sms/twilio"),
    ("https://bot.example.org:80/sms/twilio", "https://bot.example.org/sms/twilio"),
    ("http://bot.example.org:80/sms/twilio", "http://bot.example.org/sms/twilio"),
    ("https://bot.example.org/sms/twilio?a=1", "https://bot.example.org:443/sms/twilio?a=1"),
    ("https://bot.example.org/sms/twilio?a=1", "https://bot.example.org/sms/twilio?a=2"),
    ("https://bot.example.org/sms/twilio", "https://other.example.org/sms/twilio"),
]


@pytest.mark.parametrize(("signed", "checked"), _PORT_CASES)
def test_signature_check_agrees_with_request_validator(signed: str, checked: str) -> None:
    validator = RequestValidator(AUTH_TOKEN)
    signature = validator.compute_signature(signed, PARAMS)

    assert verify_twilio_signature(AUTH_TOKEN, checked, PARAMS, signature) == validator.validate(
        checked, PARAMS, signature
    )


def test_the_default_port_is_optional_either_way() -> None:
    validator = RequestValidator(AUTH_TOKEN)
    with_port = validator.compute_signature("https://bot.example.org:443/sms/twilio", PARAMS)
    without = validator.compute_signature("https://bot.example.org/sms/twilio", PARAMS)

    for url in ("https://bot.example.org/sms/twilio", "https://bot.example.org:443/sms/twilio"):
        assert verify_twilio_signature(AUTH_TOKEN, url, PARAMS, with_port)
        assert verify_twilio_signature(AUTH_TOKEN, url, PARAMS, without)


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


# -- parsing ---------------------------------------------------------------------------------


def test_parse_inbound() -> None:
    form = {"MessageSid": "SM1", "From": TO, "To": FROM, "Body": "FAQ ۳", "NumMedia": "0"}

    assert parse_twilio_inbound(form) == TwilioInbound(sid="SM1", from_=TO, to=FROM, body="FAQ ۳")


def test_parse_inbound_allows_an_empty_body() -> None:
    form = {"MessageSid": "SM1", "From": TO, "To": FROM, "Body": ""}

    assert parse_twilio_inbound(form).body == ""


@pytest.mark.parametrize("missing", ["MessageSid", "From", "To", "Body"])
def test_parse_inbound_refuses_an_incomplete_form(missing: str) -> None:
    form = {"MessageSid": "SM1", "From": TO, "To": FROM, "Body": "hi"}
    del form[missing]

    with pytest.raises(InvalidTwilioPayload, match=missing):
        parse_twilio_inbound(form)


def test_payload_errors_are_value_errors() -> None:
    assert issubclass(InvalidTwilioPayload, ValueError)


@pytest.mark.parametrize(
    ("twilio_status", "ours"),
    [
        ("accepted", "sent"),
        ("queued", "sent"),
        ("sending", "sent"),
        ("sent", "sent"),
        ("delivered", "delivered"),
        ("read", "delivered"),
        ("undelivered", "failed"),
        ("failed", "failed"),
        ("canceled", "failed"),
    ],
)
def test_parse_status_maps_twilio_statuses(twilio_status: str, ours: str) -> None:
    report = parse_twilio_status({"MessageSid": "SM1", "MessageStatus": twilio_status})

    assert report.status == ours
    assert report.provider_status == twilio_status
    assert report.error_code is None
    assert report.contact_status is None


@pytest.mark.parametrize(
    ("code", "contact_status"),
    [
        pytest.param("30003", None, id="handset-off-keeps-contact"),
        pytest.param("30005", "invalid", id="unknown-handset"),
        pytest.param("21610", "opted_out", id="opted-out"),
    ],
)
def test_parse_status_reads_the_error_code(code: str, contact_status: str | None) -> None:
    form = {"MessageSid": "SM1", "MessageStatus": "undelivered", "ErrorCode": code}

    report = parse_twilio_status(form)

    assert report.error_code == int(code)
    assert report.contact_status == contact_status


@pytest.mark.parametrize(
    "form",
    [
        pytest.param({"MessageStatus": "sent"}, id="no-sid"),
        pytest.param({"MessageSid": "SM1"}, id="no-status"),
        pytest.param({"MessageSid": "SM1", "MessageStatus": "teleported"}, id="unknown-status"),
        pytest.param({"MessageSid": "SM1", "MessageStatus": "received"}, id="inbound-status"),
        pytest.param(
            {"MessageSid": "SM1", "MessageStatus": "failed", "ErrorCode": "x1"}, id="bad-code"
        ),
    ],
)
def test_parse_status_refuses_bad_forms(form: dict[str, str]) -> None:
    with pytest.raises(InvalidTwilioPayload):
        parse_twilio_status(form)


# -- TwiML -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [None, ""])
def test_twiml_without_text_is_an_empty_response(text: str | None) -> None:
    root = _xml(twiml_reply(text))

    assert root.tag == "Response"
    assert list(root) == []


def test_twiml_escapes_markup() -> None:
    xml = twiml_reply("Fees < 500 & no <b>tax</b>")

    assert "&lt;" in xml
    assert "&amp;" in xml
    assert "<b>" not in xml
    assert _xml(xml).findtext("Message") == "Fees < 500 & no <b>tax</b>"


def test_twiml_keeps_urdu_readable() -> None:
    text = "آپ کا شکریہ! نوکری کے لیے 'naukri' لکھیں"

    xml = twiml_reply(text)

    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert text.replace("'", "") in xml.replace("'", "")
    assert _xml(xml.encode("utf-8")).findtext("Message") == text


def test_fake_sids_look_like_twilio_sids() -> None:
    sid = new_sid()
    assert sid.startswith("SM")
    assert len(sid) == 34
    assert all(ch in "0123456789abcdef" for ch in sid[2:])
