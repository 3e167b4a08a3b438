"""Twilio's webhooks: the inbound SMS form, delivery-status callbacks, their signatures and
the TwiML answer. Pure functions for the web routes (:mod:`bot.routes.sms`).

:func:`verify_twilio_signature` checks ``X-Twilio-Signature``; :func:`parse_twilio_inbound`
and :func:`parse_twilio_status` read the forms (:class:`InvalidTwilioPayload` when a field is
missing or unknown); :func:`twiml_reply` answers an inbound SMS. Sending is in
:mod:`bot.channels.twilio`; this module needs only the library's validator and TwiML, not
its REST client, so the routes load without it.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from bot.core.decision import ContactStatus
from bot.core.untrusted import clean_text, is_id
from bot.store.models import ERROR_CODE_LENGTH, PROVIDER_ID_LENGTH

STATUS_CALLBACK_PATH = "/sms/twilio/status"
INBOUND_PATH = "/sms/twilio"

DeliveryStatus = Literal["sent", "delivered", "failed"]

# Error codes that say the contact itself is unreachable, whatever we send: in a status
# callback's ErrorCode and in a send's error (bot.channels.twilio).
CONTACT_GONE: dict[int, ContactStatus] = {
    21610: "opted_out",  # the recipient replied STOP
    21211: "invalid",  # invalid 'To' number
    21614: "invalid",  # 'To' is not a mobile number
    30005: "invalid",  # unknown destination handset
    30006: "invalid",  # landline or unreachable carrier
}

_STATUSES: dict[str, DeliveryStatus] = {
    "accepted": "sent",
    "scheduled": "sent",
    "queued": "sent",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}


class InvalidTwilioPayload(ValueError):
    """A Twilio webhook form lacks a field we need or holds a value we do not know."""


# Not frozen: one is built for every message, and a frozen dataclass sets each field through
# object.__setattr__, at four times the cost. Nothing changes one once built.
@dataclass(slots=True)
class TwilioInbound:
    """An incoming SMS as Twilio posts it to ``/sms/twilio``."""

    sid: str
    from_: str
    to: str
    body: str


@dataclass(frozen=True, slots=True)
class StatusReport:
    """A delivery report for a message we sent.

    ``status`` is ours (``sent``/``delivered``/``failed``), ``provider_status`` Twilio's own
    word; ``contact_status`` is set when ``error_code`` says the contact itself is gone
    (e.g. 21610 -> ``opted_out``).
    """

    provider_id: str
    status: DeliveryStatus
    error_code: int | None = None
    provider_status: str = ""
    contact_status: ContactStatus | None = None


def verify_twilio_signature(
    auth_token: str, public_url: str, params: Mapping[str, str], signature: str | None
) -> bool:
    """True when ``signature`` (``X-Twilio-Signature``) signs ``params`` posted to ``public_url``.

    ``public_url`` must be the URL Twilio was given — ``PUBLIC_BASE_URL`` + the path (+ query)
    — not the URL the request reached behind a proxy. A missing signature is never valid.
    The check is ``RequestValidator.validate`` (the URL with or without its default port),
    after one ``compute_signature`` for the URL as written, which is what Twilio signs for
    every valid request we see: one HMAC instead of validate's two.
    """
    if not signature or not auth_token:
        return False
    validator = RequestValidator(auth_token)
    form = _SignedForm(params)
    if hmac.compare_digest(
        validator.compute_signature(public_url, form).encode(), signature.encode()
    ):
        return True
    return bool(validator.validate(public_url, form, signature))


class _SignedForm(dict[str, str]):
    """A form as ``compute_signature`` reads it: ``getall`` spares it two AttributeErrors a
    parameter while it looks for Flask's and Django's multi-dicts (half of the check's cost)."""

    def getall(self, name: str) -> list[str]:
        return [self[name]]


def parse_twilio_inbound(form: Mapping[str, str]) -> TwilioInbound:
    """The incoming SMS in a Twilio webhook form; :class:`InvalidTwilioPayload` if incomplete.

    ``Body`` may be empty (a picture message without text) but must be present. ``Body`` and
    ``From`` are cleaned (:func:`clean_text`); a ``MessageSid`` that cannot be an id is
    refused.
    """
    sid = _sid(form)
    from_ = clean_text(_required(form, "From"))
    to = _required(form, "To")
    if "Body" not in form:
        raise InvalidTwilioPayload("Twilio inbound form has no 'Body'")
    return TwilioInbound(sid=sid, from_=from_, to=to, body=clean_text(form["Body"]))


def parse_twilio_status(form: Mapping[str, str]) -> StatusReport:
    """The delivery report in a Twilio status callback form.

    Maps ``MessageStatus`` queued/accepted/scheduled/sending/sent -> ``sent``,
    delivered/read -> ``delivered``, undelivered/failed/canceled -> ``failed``. Raises
    :class:`InvalidTwilioPayload` without a ``MessageSid`` or ``MessageStatus``, for a status
    we do not know, for a ``MessageSid`` that cannot be an id, or for an ``ErrorCode`` that is
    not a number or too long to be one of Twilio's (they have five digits).
    """
    sid = _sid(form)
    raw_status = _required(form, "MessageStatus").strip().lower()
    status = _STATUSES.get(raw_status)
    if status is None:
        raise InvalidTwilioPayload(f"unknown Twilio MessageStatus {raw_status!r}")
    raw_code = (form.get("ErrorCode") or "").strip()
    if raw_code and not (
        raw_code.isascii() and raw_code.isdecimal() and len(raw_code) <= ERROR_CODE_LENGTH
    ):
        raise InvalidTwilioPayload(f"Twilio ErrorCode is not an error code: {raw_code[:20]!r}")
    code = int(raw_code) if raw_code else None
    return StatusReport(
        provider_id=sid,
        status=status,
        error_code=code,
        provider_status=raw_status,
        contact_status=CONTACT_GONE.get(code) if code is not None else None,
    )


# Replies come from the catalog, so a few hundred texts cover nearly every answer.
@functools.lru_cache(maxsize=512)
def twiml_reply(text: str | None) -> str:
    """A TwiML ``<Response>`` answering an inbound SMS with ``text``; empty for None or ``""``.

    The XML is escaped by the library (``<``, ``&``) and UTF-8 (Urdu stays readable).
    """
    response = MessagingResponse()
    if text:
        response.message(text)
    return str(response)


def _sid(form: Mapping[str, str]) -> str:
    sid = _required(form, "MessageSid")
    if not is_id(sid, PROVIDER_ID_LENGTH):
        raise InvalidTwilioPayload(f"Twilio MessageSid is not an id: {sid[:40]!r}")
    return sid


def _required(form: Mapping[str, str], key: str) -> str:
    value = form.get(key)
    if not value:
        raise InvalidTwilioPayload(f"Twilio form has no {key!r}")
    return value
