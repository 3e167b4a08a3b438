"""The SMSGate phone's webhooks: their signatures and the events they carry. Pure functions
for the web route (:mod:`bot.routes.sms`); sending is in :mod:`bot.channels.smsgate`.

The phone signs its webhooks (docs/features/webhooks.md of android-sms-gateway/docs-web,
"Payload Signing"; ``PayloadSingingPlugin`` in the app): ``X-Timestamp`` is Unix seconds and
``X-Signature`` is the lower-case hex HMAC-SHA256, keyed with the signing key from the app's
Settings -> Webhooks, of the raw body followed by the timestamp. :func:`verify_smsgate_signature`
checks that in constant time and refuses timestamps more than five minutes off;
:func:`parse_smsgate_event` reads the envelope ``{"id", "webhookId", "event", "deviceId",
"payload"}`` of ``sms:received``, ``sms:sent``, ``sms:delivered`` and ``sms:failed``.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from bot.core.untrusted import JsonTooDeep, clean_text, is_id, load_json
from bot.store.models import PROVIDER_ID_LENGTH

WEBHOOK_PATH = "/sms/smsgate"

MAX_SKEW = 300  # seconds a webhook's X-Timestamp may be off our clock

SmsGateEventName = Literal["sms:received", "sms:sent", "sms:delivered", "sms:failed"]
EVENTS: tuple[SmsGateEventName, ...] = get_args(SmsGateEventName)
DeliveryStatus = Literal["sent", "delivered", "failed"]

_TIME_FIELD: dict[SmsGateEventName, str] = {
    "sms:received": "receivedAt",
    "sms:sent": "sentAt",
    "sms:delivered": "deliveredAt",
    "sms:failed": "failedAt",
}
_STATUS: dict[SmsGateEventName, DeliveryStatus] = {
    "sms:sent": "sent",
    "sms:delivered": "delivered",
    "sms:failed": "failed",
}


class InvalidSmsGateEvent(ValueError):
    """A gateway webhook body is not JSON, or lacks a field we need."""


class UnsupportedSmsGateEvent(InvalidSmsGateEvent):
    """A well-formed webhook for an event we do not handle (``system:ping``, ``mms:*`` …).

    The route should acknowledge it with 2xx, or the phone retries it for days.
    """

    def __init__(self, event: str) -> None:
        super().__init__(f"unsupported SMSGate event {event[:40]!r}")
        self.event = event


@dataclass(frozen=True, slots=True)
class SmsGateEvent:
    """One gateway webhook.

    ``phone_number`` is the sender for ``sms:received`` and the recipient otherwise;
    ``message_id`` is the id :meth:`SMSGate.send` returned (for ``sms:received`` it is derived
    from the content and is not unique: use :attr:`dedup_key`). ``occurred_at`` is the
    ``receivedAt``/``sentAt``/``deliveredAt``/``failedAt`` time, with the phone's UTC offset.
    ``text`` is set for ``sms:received``, ``reason`` for ``sms:failed``, ``parts`` when the
    phone reports how many parts it sent.
    """

    event: SmsGateEventName
    event_id: str | None
    message_id: str
    phone_number: str
    occurred_at: datetime
    device_id: str | None = None
    webhook_id: str | None = None
    text: str | None = None
    reason: str | None = None
    sim_number: int | None = None
    parts: int | None = None

    @property
    def status(self) -> DeliveryStatus | None:
        """``sent``/``delivered``/``failed`` for a delivery report; None for ``sms:received``."""
        return _STATUS.get(self.event)

    @property
    def received_at(self) -> datetime | None:
        """When an inbound SMS arrived; None for delivery reports."""
        return self.occurred_at if self.event == "sms:received" else None

    @property
    def dedup_key(self) -> str:
        """Stable across the phone's retries and inbox re-exports: id + number + time.

        Hashed, so it fits the provider-id column whatever the phone sends and carries no
        phone number into logs.
        """
        raw = f"{self.message_id}|{self.phone_number}|{self.occurred_at.isoformat()}"
        return "sg-" + hashlib.sha256(raw.encode()).hexdigest()[:40]


def verify_smsgate_signature(
    signing_key: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    now: float,
    max_skew: float = MAX_SKEW,
) -> bool:
    """True when ``signature`` (``X-Signature``) signs ``body`` + ``timestamp`` (``X-Timestamp``).

    ``body`` must be the raw request body, as received. ``now`` is the current Unix time; a
    timestamp more than ``max_skew`` seconds before or after it is refused, so a captured
    request cannot be replayed later. An empty key, a missing header or a timestamp that is
    not whole Unix seconds is never valid. The comparison takes constant time.
    """
    if not signing_key or not timestamp or not signature:
        return False
    # Unix seconds have 10 digits; a longer "number" is garbage (and int() of thousands of
    # digits raises).
    if not (timestamp.isascii() and timestamp.isdecimal()) or len(timestamp) > 12:
        return False
    if abs(now - int(timestamp)) > max_skew:
        return False
    given = signature.strip().lower()
    if not given.isascii():
        return False
    expected = hmac.new(
        signing_key.encode("utf-8"), body + timestamp.encode("ascii"), hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, given)


def parse_smsgate_event(body: bytes) -> SmsGateEvent:
    """The event in a gateway webhook body.

    Raises :class:`UnsupportedSmsGateEvent` for a well-formed event other than
    ``sms:received``/``sms:sent``/``sms:delivered``/``sms:failed``, and
    :class:`InvalidSmsGateEvent` for anything malformed: not JSON, no ``event`` or
    ``payload``, no ``messageId`` or one that cannot be an id, no phone number, a missing or
    zone-less time, an ``sms:received`` without ``message``, JSON nested too deep. The text,
    phone number and reason are cleaned (:func:`clean_text`).
    """
    try:
        data = load_json(body)
    except JsonTooDeep as exc:
        raise InvalidSmsGateEvent(f"SMSGate webhook body: {exc}") from exc
    except ValueError as exc:
        raise InvalidSmsGateEvent(f"SMSGate webhook body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidSmsGateEvent("SMSGate webhook body is not a JSON object")
    event = data.get("event")
    if not isinstance(event, str) or not event:
        raise InvalidSmsGateEvent("SMSGate webhook has no 'event'")
    if event not in EVENTS:
        raise UnsupportedSmsGateEvent(event)
    name: SmsGateEventName = event
    payload = data.get("payload")
    if not isinstance(payload, dict):
        raise InvalidSmsGateEvent(f"SMSGate {name} webhook has no 'payload' object")
    received = name == "sms:received"
    return SmsGateEvent(
        event=name,
        event_id=_optional_string(data, "id", name),
        webhook_id=_optional_string(data, "webhookId", name),
        device_id=_optional_string(data, "deviceId", name),
        message_id=_message_id(payload, name),
        phone_number=clean_text(_phone_number(payload, name)),
        occurred_at=_time(payload, _TIME_FIELD[name], name),
        text=clean_text(_required_string(payload, "message", name, allow_empty=True))
        if received
        else None,
        reason=_clean(_optional_string(payload, "reason", name)),
        sim_number=_integer(payload, "simNumber", name),
        parts=_integer(payload, "partsCount", name),
    )


def _message_id(payload: dict[str, Any], event: SmsGateEventName) -> str:
    value = _required_string(payload, "messageId", event)
    if not is_id(value, PROVIDER_ID_LENGTH):
        raise InvalidSmsGateEvent(f"SMSGate {event} webhook: 'messageId' is not an id")
    return value


def _clean(value: str | None) -> str | None:
    return None if value is None else clean_text(value)


def _phone_number(payload: dict[str, Any], event: SmsGateEventName) -> str:
    # ``phoneNumber`` is deprecated in newer apps in favour of ``sender``/``recipient``.
    fallback = "sender" if event == "sms:received" else "recipient"
    for key in ("phoneNumber", fallback):
        value = payload.get(key)
        if isinstance(value, str) and value:
            return value
    raise InvalidSmsGateEvent(f"SMSGate {event} webhook has no phone number")


def _required_string(
    data: dict[str, Any], key: str, event: str, *, allow_empty: bool = False
) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not (value or allow_empty):
        raise InvalidSmsGateEvent(f"SMSGate {event} webhook: {key!r} is missing or not text")
    return value


def _optional_string(data: dict[str, Any], key: str, event: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidSmsGateEvent(f"SMSGate {event} webhook: {key!r} is not text")
    return value


def _integer(data: dict[str, Any], key: str, event: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidSmsGateEvent(f"SMSGate {event} webhook: {key!r} is not a whole number")
    return value


def _time(data: dict[str, Any], key: str, event: str) -> datetime:
    value = data.get(key)
    if not isinstance(value, str):
        raise InvalidSmsGateEvent(f"SMSGate {event} webhook has no {key!r}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidSmsGateEvent(f"SMSGate {event} webhook: {key!r} is not a time") from exc
    if moment.tzinfo is None:
        raise InvalidSmsGateEvent(f"SMSGate {event} webhook: {key!r} has no UTC offset")
    return moment
