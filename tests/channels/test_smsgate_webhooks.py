"""The SMSGate phone's webhooks: signatures checked as its docs describe, events parsed.

Over HTTP, with the fake gateway signing and posting them after a send, in test_smsgate.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.channels.smsgate_webhooks import (
    InvalidSmsGateEvent,
    SmsGateEvent,
    UnsupportedSmsGateEvent,
    parse_smsgate_event,
    verify_smsgate_signature,
)
from fakes.smsgate_api import gson_dumps, sign

SIGNING_KEY = "k3y-from-the-phone"
TO = "+923001234567"
PKT = timezone(timedelta(hours=5))


# -- signatures ------------------------------------------------------------------------------

BODY = b'{"id":"Ey6ECgOkVVFjz3CL48B8C","event":"sms:received","payload":{}}'
NOW = 1_750_000_000.0


def _documented_signature(key: str, body: bytes, timestamp: str) -> str:
    """The Python snippet of the gateway's docs ("Payload Signing"), applied to bytes."""
    return hmac.new(key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


def test_valid_signature_verifies() -> None:
    stamp = str(int(NOW))
    signature = _documented_signature(SIGNING_KEY, BODY, stamp)

    assert sign(SIGNING_KEY, BODY, stamp) == signature  # the fake signs as documented
    assert verify_smsgate_signature(SIGNING_KEY, BODY, stamp, signature, now=NOW)
    assert verify_smsgate_signature(SIGNING_KEY, BODY, stamp, signature.upper(), now=NOW)


@pytest.mark.parametrize(
    ("key", "body", "timestamp", "signature"),
    [
        pytest.param(SIGNING_KEY, BODY, "1750000000", "0" * 64, id="wrong-signature"),
        pytest.param("other-key", BODY, "1750000000", None, id="other-key"),
        pytest.param(SIGNING_KEY, BODY + b" ", "1750000000", None, id="tampered-body"),
        pytest.param(SIGNING_KEY, BODY, "1749999699", "*", id="stale-301s"),
        pytest.param(SIGNING_KEY, BODY, "1750000301", "*", id="future-301s"),
        pytest.param(SIGNING_KEY, BODY, "1750000000.0", "*", id="not-whole-seconds"),
        pytest.param(SIGNING_KEY, BODY, "", "*", id="no-timestamp"),
        pytest.param(SIGNING_KEY, BODY, "1750000000", "", id="no-signature"),
        pytest.param(SIGNING_KEY, BODY, "1750000000", "ü" * 64, id="non-ascii-signature"),
        pytest.param("", BODY, "1750000000", "*", id="no-key"),
    ],
)
def test_signature_is_refused(key: str, body: bytes, timestamp: str, signature: str | None) -> None:
    # None: signed over the pristine body with the right key; "*": signed with ``key`` over
    # ``body`` and ``timestamp`` themselves (so only the time or format is wrong).
    if signature is None:
        signature = _documented_signature(SIGNING_KEY, BODY, "1750000000")
    elif signature == "*":
        signature = _documented_signature(key or "x", body, timestamp)

    assert not verify_smsgate_signature(key, body, timestamp, signature, now=NOW)


@pytest.mark.parametrize("offset", [-300, 0, 300])
def test_timestamps_within_five_minutes_are_accepted(offset: int) -> None:
    stamp = str(int(NOW) + offset)
    signature = _documented_signature(SIGNING_KEY, BODY, stamp)

    assert verify_smsgate_signature(SIGNING_KEY, BODY, stamp, signature, now=NOW)


def test_missing_headers_are_refused() -> None:
    assert not verify_smsgate_signature(SIGNING_KEY, BODY, None, None, now=NOW)


# -- parsing ---------------------------------------------------------------------------------


def _body(event: str, payload: dict[str, object], **envelope: object) -> bytes:
    data: dict[str, object] = {
        "id": "Ey6ECgOkVVFjz3CL48B8C",
        "webhookId": "wh-1",
        "event": event,
        "deviceId": "ffffffffceb0b1db0000018e937c815b",
        "payload": payload,
    }
    data.update(envelope)
    return gson_dumps(data)


def test_parse_received() -> None:
    body = _body(
        "sms:received",
        {
            "messageId": "abc123",
            "message": "بند karo <now>",
            "sender": TO,
            "recipient": "+923000000000",
            "phoneNumber": TO,
            "simNumber": 1,
            "receivedAt": "2024-06-22T15:46:11.000+05:00",
        },
    )

    event = parse_smsgate_event(body)

    assert event == SmsGateEvent(
        event="sms:received",
        event_id="Ey6ECgOkVVFjz3CL48B8C",
        webhook_id="wh-1",
        device_id="ffffffffceb0b1db0000018e937c815b",
        message_id="abc123",
        phone_number=TO,
        occurred_at=datetime(2024, 6, 22, 15, 46, 11, tzinfo=PKT),
        text="بند karo <now>",
        sim_number=1,
    )
    assert b"\\u003cnow\\u003e" in body  # Gson's escapes are undone by parsing
    assert event.received_at == event.occurred_at
    key = event.dedup_key
    assert key.startswith("sg-") and len(key) <= 128
    assert "923001234567" not in key, "no phone number in a provider id (it is logged)"
    later = replace(event, occurred_at=datetime(2024, 6, 22, 15, 46, 12, tzinfo=PKT))
    assert later.dedup_key != key, "the same id at another time is another message"
    assert replace(event, text="other").dedup_key == key, "a retry of the same event matches"


def test_parse_received_from_an_older_app_without_sender() -> None:
    body = _body(
        "sms:received",
        {"messageId": "m1", "message": "", "phoneNumber": TO, "receivedAt": "2024-06-22T10:46:11Z"},
    )

    event = parse_smsgate_event(body)

    assert event.text == ""
    assert event.occurred_at == datetime(2024, 6, 22, 10, 46, 11, tzinfo=UTC)


def test_parse_received_from_a_newer_app_without_phone_number() -> None:
    body = _body(
        "sms:received",
        {"messageId": "m1", "message": "hi", "sender": TO, "receivedAt": "2024-06-22T10:46:11Z"},
    )

    assert parse_smsgate_event(body).phone_number == TO


@pytest.mark.parametrize(
    ("event", "time_field", "extra", "status"),
    [
        ("sms:sent", "sentAt", {"partsCount": 2}, "sent"),
        ("sms:delivered", "deliveredAt", {}, "delivered"),
        ("sms:failed", "failedAt", {"reason": "RESULT_ERROR_GENERIC_FAILURE"}, "failed"),
    ],
)
def test_parse_delivery_reports(
    event: str, time_field: str, extra: dict[str, object], status: str
) -> None:
    payload = {"messageId": "PyDmBQZZXYmyxMwED8Fzy", "phoneNumber": TO, "simNumber": None}
    payload[time_field] = "2024-06-22T15:47:00.250+05:00"
    payload.update(extra)

    parsed = parse_smsgate_event(_body(event, payload))

    assert parsed.event == event
    assert parsed.status == status
    assert parsed.message_id == "PyDmBQZZXYmyxMwED8Fzy"
    assert parsed.phone_number == TO
    assert parsed.text is None
    assert parsed.received_at is None
    assert parsed.occurred_at == datetime(2024, 6, 22, 15, 47, 0, 250000, tzinfo=PKT)
    assert parsed.parts == extra.get("partsCount")
    assert parsed.reason == extra.get("reason")


@pytest.mark.parametrize("event", ["system:ping", "mms:received", "sms:data-received"])
def test_other_events_are_unsupported(event: str) -> None:
    with pytest.raises(UnsupportedSmsGateEvent) as caught:
        parse_smsgate_event(_body(event, {"health": {}}))

    assert caught.value.event == event
    assert isinstance(caught.value, InvalidSmsGateEvent)
    assert isinstance(caught.value, ValueError)


RECEIVED = {
    "messageId": "m1",
    "message": "hi",
    "phoneNumber": TO,
    "receivedAt": "2024-06-22T10:46:11Z",
}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"{not json", id="not-json"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
        pytest.param(b"[1, 2]", id="not-an-object"),
        pytest.param(json.dumps({"payload": RECEIVED}).encode(), id="no-event"),
        pytest.param(json.dumps({"event": "sms:received"}).encode(), id="no-payload"),
        pytest.param(_body("sms:received", {**RECEIVED, "messageId": ""}), id="empty-message-id"),
        pytest.param(_body("sms:received", {**RECEIVED, "message": None}), id="no-text"),
        pytest.param(
            _body("sms:received", {k: v for k, v in RECEIVED.items() if k != "phoneNumber"}),
            id="no-phone-number",
        ),
        pytest.param(
            _body("sms:received", {**RECEIVED, "receivedAt": "2024-06-22T10:46:11"}),
            id="time-without-offset",
        ),
        pytest.param(
            _body("sms:received", {**RECEIVED, "receivedAt": "yesterday"}), id="not-a-time"
        ),
        pytest.param(_body("sms:received", {**RECEIVED, "simNumber": "1"}), id="sim-as-text"),
        pytest.param(_body("sms:received", RECEIVED, id=42), id="id-not-text"),
        pytest.param(_body("sms:sent", {"messageId": "m1", "phoneNumber": TO}), id="no-sent-at"),
    ],
)
def test_malformed_bodies_are_refused(body: bytes) -> None:
    with pytest.raises(InvalidSmsGateEvent) as caught:
        parse_smsgate_event(body)

    assert not isinstance(caught.value, UnsupportedSmsGateEvent)
