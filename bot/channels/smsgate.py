"""SMS through an Android phone running SMSGate (SMS Gateway for Android), and its webhooks.

:class:`SMSGate` sends with ``android_sms_gateway.AsyncAPIClient.send`` (``POST {SMSGATE_URL}
/messages``, HTTP basic auth) on a client it is given (build one with
:func:`build_smsgate_client`), and turns what goes wrong into the channel error family of
:mod:`bot.channels.base`::

    android_sms_gateway.errors.APIError (status_code)
    ├── 429, 5xx (503: the phone's queue is full)    -> Retryable(after=Retry-After or None)
    └── other 4xx (400 invalid request or number, 401/403 credentials, 409 duplicate id)
                                                     -> Permanent("smsgate HTTP <status>: …")
    time-out (ours or httpx's), httpx transport errors -> Retryable
    a 2xx answer we cannot read, or state Failed      -> Permanent (sending again could duplicate)

The gateway reports no segment count; :class:`SMSGate` counts them itself (the phone splits
texts by the same GSM 03.38 / UCS-2 rules).

The phone signs its webhooks (docs/features/webhooks.md of android-sms-gateway/docs-web,
"Payload Signing"; ``PayloadSingingPlugin`` in the app): ``X-Timestamp`` is Unix seconds and
``X-Signature`` is the lower-case hex HMAC-SHA256, keyed with the signing key from the app's
Settings -> Webhooks, of the raw body followed by the timestamp. :func:`verify_smsgate_signature`
checks that in constant time and refuses timestamps more than five minutes off;
:func:`parse_smsgate_event` reads the envelope ``{"id", "webhookId", "event", "deviceId",
"payload"}`` of ``sms:received``, ``sms:sent``, ``sms:delivered`` and ``sms:failed``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

import httpx
from android_sms_gateway import AsyncAPIClient, Message, ProcessState, TextMessage
from android_sms_gateway.ahttp import HttpxAsyncHttpClient
from android_sms_gateway.errors import APIError

from bot.config import Settings
from bot.core.decision import Channel, Reply
from bot.core.phones import mask
from bot.core.segments import count_segments

from .base import (
    ChannelError,
    Permanent,
    Retryable,
    SendResult,
    parse_retry_after,
    scrub_phone_numbers,
)

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/sms/smsgate"
DEFAULT_TIMEOUT = 15.0
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

# Retry-After of the last gateway answer in this task: the library's APIError keeps only the
# JSON body, so an httpx response hook (installed by build_smsgate_client) leaves it here.
_retry_after: ContextVar[float | None] = ContextVar("smsgate_retry_after", default=None)


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


class SMSGate:
    """The ``sms`` channel through an SMSGate phone.

    ``client`` is an open ``AsyncAPIClient`` (see :func:`build_smsgate_client`). ``ttl``
    (seconds) lets the phone drop a message it could not send in time; ``sim_number`` picks
    the SIM (1-3); each send waits at most ``timeout`` seconds.
    """

    channel: Channel = "sms"

    def __init__(
        self,
        client: AsyncAPIClient,
        *,
        ttl: int | None = None,
        sim_number: int | None = None,
        skip_phone_validation: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._client = client
        self._ttl = ttl
        self._sim_number = sim_number
        self._skip_phone_validation = skip_phone_validation
        self._timeout = timeout

    async def send(self, to: str, reply: Reply) -> SendResult:
        """Queue ``reply`` for ``to`` (E.164) on the phone.

        Returns the gateway's message id (the ``messageId`` of later ``sms:sent``/
        ``sms:delivered``/``sms:failed`` webhooks) and the segment count. Raises
        :class:`Retryable` or :class:`Permanent` as the module docstring maps them, and
        ``RuntimeError`` when the client is not open.
        """
        if self._client.http is None:
            raise RuntimeError("the SMSGate client is not open")
        message = Message(
            phone_numbers=[to],
            text_message=TextMessage(text=reply.text),
            with_delivery_report=True,
            ttl=self._ttl,
            sim_number=self._sim_number,
        )
        _retry_after.set(None)
        try:
            async with asyncio.timeout(self._timeout):
                state = await self._client.send(
                    message, skip_phone_validation=self._skip_phone_validation
                )
        except APIError as exc:
            raise self._failed(to, _translate(exc)) from exc
        except (TimeoutError, httpx.TimeoutException) as exc:
            late = Retryable(f"smsgate: no answer within {self._timeout:g}s")
            raise self._failed(to, late) from exc
        except httpx.HTTPError as exc:
            unreachable = Retryable(f"smsgate: connection failed: {type(exc).__name__}")
            raise self._failed(to, unreachable) from exc
        except (KeyError, TypeError, ValueError) as exc:
            # Accepted, but we cannot tell which message it is; sending again could duplicate.
            unreadable = Permanent(f"smsgate: accepted, answer unreadable: {type(exc).__name__}")
            raise self._failed(to, unreadable) from exc
        if state.state == ProcessState.Failed:
            errors = sorted({str(r.error) for r in state.recipients if r.error})
            reason = "smsgate: failed at once: " + (
                scrub_phone_numbers("; ".join(errors)) or "no reason given"
            )
            raise self._failed(to, Permanent(reason))
        message_id = str(state.id)
        segments = count_segments(reply.text).segments
        log.info("smsgate send to=%s id=%s segments=%d", mask(to), message_id, segments)
        return SendResult(provider_id=message_id, status="sent", segments=segments)

    @staticmethod
    def _failed(to: str, error: ChannelError) -> ChannelError:
        log.warning("smsgate send to=%s failed: %s: %s", mask(to), type(error).__name__, error)
        return error


def build_smsgate_client(settings: Settings, *, timeout: float = DEFAULT_TIMEOUT) -> AsyncAPIClient:
    """An open ``AsyncAPIClient`` for ``settings.smsgate_url`` over an httpx client.

    ``SMSGATE_URL`` is the API root the library appends ``/messages`` to: the phone itself in
    local mode (``http://192.168.1.10:8080``) or ``https://api.sms-gate.app/3rdparty/v1``. With
    ``SMSGATE_USERNAME`` the password is sent with basic auth, without it as a bearer token.
    Close it with :func:`close_smsgate_client`. Raises ``ValueError`` without a URL or password.
    """
    if not settings.smsgate_url or settings.smsgate_password is None:
        raise ValueError("SMSGate needs SMSGATE_URL and SMSGATE_PASSWORD")
    http = httpx.AsyncClient(timeout=timeout, event_hooks={"response": [_remember_retry_after]})
    return AsyncAPIClient(
        settings.smsgate_username,
        settings.smsgate_password.get_secret_value(),
        base_url=settings.smsgate_url,
        http_client=HttpxAsyncHttpClient(http),
    )


async def close_smsgate_client(client: AsyncAPIClient) -> None:
    """Close the httpx client behind ``client``; :meth:`SMSGate.send` refuses to use it after."""
    http, client.http = client.http, None
    if http is not None:
        await http.__aexit__(None, None, None)


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
    ``payload``, no ``messageId`` or phone number, a missing or zone-less time, an
    ``sms:received`` without ``message``.
    """
    try:
        data = json.loads(body)
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
        message_id=_required_string(payload, "messageId", name),
        phone_number=_phone_number(payload, name),
        occurred_at=_time(payload, _TIME_FIELD[name], name),
        text=_required_string(payload, "message", name, allow_empty=True) if received else None,
        reason=_optional_string(payload, "reason", name),
        sim_number=_integer(payload, "simNumber", name),
        parts=_integer(payload, "partsCount", name),
    )


def _translate(exc: APIError) -> ChannelError:
    status = exc.status_code
    body = exc.response if isinstance(exc.response, dict) else {}
    message = body.get("message")
    detail = scrub_phone_numbers(str(message)) if message else "no message"
    reason = f"smsgate HTTP {status}: {detail}"
    if status is None or status == 429 or status >= 500:
        return Retryable(reason, after=_retry_after.get())
    if status in (401, 403):
        return Permanent(f"{reason} (check SMSGATE_USERNAME and SMSGATE_PASSWORD)")
    return Permanent(reason)


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


async def _remember_retry_after(response: httpx.Response) -> None:
    _retry_after.set(parse_retry_after(response.headers.get("Retry-After")))
