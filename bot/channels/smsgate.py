"""SMS through an Android phone running SMSGate (SMS Gateway for Android).

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

The phone's webhooks (their signatures and events) are read by
:mod:`bot.channels.smsgate_webhooks`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar

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

DEFAULT_TIMEOUT = 15.0

# Retry-After of the last gateway answer in this task: the library's APIError keeps only the
# JSON body, so an httpx response hook (installed by build_smsgate_client) leaves it here.
_retry_after: ContextVar[float | None] = ContextVar("smsgate_retry_after", default=None)


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


def build_smsgate_client(
    settings: Settings,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    response_hooks: Sequence[Callable[[httpx.Response], Awaitable[None]]] = (),
) -> AsyncAPIClient:
    """An open ``AsyncAPIClient`` for ``settings.smsgate_url`` over an httpx client.

    ``SMSGATE_URL`` is the API root the library appends ``/messages`` to: the phone itself in
    local mode (``http://192.168.1.10:8080``) or ``https://api.sms-gate.app/3rdparty/v1``. With
    ``SMSGATE_USERNAME`` the password is sent with basic auth, without it as a bearer token.
    Close it with :func:`close_smsgate_client`. Raises ``ValueError`` without a URL or password.
    ``response_hooks`` are more httpx response hooks (``outreach doctor`` reads the ``Date``
    of the answers).
    """
    if not settings.smsgate_url or settings.smsgate_password is None:
        raise ValueError("SMSGate needs SMSGATE_URL and SMSGATE_PASSWORD")
    hooks = {"response": [_remember_retry_after, *response_hooks]}
    http = httpx.AsyncClient(timeout=timeout, event_hooks=hooks)
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


def _translate(exc: APIError) -> ChannelError:
    status = exc.status_code
    body = exc.response if isinstance(exc.response, dict) else {}
    message = body.get("message")
    detail = scrub_phone_numbers(str(message)) if message else "no message"
    reason = f"smsgate HTTP {status}: {detail}"
    if status is None or status == 429 or status >= 500:
        return Retryable(reason, after=_retry_after.get(), throttled=status == 429)
    if status in (401, 403):
        return Permanent(f"{reason} (check SMSGATE_USERNAME and SMSGATE_PASSWORD)")
    return Permanent(reason)


async def _remember_retry_after(response: httpx.Response) -> None:
    _retry_after.set(parse_retry_after(response.headers.get("Retry-After")))
