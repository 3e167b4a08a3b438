"""SMS webhooks: Twilio (``/sms/twilio``, ``/sms/twilio/status``) and the SMSGate phone
(``/sms/smsgate``).

Every request is verified before anything is stored: a missing or wrong signature is 403,
an oversized body 413, a malformed one 400, and none of them reach the database.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import TypeVar

from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.app.runtime import Runtime
from bot.channels.base import ChannelError
from bot.channels.smsgate_webhooks import (
    WEBHOOK_PATH as SMSGATE_PATH,
)
from bot.channels.smsgate_webhooks import (
    InvalidSmsGateEvent,
    UnsupportedSmsGateEvent,
    parse_smsgate_event,
    verify_smsgate_signature,
)
from bot.channels.twilio_webhooks import (
    INBOUND_PATH,
    STATUS_CALLBACK_PATH,
    InvalidTwilioPayload,
    parse_twilio_inbound,
    parse_twilio_status,
    twiml_reply,
    verify_twilio_signature,
)
from bot.core.decision import ContactStatus
from bot.outreach.inbound import IncomingMessage, Outcome
from bot.routes.common import MAX_BODY_BYTES, public_url, read_form, runtime, utcnow
from bot.store import reports
from bot.store.models import MessageStatus
from bot.store.reports import Report

log = logging.getLogger(__name__)

T = TypeVar("T")


async def _twilio_webhook(
    request: Request, rt: Runtime, parse: Callable[[Mapping[str, str]], T]
) -> T:
    """What ``parse`` reads in the webhook's form: 403 unless Twilio signed exactly this form,
    400 when it is not what ``parse`` expects (and 413/400 from :func:`read_form`)."""
    form = await read_form(request)
    token = rt.settings.twilio_auth_token
    url = public_url(request, rt.settings.public_base_url)
    signature = request.headers.get("x-twilio-signature")
    if token is None or not verify_twilio_signature(token.get_secret_value(), url, form, signature):
        log.warning("twilio webhook refused: bad or missing signature")
        raise HTTPException(403, "invalid signature")
    try:
        return parse(form)
    except InvalidTwilioPayload as exc:
        raise HTTPException(400, str(exc)) from exc


async def twilio_inbound(request: Request) -> Response:
    """An SMS to our Twilio number, answered in the response itself, as TwiML.

    The reply is stored in the outbox with the message, claimed by this process for
    ``REPLY_LEASE_SECONDS``, and counts as ``sent`` once the response is written (recorded
    right after). If the process dies before that is recorded, the lease runs out and the
    worker's sweeper sends the stored reply by Twilio's REST API: Twilio does not call a
    webhook again by default, so without it the reply would be lost. The cost is that a reply
    whose response did leave, but whose ``sent`` was not yet committed, goes twice. A webhook
    Twilio does send again (a retry configured with ``#rc=``) gets the reply in TwiML only if it
    is still unsent and not in flight, else an empty response.
    """
    rt = runtime(request)
    sms = await _twilio_webhook(request, rt, parse_twilio_inbound)
    outcome = await rt.inbox.handle(
        IncomingMessage("sms", sms.from_, sms.body, sms.sid, utcnow()),
        provider_handles_compliance=rt.settings.twilio_advanced_opt_out,
    )
    due = outcome.due
    task = BackgroundTask(rt.inbox.replies.written, due) if due is not None else None
    text = due.reply.text if due is not None else None
    return Response(twiml_reply(text), media_type="application/xml", background=task)


async def twilio_status(request: Request) -> Response:
    """Twilio's delivery report for a message we sent."""
    rt = runtime(request)
    report = await _twilio_webhook(request, rt, parse_twilio_status)
    code = str(report.error_code) if report.error_code is not None else None
    await _record_status(
        rt,
        report.provider_id,
        report.status,
        error_code=code,
        error=f"twilio {code}" if code else None,
        contact_status=report.contact_status,
    )
    return Response(status_code=204)


async def _smsgate_body(request: Request, rt: Runtime) -> bytes:
    """The body of a gateway webhook; 403 unless signed with the key, and recently."""
    body = await request.body()
    key = rt.settings.smsgate_signing_key
    if key is None or not verify_smsgate_signature(
        key.get_secret_value(),
        body,
        request.headers.get("x-timestamp"),
        request.headers.get("x-signature"),
        now=time.time(),
    ):
        log.warning("smsgate webhook refused: bad, stale or missing signature")
        raise HTTPException(403, "invalid signature")
    return body


async def smsgate_webhook(request: Request) -> Response:
    """An event from the gateway phone: an incoming SMS or a report on one we sent."""
    rt = runtime(request)
    body = await _smsgate_body(request, rt)
    try:
        event = parse_smsgate_event(body)
    except UnsupportedSmsGateEvent as exc:
        # Answer 2xx, or the phone retries it for days.
        return JSONResponse({"ignored": exc.event})
    except InvalidSmsGateEvent as exc:
        raise HTTPException(400, str(exc)) from exc

    if event.status is not None:
        await _record_status(rt, event.message_id, event.status, error=event.reason)
        return JSONResponse({"ok": True})

    outcome = await rt.inbox.handle(
        IncomingMessage("sms", event.phone_number, event.text or "", event.dedup_key, utcnow())
    )
    # Sent after the webhook is answered: the reply is in the outbox already, so if this
    # process dies first the worker's sweeper sends it once its lease runs out.
    task = BackgroundTask(_deliver, rt, outcome) if outcome.due is not None else None
    return JSONResponse({"ok": True, "duplicate": outcome.duplicate}, background=task)


async def _deliver(rt: Runtime, outcome: Outcome) -> None:
    """Send a gateway reply after the webhook is answered; failures are recorded (a transient
    one as a retry), not raised."""
    try:
        await rt.inbox.deliver(outcome, rt.senders["sms"], utcnow())
    except ChannelError as exc:
        log.warning("sms reply not sent: %s: %s", type(exc).__name__, exc)


async def _record_status(
    rt: Runtime,
    provider_id: str,
    status: MessageStatus,
    *,
    error: str | None,
    error_code: str | None = None,
    contact_status: ContactStatus | None = None,
) -> None:
    """Apply a delivery report, in one unit, to the reply or announcement it is about, and to
    its contact when the provider says the number is gone (21610 -> opted out); a report on
    an id not stored yet waits for it (see :mod:`bot.store.reports`)."""
    report = Report("sms", provider_id, status, error_code, error, contact_status)
    now = utcnow()
    applied = await rt.units.run(lambda conn: reports.record(conn, report, now))
    what = (
        "reply"
        if applied.message
        else "announcement"
        if applied.delivery
        else "no change"
        if applied.known
        else "not stored yet: kept for when it is"
    )
    log.info("sms %s status %s: %s", provider_id, status, what)


routes = [
    Route(INBOUND_PATH, twilio_inbound, methods=["POST"], max_body_size=MAX_BODY_BYTES),
    Route(STATUS_CALLBACK_PATH, twilio_status, methods=["POST"], max_body_size=MAX_BODY_BYTES),
    Route(SMSGATE_PATH, smsgate_webhook, methods=["POST"], max_body_size=MAX_BODY_BYTES),
]
