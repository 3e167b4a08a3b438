"""Twilio's webhooks: signatures checked as Twilio computes them, forms parsed, TwiML built.

Over HTTP, with the fake Twilio signing and posting them after a send, in test_twilio.py.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from twilio.request_validator import RequestValidator

from bot.channels.twilio_webhooks import (
    InvalidTwilioPayload,
    TwilioInbound,
    parse_twilio_inbound,
    parse_twilio_status,
    twiml_reply,
    verify_twilio_signature,
)

AUTH_TOKEN = "twilio-test-token-5f2c"
FROM = "+15005550006"
TO = "+923001234567"
STATUS_URL = "https://outreach.example.org/sms/twilio/status"


def _xml(document: str | bytes) -> ET.Element:
    return ET.fromstring(document)  # noqa: S314  # our own TwiML, not untrusted input


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
