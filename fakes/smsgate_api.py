"""A fake SMSGate (SMS Gateway for Android) 3rd-party API and the phone's signed webhooks.

``FakeSMSGate(username, password, signing_key).app`` serves, under ``prefix``
(``/3rdparty/v1``, as the cloud and private servers do; point the client at
``base_url + fake.prefix``):

- ``POST /messages`` — what ``android_sms_gateway.AsyncAPIClient.send`` calls: JSON
  ``{"textMessage": {"text": …}, "phoneNumbers": [...], "withDeliveryReport": …, "priority": …}``
  with HTTP basic auth; answers ``202 Accepted`` with a ``Location`` header and a message state
  ``{"id", "deviceId", "state": "Pending", "isHashed", "isEncrypted", "recipients": [{"phoneNumber",
  "state"}], "states"}``;
- ``GET /messages/{id}`` — the stored state;
- ``GET /health`` — no credentials needed: the readiness probe, ``{"status", "version",
  "releaseId", "checks": {name: {"description", "observedUnit", "observedValue",
  "status"}}}`` with the phone's checks as docs/features/health.md shows them
  (``messages:failed``, ``connection:status``, ``battery:level``, …); ``status`` is the worst
  check's (``pass`` < ``warn`` < ``fail``), answered with 200, or 503 for ``fail`` as the
  server's probe does. :meth:`FakeSMSGate.set_check` changes one;
- ``GET /webhooks`` — the webhooks registered (``[{"id", "url", "event", "deviceId"}]``;
  :meth:`FakeSMSGate.add_webhook` registers one).

It validates like the server: ``401`` without the right credentials; ``400`` for a body that is
not JSON, for not exactly one of ``textMessage``/``dataMessage``/``message``, for no or more
than 100 ``phoneNumbers``, for a number that is not E.164 (unless ``?skipPhoneValidation=true``),
for ``ttl`` with ``validUntil``; ``409`` for an ``id`` already used. Error bodies are the
server's ``{"message": …}``.

``fail_next`` (500/503/…), ``rate_limit_next`` (429, optional ``Retry-After``) and
``delay_next`` queue misbehaviour for the next requests, one request each, first in first out.
Everything received is recorded in ``requests``; accepted messages in ``messages``.

``post_event`` plays the phone calling the bot's webhook exactly as the app does
(``SendWebhookWorker`` + ``PayloadSingingPlugin`` in capcom6/android-sms-gateway, documented in
docs/features/webhooks.md, "Payload Signing"): a JSON envelope
``{"id", "webhookId", "event", "deviceId", "payload"}`` serialised by Gson (compact, HTML-safe
escapes, non-ASCII as is, dates ``yyyy-MM-dd'T'HH:mm:ss.SSSXXX`` in the phone's zone), with
``X-Timestamp`` (Unix seconds) and ``X-Signature`` = lower-case hex
HMAC-SHA256(key = signing key, message = raw body + timestamp).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import secrets
import string
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fakes.http import client as http_client
from fakes.server import basic_auth

PREFIX = "/3rdparty/v1"
MAX_RECIPIENTS = 100

_E164 = re.compile(r"\+?[1-9][0-9]{6,14}")
_NANOID_ALPHABET = string.ascii_letters + string.digits + "_-"
# The phone reports times in its own zone; the park's phones are on Pakistan time.
PHONE_TZ = timezone(timedelta(hours=5))
# Gson's default HtmlSafe escapes, plus the two line separators it always escapes.
_GSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "=": "\\u003d",
    "'": "\\u0027",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def nanoid(size: int = 21) -> str:
    """An id shaped like the gateway's (NanoID: 21 characters of ``A-Za-z0-9_-``)."""
    return "".join(secrets.choice(_NANOID_ALPHABET) for _ in range(size))


def gson_dumps(value: Any) -> bytes:
    """Serialise ``value`` the way the Android app's Gson does (what the signature covers)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escape in _GSON_ESCAPES.items():
        text = text.replace(char, escape)
    return text.encode("utf-8")


def gson_date(moment: datetime | None = None) -> str:
    """``yyyy-MM-dd'T'HH:mm:ss.SSSXXX`` in the phone's zone (``Z`` for UTC, as Java writes)."""
    moment = (moment or datetime.now(UTC)).astimezone(PHONE_TZ)
    text = moment.isoformat(timespec="milliseconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def sign(signing_key: str, body: bytes, timestamp: str) -> str:
    """``X-Signature`` for ``body`` sent at ``timestamp``: hex HMAC-SHA256 of body + timestamp."""
    return hmac.new(signing_key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it; ``json`` is None when the body was not JSON."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    json: Any
    auth: tuple[str, str] | None


@dataclass(frozen=True)
class _Fault:
    kind: str  # "status" | "rate_limit" | "delay"
    status: int = 500
    message: str = ""
    retry_after: float | None = None
    seconds: float = 0.0


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status, headers=headers)


_SEVERITY = ("pass", "warn", "fail")


def _healthy_phone() -> dict[str, dict[str, Any]]:
    """The checks of a phone that is fine (charged, online, nothing failed), as the app
    reports them."""
    return {
        "messages:failed": {
            "description": "Failed messages for last hour",
            "observedUnit": "messages",
            "observedValue": 0,
            "status": "pass",
        },
        "connection:status": {
            "description": "Internet connection status",
            "observedUnit": "boolean",
            "observedValue": 1,
            "status": "pass",
        },
        "battery:level": {
            "description": "Battery level in percent",
            "observedUnit": "percent",
            "observedValue": 94,
            "status": "pass",
        },
        "battery:charging": {
            "description": "Is the phone charging?",
            "observedUnit": "flags",
            "observedValue": 4,
            "status": "pass",
        },
    }


@dataclass
class FakeSMSGate:
    """The SMSGate API for one account and one phone; see the module docstring."""

    username: str
    password: str
    signing_key: str
    prefix: str = PREFIX
    device_id: str = field(default_factory=nanoid)
    requests: list[RecordedRequest] = field(default_factory=list, init=False)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict, init=False)
    checks: dict[str, dict[str, Any]] = field(default_factory=_healthy_phone, init=False)
    webhooks: list[dict[str, Any]] = field(default_factory=list, init=False)
    _faults: deque[_Fault] = field(default_factory=deque, init=False, repr=False)

    def __post_init__(self) -> None:
        self.app = Starlette(
            routes=[
                Route(f"{self.prefix}/messages", self._send, methods=["POST"]),
                Route(f"{self.prefix}/messages/{{id}}", self._get, methods=["GET"]),
                Route(f"{self.prefix}/health", self._health, methods=["GET"]),
                Route(f"{self.prefix}/webhooks", self._webhooks, methods=["GET"]),
            ]
        )

    # -- its state -----------------------------------------------------------------------------

    def set_check(self, name: str, status: str, value: int) -> None:
        """The phone's health check ``name`` (``battery:level``, …) observes ``value`` and is
        ``status`` (``pass``, ``warn`` or ``fail``)."""
        self.checks[name] = self.checks.get(name, {"description": name}) | {
            "observedValue": value,
            "status": status,
        }

    def add_webhook(self, url: str, event: str = "sms:received") -> dict[str, Any]:
        """Register a webhook for ``event`` on the phone, as the app or ``POST /webhooks`` does."""
        webhook = {"id": nanoid(), "url": url, "event": event, "deviceId": self.device_id}
        self.webhooks.append(webhook)
        return webhook

    # -- telling it to misbehave -------------------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 500, message: str | None = None) -> None:
        """Answer the next ``n`` requests with ``status`` and ``{"message": …}``."""
        text = message or {503: "queue limit exceeded"}.get(status, "failed to handle request")
        self._faults.extend(_Fault("status", status=status, message=text) for _ in range(n))

    def rate_limit_next(self, n: int = 1, *, retry_after: float | None = None) -> None:
        """Answer the next ``n`` requests with 429 (and ``Retry-After`` if given)."""
        self._faults.extend(_Fault("rate_limit", retry_after=retry_after) for _ in range(n))

    def delay_next(self, seconds: float, n: int = 1) -> None:
        """Hold the next ``n`` requests ``seconds`` before answering (stops if the client left)."""
        self._faults.extend(_Fault("delay", seconds=seconds) for _ in range(n))

    # -- what it saw ---------------------------------------------------------------------------

    @property
    def sent(self) -> list[dict[str, Any]]:
        """The accepted send requests (their JSON bodies), oldest first."""
        return [message["_request"] for message in self.messages.values()]

    # -- the phone calling the bot -------------------------------------------------------------

    def envelope(
        self,
        event: str,
        payload: dict[str, Any],
        *,
        event_id: str | None = None,
        webhook_id: str | None = None,
    ) -> bytes:
        """The webhook body the app sends for ``event`` with ``payload``."""
        return gson_dumps(
            {
                "id": event_id or nanoid(),
                "webhookId": webhook_id or f"wh-{event.replace(':', '-')}",
                "event": event,
                "deviceId": self.device_id,
                "payload": payload,
            }
        )

    async def post_event(
        self,
        webhook_url: str,
        event: str,
        payload: dict[str, Any],
        *,
        event_id: str | None = None,
        webhook_id: str | None = None,
        timestamp: int | None = None,
        signing_key: str | None = None,
        body: bytes | None = None,
    ) -> httpx.Response:
        """POST a signed webhook for ``event`` to ``webhook_url``, as the phone does.

        ``timestamp`` (default now), ``signing_key`` (default the fake's) and ``body`` (default
        the envelope of ``payload``) can be overridden to make stale, wrong or tampered calls.
        """
        raw = (
            body
            if body is not None
            else self.envelope(event, payload, event_id=event_id, webhook_id=webhook_id)
        )
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        headers = {
            "Content-Type": "application/json; charset=UTF-8",
            "User-Agent": "me.capcom.smsgateway/1.40.0",
            "X-Timestamp": stamp,
            "X-Signature": sign(signing_key or self.signing_key, raw, stamp),
        }
        async with http_client(timeout=10.0) as client:
            return await client.post(webhook_url, content=raw, headers=headers)

    async def post_received(
        self,
        webhook_url: str,
        phone_number: str,
        text: str,
        *,
        message_id: str | None = None,
        received_at: datetime | None = None,
        sim_number: int | None = 1,
        recipient: str | None = "+923000000000",
    ) -> httpx.Response:
        """An ``sms:received`` webhook: ``phone_number`` texted ``text`` to the phone."""
        payload: dict[str, Any] = {
            "messageId": message_id or hashlib.sha256(text.encode()).hexdigest()[:16],
            "message": text,
            "sender": phone_number,
            "recipient": recipient,
            "phoneNumber": phone_number,
            "simNumber": sim_number,
            "receivedAt": gson_date(received_at),
        }
        return await self.post_event(webhook_url, "sms:received", _without_nulls(payload))

    async def post_sent(
        self, webhook_url: str, message_id: str, phone_number: str, *, parts: int = 1
    ) -> httpx.Response:
        """An ``sms:sent`` webhook for a message the fake accepted (or any id)."""
        self._set_state(message_id, phone_number, "Sent")
        payload = {
            "messageId": message_id,
            "recipient": phone_number,
            "phoneNumber": phone_number,
            "simNumber": 1,
            "partsCount": parts,
            "sentAt": gson_date(),
        }
        return await self.post_event(webhook_url, "sms:sent", payload)

    async def post_delivered(
        self, webhook_url: str, message_id: str, phone_number: str
    ) -> httpx.Response:
        """An ``sms:delivered`` webhook."""
        self._set_state(message_id, phone_number, "Delivered")
        payload = {
            "messageId": message_id,
            "recipient": phone_number,
            "phoneNumber": phone_number,
            "simNumber": 1,
            "deliveredAt": gson_date(),
        }
        return await self.post_event(webhook_url, "sms:delivered", payload)

    async def post_failed(
        self, webhook_url: str, message_id: str, phone_number: str, reason: str
    ) -> httpx.Response:
        """An ``sms:failed`` webhook with the phone's ``reason`` (``RESULT_ERROR_NO_SERVICE`` …)."""
        self._set_state(message_id, phone_number, "Failed", error=reason)
        payload = {
            "messageId": message_id,
            "recipient": phone_number,
            "phoneNumber": phone_number,
            "simNumber": 1,
            "failedAt": gson_date(),
            "reason": reason,
        }
        return await self.post_event(webhook_url, "sms:failed", payload)

    def _set_state(
        self, message_id: str, phone_number: str, state: str, error: str | None = None
    ) -> None:
        message = self.messages.get(message_id)
        if message is None:
            return
        message["state"] = state
        message["states"][state] = datetime.now(UTC).isoformat()
        for recipient in message["recipients"]:
            if recipient["phoneNumber"] == phone_number:
                recipient["state"] = state
                if error is not None:
                    recipient["error"] = error

    # -- the API -------------------------------------------------------------------------------

    async def _record(self, request: Request) -> RecordedRequest:
        body = await request.body()
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        recorded = RecordedRequest(
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            headers=dict(request.headers),
            body=body,
            json=parsed,
            auth=basic_auth(request.headers.get("authorization")),
        )
        self.requests.append(recorded)
        return recorded

    async def _early(
        self, request: Request, recorded: RecordedRequest, *, auth: bool = True
    ) -> Response | None:
        if self._faults:
            fault = self._faults.popleft()
            if fault.kind == "delay":
                await _stall(request, fault.seconds)
            elif fault.kind == "rate_limit":
                headers = (
                    {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
                )
                return _error(429, "Too Many Requests", headers)
            else:
                return _error(fault.status, fault.message)
        if auth and recorded.auth != (self.username, self.password):
            return _error(401, "Unauthorized")
        return None

    async def _send(self, request: Request) -> Response:
        recorded = await self._record(request)
        early = await self._early(request, recorded)
        if early is not None:
            return early
        request_json = recorded.json
        if not isinstance(request_json, dict):
            return _error(400, "failed to parse request body: invalid JSON")
        skip_validation = recorded.query.get("skipPhoneValidation") == "true"
        problem = _validate(request_json, skip_validation)
        if problem is not None:
            return _error(400, problem)
        message_id = request_json.get("id") or nanoid()
        if message_id in self.messages:
            return _error(409, "message with such ID already exists")
        now = datetime.now(UTC).isoformat()
        state = {
            "id": message_id,
            "deviceId": self.device_id,
            "state": "Pending",
            "isHashed": False,
            "isEncrypted": bool(request_json.get("isEncrypted", False)),
            "recipients": [
                {"phoneNumber": number, "state": "Pending"}
                for number in request_json["phoneNumbers"]
            ],
            "states": {"Pending": now},
            "_request": request_json,
        }
        self.messages[message_id] = state
        location = f"{self.prefix}/messages/{message_id}"
        return JSONResponse(_public(state), status_code=202, headers={"Location": location})

    async def _get(self, request: Request) -> Response:
        recorded = await self._record(request)
        early = await self._early(request, recorded)
        if early is not None:
            return early
        state = self.messages.get(request.path_params["id"])
        if state is None:
            return _error(404, "message not found")
        return JSONResponse(_public(state))

    async def _health(self, request: Request) -> Response:
        recorded = await self._record(request)
        early = await self._early(request, recorded, auth=False)
        if early is not None:
            return early
        worst = max((c["status"] for c in self.checks.values()), key=_SEVERITY.index)
        body = {"status": worst, "version": "1.40.0", "releaseId": 1, "checks": self.checks}
        return JSONResponse(body, status_code=503 if worst == "fail" else 200)

    async def _webhooks(self, request: Request) -> Response:
        recorded = await self._record(request)
        early = await self._early(request, recorded)
        if early is not None:
            return early
        return JSONResponse(self.webhooks)


def _validate(message: dict[str, Any], skip_phone_validation: bool) -> str | None:
    contents = [key for key in ("message", "textMessage", "dataMessage") if message.get(key)]
    if len(contents) != 1:
        return "must specify exactly one of: textMessage or dataMessage"
    text_message = message.get("textMessage")
    if text_message is not None and not (
        isinstance(text_message, dict) and isinstance(text_message.get("text"), str)
    ):
        return "textMessage.text is required"
    numbers = message.get("phoneNumbers")
    if not isinstance(numbers, list) or not 1 <= len(numbers) <= MAX_RECIPIENTS:
        return f"phoneNumbers must hold 1 to {MAX_RECIPIENTS} numbers"
    for number in numbers:
        if not isinstance(number, str) or not number:
            return "phoneNumbers must be non-empty strings"
        if not skip_phone_validation and not _E164.fullmatch(number):
            return f'failed to validate message: invalid phone number "{number}"'
    if message.get("ttl") is not None and message.get("validUntil") is not None:
        return "conflicting fields: ttl and validUntil"
    sim = message.get("simNumber")
    if sim is not None and sim not in (1, 2, 3):
        return "simNumber must be 1, 2 or 3"
    return None


def _public(state: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in state.items() if not key.startswith("_")}


def _without_nulls(payload: dict[str, Any]) -> dict[str, Any]:
    # Gson leaves null fields out.
    return {key: value for key, value in payload.items() if value is not None}


async def _stall(request: Request, seconds: float) -> None:
    """Wait ``seconds``, or less if the client hangs up first (so shutdown stays quick)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        if await request.is_disconnected():
            return
        await asyncio.sleep(min(left, 0.02))
