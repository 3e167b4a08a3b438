"""``/sms/twilio`` and ``/sms/twilio/status`` over real HTTP, with real Twilio signatures."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import urlencode

import httpx
import pytest
from twilio.request_validator import RequestValidator

from bot.channels.base import RecipientGone
from bot.outreach.inbound import IncomingMessage
from bot.store.models import Contact, Message
from fakes.http import client as http_client
from fakes.twilio_api import FakeTwilio
from tests.apps import app_for
from tests.conftest import eventually
from tests.routes.conftest import AUTH_TOKEN, PUBLIC, Served

INBOUND = PUBLIC + "/sms/twilio"
STATUS = PUBLIC + "/sms/twilio/status"
RESIDENT = "+923001234567"


def reply_of(response: httpx.Response) -> str | None:
    """The text of the TwiML <Message>, or None for an empty <Response/>."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    message = ET.fromstring(response.content).find("Message")  # noqa: S314 (our own TwiML)
    return None if message is None else message.text


def form(body: str, sid: str, sender: str = RESIDENT) -> dict[str, str]:
    return {"MessageSid": sid, "From": sender, "To": "+15005550006", "Body": body}


async def post(
    app: Served,
    params: dict[str, str] | None = None,
    *,
    path: str = "/sms/twilio",
    signature: str | None = "sign",
    content: bytes | None = None,
    signed_url: str | None = None,
) -> httpx.Response:
    headers = {}
    if signature == "sign" and params is not None:
        signature = RequestValidator(AUTH_TOKEN).compute_signature(
            signed_url or PUBLIC + path, params
        )
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    async with http_client() as client:
        if content is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            return await client.post(app.url + path, content=content, headers=headers)
        return await client.post(app.url + path, data=params, headers=headers)


async def assert_nothing_stored(app: Served) -> None:
    assert await app.count(Message) == 0
    assert await app.count(Contact) == 0


async def test_a_signed_sms_is_answered_in_twiml_and_stored(
    twilio_app: Served, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    fake, _ = fake_twilio
    response = await fake.post_inbound(
        twilio_app.url + "/sms/twilio", from_=RESIDENT, body="naukri", signed_url=INBOUND
    )
    text = reply_of(response)
    assert text is not None and "naukriyan" in text  # Roman Urdu is answered in it

    async def written() -> bool:
        rows = await twilio_app.messages()
        return [(m.direction, m.status) for m in rows] == [("in", "received"), ("out", "sent")]

    # Recorded sent once the response is written, right after it.
    await eventually(written, "the reply is recorded sent")
    rows = await twilio_app.messages()
    assert rows[0].provider_id is not None and rows[0].provider_id.startswith("SM")
    assert not fake.sent, "the reply went back in the response, not through the API"


async def test_urdu_is_answered_in_urdu(twilio_app: Served) -> None:
    text = reply_of(await post(twilio_app, form("نوکری", "SM1")))
    assert text is not None and "نوکریاں" in text


@pytest.mark.parametrize(
    "signature",
    [None, "", "bm90IGEgc2lnbmF0dXJl", "internal-url"],
    ids=["missing", "empty", "wrong", "signed-for-the-internal-url"],
)
async def test_an_unverified_request_is_refused_and_nothing_is_stored(
    twilio_app: Served, signature: str | None
) -> None:
    params = form("jobs", "SM2")
    if signature == "internal-url":
        # What a naive app behind a proxy would check against: the URL it was reached at.
        response = await post(twilio_app, params, signed_url=twilio_app.url + "/sms/twilio")
    else:
        response = await post(twilio_app, params, signature=signature)
    assert response.status_code == 403
    await assert_nothing_stored(twilio_app)


async def test_a_tampered_body_is_refused(twilio_app: Served) -> None:
    params = form("jobs", "SM3")
    signature = RequestValidator(AUTH_TOKEN).compute_signature(INBOUND, params)
    response = await post(twilio_app, params | {"Body": "STOP"}, signature=signature)
    assert response.status_code == 403
    await assert_nothing_stored(twilio_app)


async def test_a_retried_message_sid_is_answered_once(twilio_app: Served) -> None:
    first = reply_of(await post(twilio_app, form("jobs", "SMretry")))
    again = reply_of(await post(twilio_app, form("jobs", "SMretry")))
    assert first is not None
    assert again is None
    assert [m.direction for m in await twilio_app.messages()] == ["in", "out"]


async def test_an_oversized_body_is_413_and_nothing_is_stored(twilio_app: Served) -> None:
    params = form("x" * (70 * 1024), "SMbig")
    assert (await post(twilio_app, params)).status_code == 413
    await assert_nothing_stored(twilio_app)


async def test_a_streamed_body_is_read_whole_and_refused_past_the_limit(
    twilio_app: Served,
) -> None:
    params = form("jobs", "SMstreamed")
    signature = RequestValidator(AUTH_TOKEN).compute_signature(INBOUND, params)
    body = urlencode(params).encode()

    async def chunks(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
        for start in range(0, len(data), size):
            yield data[start : start + size]

    # As Twilio sends it (httpx sets no Content-Type for a streamed body).
    headers = {
        "X-Twilio-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }
    async with http_client() as client:
        answered = await client.post(
            twilio_app.url + "/sms/twilio", content=chunks(body), headers=headers
        )
        big = urlencode(form("x" * (70 * 1024), "SMbig")).encode()
        refused = await client.post(
            # In 1 KB pieces: 10,000 pieces of 7 bytes took over REQUEST_BODY_SECONDS on a
            # loaded machine, and the 408 closed the connection under the client's feet.
            twilio_app.url + "/sms/twilio",
            content=chunks(big, 1024),
            headers=headers,
        )

    assert reply_of(answered) is not None
    assert refused.status_code == 413
    assert len(await twilio_app.messages()) == 2, "the first message and its reply"


async def test_only_post_is_allowed(twilio_app: Served) -> None:
    async with http_client() as client:
        response = await client.get(twilio_app.url + "/sms/twilio")
    assert response.status_code == 405
    await assert_nothing_stored(twilio_app)


@pytest.mark.parametrize("missing", ["From", "MessageSid", "Body"])
async def test_missing_fields_are_400_and_nothing_is_stored(
    twilio_app: Served, missing: str
) -> None:
    params = form("jobs", "SMmissing")
    del params[missing]
    response = await post(twilio_app, params)
    assert response.status_code == 400
    await assert_nothing_stored(twilio_app)


async def test_undecodable_bytes_are_400_and_nothing_is_stored(twilio_app: Served) -> None:
    response = await post(twilio_app, content=b"From=%2B923001234567&Body=\xff\xfe", signature="x")
    assert response.status_code == 400
    await assert_nothing_stored(twilio_app)


async def test_an_unparseable_sender_is_stored_as_invalid_and_not_answered(
    twilio_app: Served,
) -> None:
    assert reply_of(await post(twilio_app, form("jobs", "SMbad", sender="NOT-A-NUMBER"))) is None
    assert (await twilio_app.contact("NOT-A-NUMBER")).status == "invalid"


async def test_stop_confirms_once_then_nothing_is_ever_sent(twilio_app: Served) -> None:
    confirm = reply_of(await post(twilio_app, form("band karo", "SMs1")))
    assert confirm is not None and "START" in confirm
    for n, text in enumerate(["jobs", "STOP", "hello", "faq 2"]):
        assert reply_of(await post(twilio_app, form(text, f"SMs{n + 2}"))) is None
    contact = await twilio_app.contact(RESIDENT)
    assert contact.status == "opted_out" and contact.status_words == "band karo"
    assert sum(m.direction == "out" for m in await twilio_app.messages()) == 1


async def test_help_includes_the_configured_contact_line(
    db_url: str, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    from fakes.server import aserve
    from tests.routes.conftest import make_settings

    _, api = fake_twilio
    app = app_for(
        make_settings(db_url, twilio_api_base_url=api, park_contact_line="the park office")
    )
    async with aserve(app, lifespan="on") as url:
        text = reply_of(await post(Served(url, app), form("HELP", "SMhelp")))
    assert text is not None and "the park office" in text


async def test_advanced_opt_out_records_without_a_second_confirmation(
    db_url: str, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    from fakes.server import aserve
    from tests.routes.conftest import make_settings

    _, api = fake_twilio
    app = app_for(make_settings(db_url, twilio_api_base_url=api, twilio_advanced_opt_out=True))
    async with aserve(app, lifespan="on") as url:
        served = Served(url, app)
        assert reply_of(await post(served, form("STOP", "SMa1"))) is None
        assert (await served.contact(RESIDENT)).status == "opted_out"


async def _reply_through_the_api(app: Served, text: str) -> str:
    """Have the bot answer ``text`` through Twilio's REST API (as the gateway path does)."""
    rt = app.runtime
    now = datetime.now(UTC)
    outcome = await rt.inbox.handle(IncomingMessage("sms", RESIDENT, text, f"in-{text}", now))
    await rt.inbox.deliver(outcome, rt.senders["sms"], now)
    rows = await app.messages()
    sid = rows[-1].provider_id
    assert sid is not None and sid.startswith("SM")
    return sid


async def test_status_callbacks_move_the_message_to_delivered(
    twilio_app: Served, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    fake, _ = fake_twilio
    sid = await _reply_through_the_api(twilio_app, "jobs")
    assert fake.sent[-1]["_status_callback"] == STATUS, "every message asks for reports"
    for status in ("sent", "delivered"):
        response = await fake.post_status(twilio_app.url + "/sms/twilio/status", sid, status)
        assert response.status_code == 204
    assert (await twilio_app.messages())[-1].status == "delivered"


async def test_a_21610_report_fails_the_message_and_opts_the_contact_out(
    twilio_app: Served, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    fake, _ = fake_twilio
    sid = await _reply_through_the_api(twilio_app, "jobs")
    await fake.post_status(twilio_app.url + "/sms/twilio/status", sid, "undelivered", 21610)
    message = (await twilio_app.messages())[-1]
    assert message.status == "failed" and message.error_code == "21610"
    contact = await twilio_app.contact(RESIDENT)
    assert contact.status == "opted_out" and contact.status_reason == "provider:21610"


async def test_a_forged_status_callback_is_refused(
    twilio_app: Served, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    sid = await _reply_through_the_api(twilio_app, "jobs")
    params = {"MessageSid": sid, "MessageStatus": "delivered"}
    response = await post(twilio_app, params, path="/sms/twilio/status", signature="forged")
    assert response.status_code == 403
    assert (await twilio_app.messages())[-1].status == "sent"


async def test_a_carrier_opt_out_on_send_opts_the_contact_out(
    twilio_app: Served, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    fake, _ = fake_twilio
    fake.opted_out.add(RESIDENT)
    rt = twilio_app.runtime
    now = datetime.now(UTC)
    outcome = await rt.inbox.handle(IncomingMessage("sms", RESIDENT, "jobs", "in-x", now))
    with pytest.raises(RecipientGone):
        await rt.inbox.deliver(outcome, rt.senders["sms"], now)
    assert (await twilio_app.messages())[-1].status == "failed"
    contact = await twilio_app.contact(RESIDENT)
    assert contact.status == "opted_out" and "21610" in (contact.status_reason or "")
