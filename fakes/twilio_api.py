"""A fake Twilio REST API (the Message resource) and Twilio's side of its webhooks.

``FakeTwilio(account_sid, auth_token).app`` answers

- ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (form: ``To``, ``From`` or
  ``MessagingServiceSid``, ``Body``, ``StatusCallback``) with ``201`` and a Message resource as
  the real API returns it (``sid`` ``SM`` + 32 hex, ``status`` ``queued`` — ``accepted`` when
  only a Messaging Service is given —, ``num_segments`` as a string, RFC 2822 dates, ``uri``);
- ``GET /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json`` with the stored resource;
- ``GET /2010-04-01/Accounts/{AccountSid}.json`` with the Account resource as the real API
  returns it (``sid``, ``friendly_name``, ``status`` — ``account_status``: ``active``,
  ``suspended`` or ``closed`` —, ``type`` — ``account_type``: ``Full`` or ``Trial`` —,
  ``auth_token``, ``owner_account_sid``, RFC 2822 dates, ``uri``, ``subresource_uris``).

It checks HTTP basic auth (``401``, code 20003) and validates like Twilio: missing ``To``
21604, missing ``From``/``MessagingServiceSid`` 21603, missing ``Body`` 21602, ``Body`` over
1600 characters 21617, a ``To`` that is not E.164 21211, a ``From`` the account does not own
21606, a malformed Messaging Service SID 21705, a bad ``StatusCallback`` 21609, an opted-out
``To`` 21610, a landline ``To`` 21614. Error bodies are Twilio's legacy JSON
(``code``/``message``/``more_info``/``status``), which the library turns into
``TwilioRestException``; ``service_error_next`` answers an RFC 9457 problem document instead,
which the library turns into ``TwilioServiceException``.

Every request is recorded in ``requests`` (even those that fail), every created message in
``messages``. ``fail_next``, ``rate_limit_next``, ``service_error_next`` and ``delay_next`` queue
misbehaviour for the next requests, first in, first out, one request each; ``fail_randomly``
makes a seeded share of message creations fail (5xx, 429, time-outs, a recipient opting out).
Every answer to a message creation is kept in ``outcomes`` (a :class:`SendOutcome`), so a test
can count what Twilio accepted per number (``accepted_per_number``); ``in_flight`` counts
requests being answered right now.

``post_status`` and ``post_inbound`` play Twilio calling the bot: a form POST signed with
``X-Twilio-Signature`` = ``RequestValidator(auth_token).compute_signature(url, params)``, where
``url`` is the URL Twilio was given (the message's ``StatusCallback``; the public URL), which
behind a proxy is not the URL the request reaches.
"""

from __future__ import annotations

import asyncio
import random
import re
import uuid
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from bot.core.segments import count_segments
from fakes.http import client as http_client
from fakes.server import basic_auth

API_VERSION = "2010-04-01"
MAX_BODY = 1600

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_SERVICE_SID = re.compile(r"MG[0-9a-f]{32}")


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it. ``form`` keeps the last value of each field."""

    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]
    auth: tuple[str, str] | None


@dataclass(frozen=True)
class _Fault:
    kind: str  # "status" | "rate_limit" | "service" | "delay"
    status: int = 500
    json_body: bool = True
    retry_after: float | None = None
    code: int = 0
    title: str = ""
    detail: str | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class SendOutcome:
    """How the fake answered one message creation (``POST …/Messages.json``).

    ``status`` 201 means the message was created (``sid`` set). ``fault`` names the
    misbehaviour shown: ``"5xx"``, ``"429"``, ``"timeout"`` (held past the client's time-out,
    then answered as usual) or ``"opt_out"`` (the recipient replied STOP just now) from
    :meth:`FakeTwilio.fail_randomly`, ``"queued"`` for a fault queued with ``fail_next`` and the
    like, None for none. ``client_left`` is True when the client had hung up before the answer:
    a message created that way is one the sender never heard of. ``nth`` numbers the creations
    to the number in the order they arrived (from 1); ``outcomes`` is in the order they were
    answered, which differs when one was held.
    """

    to: str
    status: int
    fault: str | None = None
    client_left: bool = False
    sid: str | None = None
    nth: int = 0


@dataclass(frozen=True)
class _RandomFaults:
    """What :meth:`FakeTwilio.fail_randomly` set up: one draw per (number, n-th send to it)."""

    seed: int
    p5xx: float
    p429: float
    ptimeout: float
    popt_out: float
    delay: float
    retry_after: float | None

    def draw(self, to: str, n: int) -> tuple[str, _Fault | None] | None:
        # Seeded by the number and its count of sends, not by arrival order.
        rng = random.Random(f"{self.seed}:{to}:{n}")
        x = rng.random()
        if x < self.p5xx:
            status = rng.choice((500, 503))
            return "5xx", _Fault("status", status=status, json_body=rng.random() < 0.5)
        x -= self.p5xx
        if x < self.p429:
            return "429", _Fault("rate_limit", retry_after=self.retry_after)
        x -= self.p429
        if x < self.ptimeout:
            return "timeout", _Fault("delay", seconds=self.delay)
        x -= self.ptimeout
        if x < self.popt_out:
            return "opt_out", None
        return None


def new_sid(prefix: str = "SM") -> str:
    """A Twilio-shaped SID: two letters and 32 lower-case hex digits."""
    return prefix + uuid.uuid4().hex


def twilio_error(
    status: int, code: int, message: str, *, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A Twilio legacy error body, as the REST API sends it."""
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return JSONResponse(body, status_code=status, headers=headers)


@dataclass
class FakeTwilio:
    """The Twilio REST API for one account; see the module docstring."""

    account_sid: str
    auth_token: str
    opted_out: set[str] = field(default_factory=set)
    landlines: set[str] = field(default_factory=set)
    # Numbers the account owns; None accepts any E.164 ``From``.
    numbers: set[str] | None = None
    account_status: str = "active"
    account_type: str = "Full"
    friendly_name: str = "Dhanote IT Park"
    requests: list[RecordedRequest] = field(default_factory=list, init=False)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict, init=False)
    outcomes: list[SendOutcome] = field(default_factory=list, init=False)
    in_flight: int = field(default=0, init=False)
    _faults: deque[_Fault] = field(default_factory=deque, init=False, repr=False)
    _random: _RandomFaults | None = field(default=None, init=False, repr=False)
    _sends_to: Counter[str] = field(default_factory=Counter, init=False, repr=False)
    _report_first: tuple[str, str, int | None] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        account = f"/{API_VERSION}/Accounts/{{account_sid}}"
        base = f"{account}/Messages"
        self.app = Starlette(
            routes=[
                Route(base + ".json", self._create, methods=["POST"]),
                Route(base + "/{sid}.json", self._fetch, methods=["GET"]),
                Route(account + ".json", self._fetch_account, methods=["GET"]),
            ]
        )
        self.created = format_datetime(datetime.now(UTC))

    # -- telling it to misbehave -------------------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 500, *, json_body: bool = True) -> None:
        """Answer the next ``n`` requests with ``status`` (Twilio's JSON, or an HTML page)."""
        self._faults.extend(_Fault("status", status=status, json_body=json_body) for _ in range(n))

    def rate_limit_next(self, n: int = 1, *, retry_after: float | None = None) -> None:
        """Answer the next ``n`` requests with 429, code 20429 (and ``Retry-After`` if given)."""
        self._faults.extend(_Fault("rate_limit", retry_after=retry_after) for _ in range(n))

    def service_error_next(
        self,
        n: int = 1,
        *,
        status: int = 400,
        code: int = 20001,
        title: str = "Invalid request",
        detail: str | None = None,
    ) -> None:
        """Answer the next ``n`` requests with an RFC 9457 problem document."""
        fault = _Fault("service", status=status, code=code, title=title, detail=detail)
        self._faults.extend(fault for _ in range(n))

    def delay_next(self, seconds: float, n: int = 1) -> None:
        """Hold the next ``n`` requests ``seconds`` before answering (stops if the client left)."""
        self._faults.extend(_Fault("delay", seconds=seconds) for _ in range(n))

    def report_before_answering(
        self, post_to: str, status: str, error_code: int | None = None
    ) -> None:
        """From now on, post a status callback (``status``) for each message it creates to
        ``post_to`` before answering the creation: the report reaches the bot before the
        sender knows the message's sid, as it can with the real API."""
        self._report_first = (post_to, status, error_code)

    def fail_randomly(
        self,
        rng: random.Random,
        *,
        p5xx: float = 0.1,
        p429: float = 0.0,
        ptimeout: float = 0.0,
        popt_out: float = 0.0,
        delay: float = 5.0,
        retry_after: float | None = 1,
    ) -> None:
        """Make a share of message creations misbehave, drawn from ``rng`` (seed it).

        Each creation independently: with ``p5xx`` a server error (500 or 503, Twilio's JSON or
        an HTML page); with ``p429`` code 20429 with ``Retry-After: retry_after`` (None leaves
        the header out); with ``ptimeout`` held ``delay`` seconds (make it longer than the
        client's time-out) and then answered as usual, so the message is created although the
        client gave up, as the real API may; with ``popt_out`` the recipient replies STOP now
        (21610, and for every later send too). The draw depends only on the seed taken from
        ``rng``, the ``To`` number and how many creations it has had, so a test sees the same
        faults whatever order concurrent sends arrive in. Queued faults go first; ``outcomes``
        records what was shown.
        """
        if min(p5xx, p429, ptimeout, popt_out) < 0 or p5xx + p429 + ptimeout + popt_out > 1:
            raise ValueError("the probabilities must be at least 0 and add up to at most 1")
        self._random = _RandomFaults(
            rng.getrandbits(64), p5xx, p429, ptimeout, popt_out, delay, retry_after
        )

    # -- what it saw ---------------------------------------------------------------------------

    @property
    def sent(self) -> list[dict[str, Any]]:
        """The Message resources created so far, oldest first."""
        return list(self.messages.values())

    def accepted_per_number(self) -> Counter[str]:
        """How many messages were created, per ``To`` number, whether or not the client heard
        the answer: Twilio's own count, to check a sender's records against."""
        return Counter(o.to for o in self.outcomes if o.status == 201)

    def signature(self, url: str, params: dict[str, str]) -> str:
        """``X-Twilio-Signature`` for a request to ``url`` with form ``params``."""
        return str(RequestValidator(self.auth_token).compute_signature(url, params))

    # -- Twilio calling the bot ----------------------------------------------------------------

    async def post_status(
        self,
        callback_url: str,
        message_sid: str,
        status: str,
        error_code: int | None = None,
        *,
        signed_url: str | None = None,
    ) -> httpx.Response:
        """POST a status callback for ``message_sid`` to ``callback_url``, as Twilio does.

        The signature covers ``signed_url``, by default the ``StatusCallback`` the message was
        created with (what Twilio signs), else ``callback_url``. ``To``/``From`` come from the
        stored message when the fake created it.
        """
        message = self.messages.get(message_sid, {})
        params = {
            "ApiVersion": API_VERSION,
            "AccountSid": self.account_sid,
            "MessageSid": message_sid,
            "SmsSid": message_sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "To": message.get("to") or "+923001234567",
            "From": message.get("from") or "+15005550006",
        }
        if message.get("messaging_service_sid"):
            params["MessagingServiceSid"] = message["messaging_service_sid"]
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        if status in ("delivered", "undelivered"):
            params["RawDlrDoneDate"] = datetime.now(UTC).strftime("%y%m%d%H%M")
        if message:
            message["status"] = status
            message["error_code"] = error_code
        url = signed_url or message.get("_status_callback") or callback_url
        return await self._post_signed(callback_url, url, params)

    async def post_inbound(
        self,
        url: str,
        from_: str,
        body: str,
        *,
        to: str = "+15005550006",
        message_sid: str | None = None,
        signed_url: str | None = None,
    ) -> httpx.Response:
        """POST an incoming SMS webhook to ``url``, signed over ``signed_url`` (default ``url``)."""
        sid = message_sid or new_sid()
        params = {
            "ApiVersion": API_VERSION,
            "AccountSid": self.account_sid,
            "MessageSid": sid,
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "SmsStatus": "received",
            "From": from_,
            "To": to,
            "Body": body,
            "NumMedia": "0",
            "NumSegments": str(count_segments(body).segments),
            "FromCountry": "PK",
            "ToCountry": "US",
        }
        return await self._post_signed(url, signed_url or url, params)

    async def _post_signed(
        self, url: str, signed_url: str, params: dict[str, str]
    ) -> httpx.Response:
        headers = {
            "X-Twilio-Signature": self.signature(signed_url, params),
            "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
            "User-Agent": "TwilioProxy/1.1",
        }
        async with http_client(timeout=10.0) as client:
            return await client.post(url, data=params, headers=headers)

    # -- the REST API --------------------------------------------------------------------------

    async def _record(self, request: Request) -> RecordedRequest:
        form = await request.form()
        recorded = RecordedRequest(
            method=request.method,
            path=request.url.path,
            headers=dict(request.headers),
            form={key: str(value) for key, value in form.items()},
            auth=basic_auth(request.headers.get("authorization")),
        )
        self.requests.append(recorded)
        return recorded

    async def _misbehave(self, request: Request) -> Response | None:
        if not self._faults:
            return None
        fault = self._faults.popleft()
        if fault.kind == "delay":
            await _stall(request, fault.seconds)
            return None
        if fault.kind == "rate_limit":
            headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            return twilio_error(429, 20429, "Too Many Requests", headers=headers)
        if fault.kind == "service":
            problem = {
                "type": f"https://www.twilio.com/docs/errors/{fault.code}",
                "title": fault.title,
                "status": fault.status,
                "code": fault.code,
                "detail": fault.detail,
                "instance": request.url.path,
            }
            return JSONResponse(
                problem, status_code=fault.status, media_type="application/problem+json"
            )
        if not fault.json_body:
            page = f"<html><body><h1>{fault.status}</h1></body></html>"
            return Response(page, status_code=fault.status, media_type="text/html")
        messages = {503: (20503, "Service unavailable")}
        code, text = messages.get(fault.status, (20500, "An internal server error has occurred"))
        return twilio_error(fault.status, code, text)

    def _unauthorized(self, recorded: RecordedRequest, account_sid: str) -> Response | None:
        if recorded.auth != (self.account_sid, self.auth_token):
            body = {
                "code": 20003,
                "detail": "Your AccountSid or AuthToken was incorrect.",
                "message": "Authentication Error - invalid username",
                "more_info": "https://www.twilio.com/docs/errors/20003",
                "status": 401,
            }
            headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'}
            return JSONResponse(body, status_code=401, headers=headers)
        if account_sid != self.account_sid:
            return twilio_error(
                404, 20404, f"The requested resource /{API_VERSION}/Accounts/... was not found"
            )
        return None

    async def _create(self, request: Request) -> Response:
        self.in_flight += 1
        try:
            return await self._answer_create(request)
        finally:
            self.in_flight -= 1

    async def _answer_create(self, request: Request) -> Response:
        recorded = await self._record(request)
        to = recorded.form.get("To", "")
        self._sends_to[to] += 1
        nth = self._sends_to[to]
        shown = "queued" if self._faults else self._draw_fault(to, nth)
        held = bool(self._faults) and self._faults[0].kind == "delay"
        early = await self._misbehave(request)
        if early is None:
            early = self._unauthorized(recorded, request.path_params["account_sid"])
        if early is None:
            early = self._validate(recorded.form)
        left = held and await request.is_disconnected()
        if early is not None:
            self.outcomes.append(SendOutcome(to, early.status_code, shown, left, None, nth))
            return early
        message = self._message(recorded.form)
        self.messages[message["sid"]] = message
        self.outcomes.append(SendOutcome(to, 201, shown, left, message["sid"], nth))
        if self._report_first is not None:
            post_to, status, error_code = self._report_first
            report = await self.post_status(post_to, message["sid"], status, error_code)
            report.raise_for_status()
        return JSONResponse(_public(message), status_code=201)

    def _draw_fault(self, to: str, nth: int) -> str | None:
        """Queue the random fault (if any) for the ``nth`` creation to ``to``; its name."""
        if self._random is None:
            return None
        drawn = self._random.draw(to, nth)
        if drawn is None:
            return None
        shown, fault = drawn
        if fault is not None:
            self._faults.appendleft(fault)
        if shown == "opt_out":
            self.opted_out.add(to)
        return shown

    async def _refused(self, request: Request) -> Response | None:
        """Record a read; the answer when it is refused (a queued fault, the credentials)."""
        recorded = await self._record(request)
        early = await self._misbehave(request)
        if early is None:
            early = self._unauthorized(recorded, request.path_params["account_sid"])
        return early

    async def _fetch(self, request: Request) -> Response:
        early = await self._refused(request)
        if early is not None:
            return early
        message = self.messages.get(request.path_params["sid"])
        if message is None:
            return twilio_error(404, 20404, "The requested resource was not found")
        return JSONResponse(_public(message))

    async def _fetch_account(self, request: Request) -> Response:
        early = await self._refused(request)
        if early is not None:
            return early
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}"
        subresources = {
            "messages": "Messages",
            "calls": "Calls",
            "incoming_phone_numbers": "IncomingPhoneNumbers",
            "balance": "Balance",
        }
        return JSONResponse(
            {
                "auth_token": self.auth_token,
                "date_created": self.created,
                "date_updated": self.created,
                "friendly_name": self.friendly_name,
                "owner_account_sid": self.account_sid,
                "sid": self.account_sid,
                "status": self.account_status,
                "subresource_uris": {k: f"{uri}/{v}.json" for k, v in subresources.items()},
                "type": self.account_type,
                "uri": f"{uri}.json",
            }
        )

    def _validate(self, form: dict[str, str]) -> Response | None:
        to = form.get("To", "")
        from_ = form.get("From", "")
        service = form.get("MessagingServiceSid", "")
        body = form.get("Body", "")
        callback = form.get("StatusCallback")
        checks: Iterable[tuple[bool, int, str]] = (
            (not to, 21604, "A 'To' phone number is required."),
            (not from_ and not service, 21603, "A 'From' phone number is required."),
            (not body and "MediaUrl" not in form, 21602, "Message body is required."),
            (
                len(body) > MAX_BODY,
                21617,
                "The concatenated message body exceeds the 1600 character limit.",
            ),
            (not _E164.fullmatch(to), 21211, f"Invalid 'To' Phone Number: {to}"),
            (
                bool(from_) and not _E164.fullmatch(from_),
                21212,
                f"Invalid From Number (caller ID): {from_}",
            ),
            (
                bool(from_) and self.numbers is not None and from_ not in self.numbers,
                21606,
                f"The From phone number {from_} is not a valid, SMS-capable inbound phone "
                "number or short code for your account.",
            ),
            (
                bool(service) and not _SERVICE_SID.fullmatch(service),
                21705,
                f"The Messaging Service Sid {service} is invalid.",
            ),
            (
                callback is not None and not _is_http_url(callback),
                21609,
                "Invalid StatusCallback url",
            ),
            (to in self.opted_out, 21610, "Attempt to send to unsubscribed recipient"),
            (to in self.landlines, 21614, f"'To' number {to} is not a valid mobile number"),
        )
        for failed, code, message in checks:
            if failed:
                return twilio_error(400, code, message)
        return None

    def _message(self, form: dict[str, str]) -> dict[str, Any]:
        sid = new_sid()
        now = format_datetime(datetime.now(UTC))
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}"
        body = form["Body"]
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From") or None,
            "messaging_service_sid": form.get("MessagingServiceSid") or None,
            "num_media": "0",
            "num_segments": str(count_segments(body).segments),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued" if form.get("From") else "accepted",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": form["To"],
            "uri": f"{uri}.json",
            "_status_callback": form.get("StatusCallback"),
        }


def _public(message: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in message.items() if not key.startswith("_")}


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


async def _stall(request: Request, seconds: float) -> None:
    """Wait ``seconds``, or less if the client hangs up first (so shutdown stays quick)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        if await request.is_disconnected():
            return
        await asyncio.sleep(min(left, 0.02))
