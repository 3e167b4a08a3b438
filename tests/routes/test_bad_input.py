"""Bad input on every webhook route gets the same answer on SQLite and PostgreSQL.

Each input below is posted over real HTTP, correctly signed, on both databases (issue 13,
point 3). Text that a database cannot take (a NUL byte; a lone surrogate, which is not
UTF-8) is cleaned where the webhook is parsed and stored: NUL removed, a lone surrogate
replaced by U+FFFD. An id that cannot be one (too long for its column, a NUL in it, a
number outside the column's range) gets 400 and nothing is stored. JSON nested beyond a
sane depth gets 400. Before the fix PostgreSQL answered 500 to most of them and both
databases 503 to a lone surrogate on Telegram: the providers would retry each for days.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from bot.channels.telegram import SECRET_TOKEN_HEADER
from bot.store.models import Contact, ParkedReport
from fakes import telegram_api as tg
from fakes.http import client as http_client
from fakes.smsgate_api import FakeSMSGate, gson_date
from fakes.telegram_api import FakeTelegram
from tests.routes.conftest import AUTH_TOKEN, PUBLIC, Served

RESIDENT = "+923001234567"
WITH_NUL = "+92300123\x004567"  # the resident's number with a NUL byte inside
SID = "SM" + "a" * 32  # a Twilio MessageSid
GATEWAY_ID = "V1StGXR8_Z5jdHi6B-myT"  # a gateway messageId (NanoID)
LONE = "\ud800"  # a lone (high) surrogate: valid in JSON text, not in UTF-8


@dataclass(frozen=True)
class Stored:
    """What a case leaves in the database: the inbound text and its contact's address, or
    the error of a parked delivery report. Nothing at all for a refused request."""

    text: str | None = None
    address: str = RESIDENT
    parked_error: str | None = None
    parked_code: str | None = None


@dataclass(frozen=True)
class Case:
    """What is posted (form fields over a good Twilio form, or a JSON body), the status
    expected and what is stored (None: nothing)."""

    status: int
    stored: Stored | None
    sent: dict[str, str] | bytes


async def assert_stored(app: Served, expected: Stored | None) -> None:
    rows = [m for m in await app.messages() if m.direction == "in"]
    async with app.sessions.begin() as s:
        parked = list((await s.scalars(select(ParkedReport))).all())
    if expected is None:
        assert rows == [] and parked == []
        assert await app.count(Contact) == 0
        return
    if expected.text is not None:
        assert [m.text for m in rows] == [expected.text]
        contact = await app.contact(expected.address)
        assert contact.id == rows[0].contact_id
    if expected.parked_error is not None or expected.parked_code is not None:
        assert [(p.error, p.error_code) for p in parked] == [
            (expected.parked_error, expected.parked_code)
        ]


# -- Twilio: the inbound SMS form -----------------------------------------------------------

TWILIO_INBOUND = {
    "nul-in-text": Case(200, Stored("jobs"), {"Body": "jo\x00bs"}),
    "nul-in-sender": Case(200, Stored("jobs"), {"From": WITH_NUL}),
    "nul-in-sid": Case(400, None, {"MessageSid": "SM\x00" + "a" * 31}),
    "sid-of-200-chars": Case(400, None, {"MessageSid": "SM" + "a" * 198}),
    "sid-as-long-as-its-column": Case(200, Stored("jobs"), {"MessageSid": "SM" + "a" * 126}),
    "lone-surrogate-in-text": Case(200, Stored("jobs" + "\ufffd" * 3), {"Body": "jobs" + LONE}),
}


def as_form(sent: dict[str, str] | bytes) -> dict[str, str]:
    assert isinstance(sent, dict)
    return sent


def as_body(sent: dict[str, str] | bytes) -> bytes:
    assert isinstance(sent, bytes)
    return sent


async def post_twilio(app: Served, path: str, params: dict[str, str]) -> httpx.Response:
    """POST ``params`` signed as Twilio signs them: over the values the app will read.

    A lone surrogate is not UTF-8, so it is sent as Starlette will read its bytes (three
    replacement characters) and signed as such, as Twilio would sign what it sends.
    """
    wire = {
        k: v.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for k, v in params.items()
    }
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC + path, wire)
    async with http_client() as client:
        return await client.post(
            app.url + path, data=wire, headers={"X-Twilio-Signature": signature}
        )


@pytest.mark.parametrize("name", list(TWILIO_INBOUND))
async def test_twilio_inbound(twilio_app: Served, name: str) -> None:
    case = TWILIO_INBOUND[name]
    params = {"MessageSid": SID, "From": RESIDENT, "To": "+15005550006", "Body": "jobs"}
    response = await post_twilio(twilio_app, "/sms/twilio", params | as_form(case.sent))
    assert response.status_code == case.status, response.text
    await assert_stored(twilio_app, case.stored)


# -- Twilio: delivery-status callbacks --------------------------------------------------------

TWILIO_STATUS = {
    "nul-in-sid": Case(400, None, {"MessageSid": "SM\x00" + "b" * 31}),
    "sid-of-200-chars": Case(400, None, {"MessageSid": "SM" + "b" * 198}),
    "error-code-of-40-digits": Case(400, None, {"ErrorCode": "1" * 40}),
    "error-code-of-5000-digits": Case(400, None, {"ErrorCode": "1" * 5000}),
    "error-code-as-long-as-its-column": Case(
        204,
        Stored(parked_error="twilio " + "1" * 32, parked_code="1" * 32),
        {"ErrorCode": "1" * 32},
    ),
    "known-error-code": Case(
        204, Stored(parked_error="twilio 30006", parked_code="30006"), {"ErrorCode": "30006"}
    ),
}


@pytest.mark.parametrize("name", list(TWILIO_STATUS))
async def test_twilio_status(twilio_app: Served, name: str) -> None:
    case = TWILIO_STATUS[name]
    params = {"MessageSid": "SM" + "b" * 32, "MessageStatus": "undelivered"}
    response = await post_twilio(twilio_app, "/sms/twilio/status", params | as_form(case.sent))
    assert response.status_code == case.status, response.text
    await assert_stored(twilio_app, case.stored)


# -- SMSGate: received, sent, delivered, failed -------------------------------------------------


def gateway_event(event: str, **fields: Any) -> bytes:
    """A gateway webhook body for ``event``; ASCII JSON, so a lone surrogate travels as an
    escape (``\\ud800``), the only way JSON can carry one."""
    time_field = {
        "sms:received": "receivedAt",
        "sms:sent": "sentAt",
        "sms:delivered": "deliveredAt",
        "sms:failed": "failedAt",
    }[event]
    payload: dict[str, Any] = {
        "messageId": GATEWAY_ID,
        "phoneNumber": RESIDENT,
        "simNumber": 1,
        time_field: gson_date(),
    }
    if event == "sms:received":
        payload["message"] = "jobs"
    if event == "sms:failed":
        payload["reason"] = "RESULT_ERROR_NO_SERVICE"
    payload.update(fields)
    envelope = {"id": "ev1", "webhookId": "wh1", "event": event, "deviceId": "dev1"}
    return json.dumps(envelope | {"payload": payload}).encode("ascii")


def nested(depth: int) -> bytes:
    """A valid ``sms:received`` webhook whose payload also holds lists ``depth`` deep."""
    body = gateway_event("sms:received")
    return body[:-2] + b', "x": ' + b"[" * depth + b"]" * depth + b"}}"


SMSGATE = {
    "received-nul-in-text": Case(
        200, Stored("jobs"), gateway_event("sms:received", message="jo\x00bs")
    ),
    "received-lone-surrogate-in-text": Case(
        200, Stored("jobs\ufffd"), gateway_event("sms:received", message="jobs" + LONE)
    ),
    "received-lone-surrogate-as-raw-bytes": Case(
        200,
        Stored("jobs\ufffd"),
        gateway_event("sms:received", message="jobs@").replace(b"@", b"\xed\xa0\x80"),
    ),
    "received-nul-in-sender": Case(
        200, Stored("jobs"), gateway_event("sms:received", phoneNumber=WITH_NUL)
    ),
    "received-message-id-of-300-chars": Case(
        400, None, gateway_event("sms:received", messageId="m" * 300)
    ),
    "received-nul-in-message-id": Case(
        400, None, gateway_event("sms:received", messageId="m\x00m")
    ),
    "sent-message-id-of-300-chars": Case(400, None, gateway_event("sms:sent", messageId="m" * 300)),
    "delivered-message-id-of-300-chars": Case(
        400, None, gateway_event("sms:delivered", messageId="m" * 300)
    ),
    "failed-message-id-of-300-chars": Case(
        400, None, gateway_event("sms:failed", messageId="m" * 300)
    ),
    "failed-nul-in-message-id": Case(400, None, gateway_event("sms:failed", messageId="m\x00m")),
    "failed-message-id-as-long-as-its-column": Case(
        200,
        Stored(parked_error="RESULT_ERROR_NO_SERVICE"),
        gateway_event("sms:failed", messageId="m" * 128),
    ),
    "failed-nul-and-lone-surrogate-in-reason": Case(
        200,
        Stored(parked_error="RESULT_ERROR\ufffd"),
        gateway_event("sms:failed", reason="RESULT\x00_ERROR" + LONE),
    ),
    "nested-30000-deep": Case(400, None, nested(30_000)),
    "nested-100-deep": Case(400, None, nested(100)),
    "nested-20-deep": Case(200, Stored("jobs"), nested(20)),
}


@pytest.mark.parametrize("name", list(SMSGATE))
async def test_smsgate(gate_app: Served, fake_gate: tuple[FakeSMSGate, str], name: str) -> None:
    fake, _ = fake_gate
    case = SMSGATE[name]
    response = await fake.post_event(gate_app.url + "/sms/smsgate", "", {}, body=as_body(case.sent))
    assert response.status_code == case.status, response.text
    await assert_stored(gate_app, case.stored)


# -- Telegram ---------------------------------------------------------------------------------

CHAT = 424242


def update_body(update_id: int = 1, chat_id: int = CHAT, text: str = "jobs") -> bytes:
    return json.dumps(tg.message_update(update_id, chat_id, text)).encode("ascii")


def nested_update(depth: int) -> bytes:
    """A valid text update that also holds lists ``depth`` deep."""
    return update_body()[:-1] + b', "x": ' + b"[" * depth + b"]" * depth + b"}"


TELEGRAM = {
    "nul-in-text": Case(200, Stored("jobs", str(CHAT)), update_body(text="jo\x00bs")),
    "lone-surrogate-in-text": Case(
        200, Stored("jobs\ufffd", str(CHAT)), update_body(text="jobs" + LONE)
    ),
    "lone-surrogate-as-raw-bytes-in-text": Case(
        200,
        Stored("jobs\ufffd", str(CHAT)),
        update_body(text="jobs@").replace(b"@", b"\xed\xa0\x80"),
    ),
    "update-id-10**200": Case(400, None, update_body(update_id=10**200)),
    "update-id-2**63": Case(400, None, update_body(update_id=2**63)),
    "update-id-2**63-1": Case(200, Stored("jobs", str(CHAT)), update_body(2**63 - 1)),
    "chat-id-10**200": Case(400, None, update_body(chat_id=10**200)),
    "nested-30000-deep": Case(400, None, nested_update(30_000)),
    "nested-100-deep": Case(400, None, nested_update(100)),
    "nested-20-deep": Case(200, Stored("jobs", str(CHAT)), nested_update(20)),
}


@pytest.mark.parametrize("name", list(TELEGRAM))
async def test_telegram(
    telegram_app: Served, fake_telegram: tuple[FakeTelegram, str], name: str
) -> None:
    fake, _ = fake_telegram
    case = TELEGRAM[name]
    assert fake.webhook_secret is not None
    async with http_client() as client:
        response = await client.post(
            telegram_app.url + "/telegram/webhook",
            content=as_body(case.sent),
            headers={"Content-Type": "application/json", SECRET_TOKEN_HEADER: fake.webhook_secret},
        )
    assert response.status_code == case.status, response.text
    await assert_stored(telegram_app, case.stored)
