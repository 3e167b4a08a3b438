"""Telegram through python-telegram-bot: the ``telegram`` channel and its webhook secret check.

:class:`TelegramChannel` sends with a ``telegram.Bot`` that it is given (build one with
:func:`build_bot`; initialise it with ``async with bot:`` or let the ``Application`` do it).
Texts go out in HTML parse mode with the content escaped, cut at Telegram's 4096 characters by
:func:`bot.core.telegram_text.split_text`; buttons become an inline keyboard on the last part.
What goes wrong becomes the channel error family of :mod:`bot.channels.base`::

    telegram.error.TelegramError
    ├── RetryAfter (429, flood control)            -> Retryable(after=retry_after seconds)
    ├── Forbidden (403)
    │   ├── "user is deactivated"                  -> RecipientGone(status="invalid")
    │   └── blocked by the user, kicked, cannot initiate a conversation, …
    │                                              -> RecipientGone(status="blocked")
    ├── ChatMigrated (the group moved)             -> RecipientGone(status="invalid")
    ├── NetworkError
    │   ├── BadRequest (400)
    │   │   ├── "chat not found", "user not found", PEER_ID_INVALID
    │   │   │                                      -> RecipientGone(status="invalid")
    │   │   └── anything else                      -> Permanent("telegram BadRequest: …")
    │   ├── TimedOut                               -> Retryable
    │   └── 5xx, 502, connection errors            -> Retryable
    └── InvalidToken (401/404), Conflict, …        -> Permanent

A reply that cannot be sent at all — no text, a button with an empty label or callback data
over 64 bytes — is a bug in whoever built it and raises ``ValueError`` before any request.

Reasons never carry the message text; log lines carry the chat id masked.

Run the process with ``PTB_TIMEDELTA=true``: PTB 22 otherwise warns (``PTBDeprecationWarning``)
each time it builds a ``RetryAfter``, which under ``-W error`` (the test suite) replaces the
429 itself. Either way ``Retryable.after`` is seconds as a float.
"""

from __future__ import annotations

import hmac
import html
import logging
import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Literal

import aiohttp
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.request import BaseRequest, HTTPXRequest

from bot.clock import SYSTEM, Clock
from bot.config import Settings
from bot.core.decision import Button, Channel, ContactStatus, Reply
from bot.core.phones import mask
from bot.core.telegram_text import TEXT_LIMIT, layout_buttons, split_text

from .aiohttp_request import AiohttpRequest
from .base import (
    ChannelError,
    Permanent,
    RecipientGone,
    Retryable,
    SendResult,
    scrub_phone_numbers,
)

log = logging.getLogger(__name__)

SECRET_TOKEN_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105  # a header name

HttpClient = Literal["aiohttp", "httpx"]

# Enough for the dispatcher's ~30 sends a second plus webhook replies, with room to spare;
# a request that finds the pool full waits up to the pool time-out, then fails as TimedOut.
DEFAULT_POOL_SIZE = 32
DEFAULT_TIMEOUT = 10.0
DEFAULT_POOL_TIMEOUT = 5.0
# How long a later part of a long text may wait out flood control (Telegram allows about one
# message a second per chat) before the send gives up.
DEFAULT_PART_WAIT = 3.0

# BadRequest descriptions that mean the chat itself is unreachable (PTB drops Telegram's
# "Bad Request: " prefix and capitalises the rest, so compare in lower case).
_CHAT_ID = re.compile(r"-?[0-9]{1,20}")
_GONE_BAD_REQUESTS = ("chat not found", "user not found", "peer_id_invalid", "chat_id_invalid")


class TelegramChannel:
    """The ``telegram`` channel: ``to`` is the chat id, as the contact's address stores it."""

    channel: Channel = "telegram"

    def __init__(
        self,
        bot: Bot,
        *,
        text_limit: int = TEXT_LIMIT,
        part_wait: float = DEFAULT_PART_WAIT,
        clock: Clock = SYSTEM,
    ) -> None:
        self._bot = bot
        self._clock = clock
        # False while the bot has not started (the Bot API unreachable or refusing the
        # token): sends are then Retryable, not tried.
        self.ready = True
        self._text_limit = text_limit
        self._part_wait = part_wait

    @property
    def bot(self) -> Bot:
        return self._bot

    @staticmethod
    def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
        """The inline keyboard for ``reply``'s buttons (None without buttons)."""
        rows = layout_buttons(reply.buttons)
        return _keyboard(rows) if rows else None

    async def send(self, to: str, reply: Reply) -> SendResult:
        """Send ``reply`` to chat ``to``; return ``"<chat_id>:<message_id>"`` of the last part.

        Message ids are unique only within a chat, hence the chat id in the provider id. A
        text over 4096 characters goes as several messages in order, the buttons on the last.
        Flood control on a later part is waited out here when it asks for at most
        ``part_wait`` seconds; if a later part still fails, the earlier ones have been
        delivered and a retry sends them again (the reason names the part). Raises
        :class:`Retryable`, :class:`RecipientGone` or :class:`Permanent` as the module
        docstring maps them; ``ValueError`` for a reply Telegram could never accept.
        """
        chat_id = _chat_id(to)
        rows = layout_buttons(reply.buttons)
        parts = split_text(reply.text, self._text_limit)
        if not parts:
            raise ValueError("a Telegram message needs text, and this reply has none")
        markup = _keyboard(rows) if rows else None
        message_id = 0
        for number, part in enumerate(parts, start=1):
            last = number == len(parts)
            try:
                message = await self._send_part(
                    chat_id, part, markup if last else None, later=number > 1
                )
            except TelegramError as exc:
                where = f" (part {number} of {len(parts)})" if number > 1 else ""
                error = _translate(exc, where)
                log.warning(
                    "telegram send to=%s failed: %s: %s", mask(to), type(error).__name__, error
                )
                raise error from exc
            message_id = message.message_id
            log.debug("telegram part %d/%d to=%s: %r", number, len(parts), mask(to), part)
        log.info("telegram send to=%s message_id=%s parts=%d", mask(to), message_id, len(parts))
        return SendResult(provider_id=f"{chat_id}:{message_id}", status="sent")

    async def _send_part(
        self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None, *, later: bool
    ) -> Message:
        escaped = html.escape(text, quote=False)
        try:
            return await self._bot.send_message(
                chat_id, escaped, parse_mode=ParseMode.HTML, reply_markup=markup
            )
        except RetryAfter as exc:
            # Flood control on a later part: the earlier ones are delivered, and a retry of the
            # whole reply would send them twice, so wait here if the wait is short.
            wait = _seconds(exc.retry_after)
            if not later or wait > self._part_wait:
                raise
        log.info("telegram flood control: next part to=%s in %.1fs", mask(str(chat_id)), wait)
        await self._clock.sleep(wait)
        return await self._bot.send_message(
            chat_id, escaped, parse_mode=ParseMode.HTML, reply_markup=markup
        )


def translate_error(exc: TelegramError) -> ChannelError:
    """Our channel error for a python-telegram-bot error, as the module docstring maps them.

    Also for the handlers' own calls (answering a callback, editing a message).
    """
    return _translate(exc, "")


def _translate(exc: TelegramError, where: str) -> ChannelError:
    reason = f"telegram {type(exc).__name__}: {scrub_phone_numbers(exc.message)}{where}"
    if isinstance(exc, RetryAfter):
        return Retryable(reason, after=_seconds(exc.retry_after), throttled=True)
    if isinstance(exc, Forbidden):
        gone: ContactStatus = "invalid" if "deactivated" in exc.message.lower() else "blocked"
        return RecipientGone(reason, status=gone)
    if isinstance(exc, ChatMigrated):
        return RecipientGone(reason, status="invalid")
    if isinstance(exc, BadRequest):
        if any(words in exc.message.lower() for words in _GONE_BAD_REQUESTS):
            return RecipientGone(reason, status="invalid")
        return Permanent(reason)
    if isinstance(exc, NetworkError):  # TimedOut, 5xx, connection errors
        return Retryable(reason)
    return Permanent(reason)


def build_bot(
    settings: Settings,
    *,
    connection_pool_size: int = DEFAULT_POOL_SIZE,
    timeout: float = DEFAULT_TIMEOUT,
    pool_timeout: float = DEFAULT_POOL_TIMEOUT,
    http: HttpClient = "aiohttp",
    trace_configs: Sequence[aiohttp.TraceConfig] = (),
) -> Bot:
    """A ``telegram.Bot`` for ``settings.telegram_bot_token`` at ``TELEGRAM_API_BASE_URL``.

    PTB calls ``base_url + token + "/" + method``, so ``base_url`` is the API root + ``/bot``
    and the bot calls ``{root}/bot{token}/{method}``; files come from
    ``{root}/file/bot{token}/{path}``. ``timeout`` bounds connecting, writing and reading each
    request (``get_updates`` adds its long-poll time-out to the read). The bot is not
    initialised: use ``async with bot:`` or hand it to an ``Application``. Raises
    ``ValueError`` without a token.

    ``http`` picks the HTTP client under PTB: aiohttp (:class:`AiohttpRequest`), or httpx
    (PTB's own ``HTTPXRequest``), which costs several times the CPU a request
    (bench/bench_broadcast.py measures both). ``trace_configs`` (aiohttp only) see every
    request but the long polls.
    """
    if settings.telegram_bot_token is None:
        raise ValueError("Telegram needs TELEGRAM_BOT_TOKEN")
    token = settings.telegram_bot_token.get_secret_value()
    if not token:
        raise ValueError("Telegram needs TELEGRAM_BOT_TOKEN")
    root = settings.telegram_api_base_url.rstrip("/")
    return Bot(
        token,
        base_url=f"{root}/bot",
        base_file_url=f"{root}/file/bot",
        request=_request(http, connection_pool_size, timeout, pool_timeout, trace_configs),
        # One long poll at a time; a second getUpdates would end the first with a Conflict.
        get_updates_request=_request(http, 1, timeout, pool_timeout),
    )


def verify_secret_token(expected: str | None, given: str | None) -> bool:
    """True when ``given`` (the ``X-Telegram-Bot-Api-Secret-Token`` header) is ``expected``.

    Constant-time. False when either is missing or empty: a webhook without a configured
    secret accepts nothing.
    """
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def _request(
    http: HttpClient,
    pool_size: int,
    timeout: float,
    pool_timeout: float,
    trace_configs: Sequence[aiohttp.TraceConfig] = (),
) -> BaseRequest:
    if http == "aiohttp":
        return AiohttpRequest(
            connection_pool_size=pool_size,
            connect_timeout=timeout,
            read_timeout=timeout,
            write_timeout=timeout,
            pool_timeout=pool_timeout,
            trace_configs=trace_configs,
        )
    if trace_configs:
        raise ValueError("trace_configs are aiohttp's: use http='aiohttp'")
    return HTTPXRequest(
        connection_pool_size=pool_size,
        connect_timeout=timeout,
        read_timeout=timeout,
        write_timeout=timeout,
        pool_timeout=pool_timeout,
    )


def _chat_id(to: str) -> int:
    # Stricter than int(): a phone number such as "+923001234567" is not a chat id.
    if _CHAT_ID.fullmatch(to) is None:
        raise RecipientGone(f"telegram: address {mask(to)} is not a chat id", status="invalid")
    return int(to)


def _keyboard(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in rows]
    )


def _seconds(value: int | float | timedelta) -> float:
    """``RetryAfter.retry_after`` in seconds: an int by default in PTB 22, a timedelta when
    ``PTB_TIMEDELTA`` is set (the future default)."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)
