"""SMS through Twilio's Programmable Messaging REST API.

:class:`TwilioSMS` sends with ``client.messages.create_async`` on a ``twilio.rest.Client``
that it is given (build one with :func:`build_twilio_client`, inside the running loop), and
turns what goes wrong into the channel error family of :mod:`bot.channels.base`::

    TwilioRestException / TwilioServiceException (RFC 9457; not a TwilioRestException)
    ├── HTTP 429, code 20429, 30001 (queue overflow), 14107, 30022 (rate limits),
    │   HTTP 5xx                                  -> Retryable(after=Retry-After or None)
    ├── 21610 (recipient replied STOP)            -> RecipientGone(status="opted_out")
    ├── 21211, 21614, 30005, 30006 (no such mobile number, landline)
    │                                             -> RecipientGone(status="invalid")
    └── any other 4xx (auth 20003, 21612 no route from our sender, 21617 body too long,
        30003/30004 handset unreachable or blocked, …)
                                                  -> Permanent("twilio <code> …")
    asyncio time-out, aiohttp connection errors   -> Retryable

Reasons carry the Twilio code and never a full phone number. The library leaves
``AsyncTwilioHttpClient`` without any time-out (it passes ``timeout=None`` to aiohttp, which
means "none"), so :class:`TwilioSMS` bounds every send itself.

Twilio's webhooks (signatures, inbound and status forms, TwiML) are read by
:mod:`bot.channels.twilio_webhooks`.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Sequence
from contextvars import ContextVar
from types import SimpleNamespace
from typing import Any

import aiohttp
from twilio.auth_strategy.auth_strategy import AuthStrategy
from twilio.auth_strategy.auth_type import AuthType
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.credential.credential_provider import CredentialProvider
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from bot.config import Settings
from bot.core.decision import Channel, Reply
from bot.core.phones import mask

from .base import (
    ChannelError,
    Permanent,
    RecipientGone,
    Retryable,
    SendResult,
    parse_retry_after,
    scrub_phone_numbers,
)
from .twilio_webhooks import CONTACT_GONE, STATUS_CALLBACK_PATH

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 15.0

# Throttling and queueing: the message may go through later.
_RETRYABLE_CODES = frozenset({20429, 30001, 14107, 30022})
# Short words of our own for the usual codes, so reasons need not repeat Twilio's messages
# (which echo phone numbers).
_CODE_WORDS = {
    20003: "authentication failed: check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN",
    20429: "too many requests",
    21211: "invalid 'To' number",
    21408: "sending to this region is not enabled",
    21602: "message body is required",
    21603: "a 'From' number or messaging service is required",
    21604: "a 'To' number is required",
    21606: "the 'From' number cannot send SMS for this account",
    21608: "trial accounts may only send to verified numbers",
    21610: "the recipient has opted out (replied STOP)",
    21612: "no route from our sender to this number",
    21614: "'To' is not a mobile number",
    21617: "message body exceeds 1600 characters",
    30001: "queue overflow",
    30003: "unreachable destination handset",
    30004: "message blocked",
    30005: "unknown destination handset",
    30006: "landline or unreachable carrier",
    30007: "filtered by the carrier",
    30008: "unknown delivery error",
}


# The Retry-After of the last Twilio answer seen in this task: the library's exceptions carry
# no headers, so an aiohttp trace hook (installed by build_twilio_client) leaves it here.
_retry_after: ContextVar[float | None] = ContextVar("twilio_retry_after", default=None)


class TwilioSMS:
    """The ``sms`` channel through Twilio.

    ``client`` is a ``twilio.rest.Client`` with an ``AsyncTwilioHttpClient`` (see
    :func:`build_twilio_client`). Messages go from ``from_number``, or from the Messaging
    Service ``messaging_service_sid`` (at least one is required), and ask Twilio to report
    their fate to ``status_callback``. Each send waits at most ``timeout`` seconds.
    """

    channel: Channel = "sms"

    def __init__(
        self,
        client: Client,
        *,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        status_callback: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if not from_number and not messaging_service_sid:
            raise ValueError("TwilioSMS needs a from_number or a messaging_service_sid")
        self._client = client
        self._sender: dict[str, str] = {}
        if from_number:
            self._sender["from_"] = from_number
        if messaging_service_sid:
            self._sender["messaging_service_sid"] = messaging_service_sid
        if status_callback:
            self._sender["status_callback"] = status_callback
        self._timeout = timeout

    @classmethod
    def from_settings(
        cls, client: Client, settings: Settings, *, timeout: float = DEFAULT_TIMEOUT
    ) -> TwilioSMS:
        """A sender configured from ``settings`` (status callbacks need ``public_base_url``)."""
        return cls(
            client,
            from_number=settings.twilio_from_number,
            messaging_service_sid=settings.twilio_messaging_service_sid,
            status_callback=public_url_for(settings, STATUS_CALLBACK_PATH),
            timeout=timeout,
        )

    async def send(self, to: str, reply: Reply) -> SendResult:
        """Hand ``reply`` to Twilio for ``to`` (E.164).

        Returns the message SID and Twilio's segment count. Raises :class:`Retryable`,
        :class:`RecipientGone` or :class:`Permanent` as the module docstring maps them.
        """
        _retry_after.set(None)
        try:
            async with asyncio.timeout(self._timeout):
                message = await self._client.messages.create_async(
                    to=to, body=reply.text, **self._sender
                )
        except TwilioRestException as exc:
            error = _translate(exc.status, exc.code, str(exc.msg))
            raise self._failed(to, error) from exc
        except TwilioServiceException as exc:
            error = _translate(exc.status, exc.code, exc.detail or exc.title)
            raise self._failed(to, error) from exc
        except TimeoutError as exc:
            error = Retryable(f"twilio: no answer within {self._timeout:g}s")
            raise self._failed(to, error) from exc
        except aiohttp.ClientError as exc:
            error = Retryable(f"twilio: connection failed: {type(exc).__name__}")
            raise self._failed(to, error) from exc
        sid = message.sid
        if not isinstance(sid, str) or not sid:
            # Accepted, but we cannot tell which message it is; sending again could duplicate.
            raise self._failed(to, Permanent("twilio: accepted without a message sid"))
        segments = _int_or_none(message.num_segments)
        log.info("twilio send to=%s sid=%s segments=%s", mask(to), sid, segments)
        return SendResult(provider_id=sid, status="sent", segments=segments)

    @staticmethod
    def _failed(to: str, error: ChannelError) -> ChannelError:
        log.warning("twilio send to=%s failed: %s: %s", mask(to), type(error).__name__, error)
        return error


def public_url_for(settings: Settings, path: str) -> str | None:
    """``PUBLIC_BASE_URL`` + ``path``: the URL Twilio calls and signs; None when unset."""
    if not settings.public_base_url:
        return None
    return settings.public_base_url.rstrip("/") + path


async def build_twilio_client(
    settings: Settings, *, trace_configs: Sequence[aiohttp.TraceConfig] = ()
) -> Client:
    """A ``twilio.rest.Client`` for ``settings``, talking to ``settings.twilio_api_base_url``.

    Must run inside the event loop that will use it (``AsyncTwilioHttpClient`` opens an
    aiohttp session). The base URL replaces ``https://api.twilio.com`` on the ``api`` domain,
    which serves the Message resource; ``TWILIO_EDGE``/``TWILIO_REGION`` from the environment
    are ignored, since they would rewrite that host. Close it with
    :func:`close_twilio_client`. Raises ``ValueError`` without an account SID and auth token.
    ``trace_configs`` are more aiohttp request hooks (``outreach doctor`` reads the ``Date``
    of the answers).
    """
    if not settings.twilio_account_sid or settings.twilio_auth_token is None:
        raise ValueError("Twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
    account_sid = settings.twilio_account_sid
    auth_token = settings.twilio_auth_token.get_secret_value()
    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(_remember_retry_after)
    http_client = AsyncTwilioHttpClient(trace_configs=[trace, *trace_configs])
    client = Client(
        account_sid,
        auth_token,
        http_client=http_client,
        credential_provider=_BasicCredentials(account_sid, auth_token),
    )
    client.edge = None
    client.region = None
    client.api.base_url = settings.twilio_api_base_url.rstrip("/")
    return client


async def close_twilio_client(client: Client) -> None:
    """Close the aiohttp session behind ``client``."""
    await client.http_client.close()


class _BasicHeader(AuthStrategy):  # type: ignore[misc]  # twilio ships no type information
    def __init__(self, header: str) -> None:
        super().__init__(AuthType.BASIC)
        self._header = header

    def get_auth_string(self) -> str:
        return self._header

    def requires_authentication(self) -> bool:
        return True


class _BasicCredentials(CredentialProvider):  # type: ignore[misc]  # as above
    """The account's HTTP basic auth, handed to twilio as a ready ``Authorization`` header.

    Given a username and password, ``AsyncTwilioHttpClient`` builds an ``aiohttp.BasicAuth``,
    which aiohttp 3.14 deprecates with a DeprecationWarning on every request; a credential
    provider's header takes its place (``ClientBase.request_async``) with the same bytes.
    """

    def __init__(self, account_sid: str, auth_token: str) -> None:
        super().__init__(AuthType.BASIC)
        token = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode("ascii")
        self._strategy = _BasicHeader(f"Basic {token}")

    def to_auth_strategy(self) -> AuthStrategy:
        return self._strategy


def _translate(status: int | None, code: int | None, message: str) -> ChannelError:
    words = _CODE_WORDS.get(code) if code is not None else None
    detail = words or scrub_phone_numbers(message)
    reason = f"twilio {code if code is not None else '-'} (HTTP {status}): {detail}"
    if status == 429 or code in _RETRYABLE_CODES or (status is not None and status >= 500):
        # The codes are throttling and queueing: sent faster than the account takes.
        throttled = status == 429 or code in _RETRYABLE_CODES
        return Retryable(reason, after=_retry_after.get(), throttled=throttled)
    if code in CONTACT_GONE:
        return RecipientGone(reason, status=CONTACT_GONE[code])
    return Permanent(reason)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


async def _remember_retry_after(
    session: aiohttp.ClientSession,
    context: SimpleNamespace,
    params: aiohttp.TraceRequestEndParams,
) -> None:
    _retry_after.set(parse_retry_after(params.response.headers.get("Retry-After")))
