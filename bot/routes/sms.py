"""SMS webhooks: Twilio (``/sms/twilio``, ``/sms/twilio/status``) and the SMSGate phone
(``/sms/smsgate``).

Every request is verified before anything is stored: a missing or wrong signature is 403,
an oversized body 413, a malformed one 400, and none of them reach the database.
"""

from __future__ import annotations

import functools
import logging
import time

from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from bot.channels.base import ChannelError
from bot.channels.smsgate import (
    InvalidSmsGateEvent,
    UnsupportedSmsGateEvent,
    parse_smsgate_event,
    verify_smsgate_signature,
)
from bot.channels.twilio import (
    InvalidTwilioPayload,
    parse_twilio_inbound,
    parse_twilio_status,
    twiml_reply,
    verify_twilio_signature,
)
from bot.core.decision import ContactStatus
from bot.outreach.inbox import IncomingMessage, Outcome
from bot.routes.common import (
    header,
    parse_form,
    read_body,
    receive_body,
    runtime,
    signed_url,
    utcnow,
)
from bot.runtime import Runtime
from bot.store import reports
from bot.store.models import MessageStatus
from bot.store.reports import Report

log = logging.getLogger(__name__)

_TWIML_TYPE = b"application/xml"


def _twilio_form(rt: Runtime, scope: Scope, body: bytes) -> dict[str, str]:
    """The verified form of a Twilio webhook; 403 unless Twilio signed exactly this."""
    form = parse_form(body)
    token = rt.settings.twilio_auth_token
    url = signed_url(scope, rt.settings.public_base_url)
    signature = header(scope, b"x-twilio-signature")
    if token is None or not verify_twilio_signature(token.get_secret_value(), url, form, signature):
        log.warning("twilio webhook refused: bad or missing signature")
        raise HTTPException(403, "invalid signature")
    return form


class _TwilioInbound:
    """An SMS to our Twilio number: answered in the response itself, as TwiML.

    A bare ASGI endpoint (Starlette mounts an object that is not a function as one): the
    busiest route skips building a ``Request`` and a ``Response``, a sizeable share of its
    CPU. An ``HTTPException`` raised here is still answered by Starlette's handler.
    :mod:`bot.web` calls :meth:`answer` and :func:`send_twiml` itself, ahead of the router.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send_twiml(send, await self.answer(scope, receive))

    @staticmethod
    async def answer(scope: Scope, receive: Receive) -> tuple[bytes, bytes]:
        """The TwiML answer (body, its length) for the SMS the request posts, once stored.

        Raises ``HTTPException`` 413 (body too large), 403 (bad signature) or 400 (malformed
        form) before anything is stored, and ``ClientDisconnect`` if the client left.
        """
        rt: Runtime = scope["app"].state.runtime
        form = _twilio_form(rt, scope, await receive_body(scope, receive))
        try:
            sms = parse_twilio_inbound(form)
        except InvalidTwilioPayload as exc:
            raise HTTPException(400, str(exc)) from exc
        outcome = await rt.inbox.handle(
            IncomingMessage("sms", sms.from_, sms.body, sms.sid, utcnow()),
            reply_status="sent",
            provider_handles_compliance=rt.settings.twilio_advanced_opt_out,
        )
        return _twiml(outcome.reply_text)


@functools.lru_cache(maxsize=512)
def _twiml(text: str | None) -> tuple[bytes, bytes]:
    """:func:`twiml_reply` encoded, and its Content-Length; replies come from the catalog."""
    body = twiml_reply(text).encode()
    return body, str(len(body)).encode("latin-1")


async def send_twiml(send: Send, answer: tuple[bytes, bytes]) -> None:
    """Send ``answer`` (from :meth:`_TwilioInbound.answer`) as a 200 TwiML response."""
    body, length = answer
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", _TWIML_TYPE), (b"content-length", length)],
        }
    )
    await send({"type": "http.response.body", "body": body})


twilio_inbound = _TwilioInbound()


async def twilio_status(request: Request) -> Response:
    """Twilio's delivery report for a message we sent."""
    rt = runtime(request)
    form = _twilio_form(rt, request.scope, await read_body(request))
    try:
        report = parse_twilio_status(form)
    except InvalidTwilioPayload as exc:
        raise HTTPException(400, str(exc)) from exc
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


async def smsgate_webhook(request: Request) -> Response:
    """An event from the gateway phone: an incoming SMS or a report on one we sent."""
    rt = runtime(request)
    body = await read_body(request)
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
    try:
        event = parse_smsgate_event(body)
    except UnsupportedSmsGateEvent as exc:
        # Answer 2xx, or the phone retries it for days.
        return JSONResponse({"ignored": exc.event})
    except InvalidSmsGateEvent as exc:
        raise HTTPException(400, str(exc)) from exc

    if event.status is not None:
        await _record_status(
            rt,
            event.message_id,
            event.status,
            error_code=None,
            error=event.reason,
            contact_status=None,
        )
        return JSONResponse({"ok": True})

    outcome = await rt.inbox.handle(
        IncomingMessage("sms", event.phone_number, event.text or "", event.dedup_key, utcnow())
    )
    task = BackgroundTask(_deliver, rt, outcome) if outcome.reply is not None else None
    return JSONResponse({"ok": True, "duplicate": outcome.duplicate}, background=task)


async def _deliver(rt: Runtime, outcome: Outcome) -> None:
    """Send a gateway reply after the webhook is answered; failures are recorded, not raised."""
    try:
        await rt.inbox.deliver(outcome, rt.senders["sms"], utcnow())
    except ChannelError as exc:
        log.warning("sms reply not sent: %s: %s", type(exc).__name__, exc)


async def _record_status(
    rt: Runtime,
    provider_id: str,
    status: MessageStatus,
    *,
    error_code: str | None,
    error: str | None,
    contact_status: ContactStatus | None,
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
    Route("/sms/twilio", twilio_inbound, methods=["POST"]),
    Route("/sms/twilio/status", twilio_status, methods=["POST"]),
    Route("/sms/smsgate", smsgate_webhook, methods=["POST"]),
]
