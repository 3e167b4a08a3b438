"""``/sms/smsgate`` over real HTTP: signed gateway events in, replies out through its API."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from bot.store.models import Contact, Message
from fakes.http import client as http_client
from fakes.smsgate_api import FakeSMSGate, gson_dumps
from tests.conftest import eventually
from tests.routes.conftest import Served

RESIDENT = "+923001234567"


async def replied(app: Served, fake: FakeSMSGate, webhook: str) -> str:
    """Text "jobs" to the phone; the gateway id of the bot's reply once it is sent."""
    await fake.post_received(webhook, RESIDENT, "jobs")

    async def sent() -> bool:
        rows = await app.messages()
        return len(rows) == 2 and rows[1].provider_id is not None

    await eventually(sent, "the reply is sent")
    gateway_id = (await app.messages())[1].provider_id
    assert gateway_id is not None
    return gateway_id


async def test_a_received_sms_is_stored_and_answered_through_the_gateway(
    gate_app: Served, fake_gate: tuple[FakeSMSGate, str]
) -> None:
    fake, _ = fake_gate
    response = await fake.post_received(gate_app.url + "/sms/smsgate", RESIDENT, "naukri")
    assert response.status_code == 200

    async def replied() -> bool:
        rows = await gate_app.messages()
        return len(rows) == 2 and rows[1].status == "sent"

    await eventually(replied, "the reply is sent through the gateway API")
    assert len(fake.sent) == 1
    assert fake.sent[0]["phoneNumbers"] == [RESIDENT]
    assert "naukriyan" in fake.sent[0]["textMessage"]["text"]  # Roman Urdu is answered in it
    reply = (await gate_app.messages())[1]
    assert reply.provider_id in fake.messages


async def test_delivery_events_update_the_reply(
    gate_app: Served, fake_gate: tuple[FakeSMSGate, str]
) -> None:
    fake, _ = fake_gate
    webhook = gate_app.url + "/sms/smsgate"
    gateway_id = await replied(gate_app, fake, webhook)
    assert (await fake.post_sent(webhook, gateway_id, RESIDENT)).status_code == 200
    assert (await fake.post_delivered(webhook, gateway_id, RESIDENT)).status_code == 200
    assert (await gate_app.messages())[1].status == "delivered"


async def test_a_failed_event_records_the_reason(
    gate_app: Served, fake_gate: tuple[FakeSMSGate, str]
) -> None:
    fake, _ = fake_gate
    webhook = gate_app.url + "/sms/smsgate"
    gateway_id = await replied(gate_app, fake, webhook)
    await fake.post_failed(webhook, gateway_id, RESIDENT, "RESULT_ERROR_NO_SERVICE")
    reply = (await gate_app.messages())[1]
    assert reply.status == "failed" and reply.error == "RESULT_ERROR_NO_SERVICE"


async def test_a_repeated_event_is_processed_once(
    gate_app: Served, fake_gate: tuple[FakeSMSGate, str]
) -> None:
    fake, _ = fake_gate
    at = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
    for _ in range(3):
        response = await fake.post_received(
            gate_app.url + "/sms/smsgate", RESIDENT, "jobs", message_id="abc123", received_at=at
        )
        assert response.status_code == 200

    async def settled() -> bool:
        return len(fake.sent) == 1 and (await gate_app.messages())[1].status == "sent"

    await eventually(settled, "one reply")
    assert [m.direction for m in await gate_app.messages()] == ["in", "out"]


@pytest.mark.parametrize(
    ("signing_key", "timestamp"),
    [
        ("not-the-key", None),
        (None, int(time.time()) - 3600),
        (None, int(time.time()) + 3600),
    ],
    ids=["wrong-key", "stale-replay", "from-the-future"],
)
async def test_unverified_events_are_refused_and_nothing_is_stored(
    gate_app: Served,
    fake_gate: tuple[FakeSMSGate, str],
    signing_key: str | None,
    timestamp: int | None,
) -> None:
    fake, _ = fake_gate
    payload = {
        "messageId": "m1",
        "message": "jobs",
        "phoneNumber": RESIDENT,
        "receivedAt": "2026-11-25T14:30:00.000+05:00",
    }
    response = await fake.post_event(
        gate_app.url + "/sms/smsgate",
        "sms:received",
        payload,
        signing_key=signing_key,
        timestamp=timestamp,
    )
    assert response.status_code == 403
    assert await gate_app.count(Message) == 0
    assert await gate_app.count(Contact) == 0


async def test_an_unsigned_event_is_refused(gate_app: Served) -> None:
    async with http_client() as client:
        response = await client.post(gate_app.url + "/sms/smsgate", content=b"{}")
    assert response.status_code == 403


async def test_a_malformed_signed_body_is_400(
    gate_app: Served, fake_gate: tuple[FakeSMSGate, str]
) -> None:
    fake, _ = fake_gate
    response = await fake.post_event(gate_app.url + "/sms/smsgate", "x", {}, body=b"{not json")
    assert response.status_code == 400
    assert await gate_app.count(Message) == 0


async def test_an_event_we_do_not_handle_is_acknowledged(
    gate_app: Served, fake_gate: tuple[FakeSMSGate, str]
) -> None:
    fake, _ = fake_gate
    body = gson_dumps({"id": "e1", "event": "system:ping", "deviceId": "d", "payload": {}})
    response = await fake.post_event(gate_app.url + "/sms/smsgate", "system:ping", {}, body=body)
    assert response.status_code == 200, "else the phone retries it for days"
    assert await gate_app.count(Message) == 0


async def test_an_oversized_body_is_413(
    gate_app: Served, fake_gate: tuple[FakeSMSGate, str]
) -> None:
    fake, _ = fake_gate
    body = b'{"pad": "' + b"x" * (70 * 1024) + b'"}'
    response = await fake.post_event(gate_app.url + "/sms/smsgate", "x", {}, body=body)
    assert response.status_code == 413
    assert await gate_app.count(Message) == 0


async def test_an_absurd_timestamp_is_refused_not_a_crash(gate_app: Served) -> None:
    async with http_client() as client:
        response = await client.post(
            gate_app.url + "/sms/smsgate",
            content=b"{}",
            headers={"X-Timestamp": "9" * 5000, "X-Signature": "00"},
        )
    assert response.status_code == 403
