"""A fake Telegram Bot API, Telegram's side of the webhook, and builders for real Update JSON.

``FakeTelegram(token).app`` serves ``/bot{token}/{method}`` (GET or POST; JSON bodies, or
url-encoded/multipart forms where, as python-telegram-bot sends them, strings go as they are
and everything else JSON-encoded) and answers like the Bot API: ``{"ok": true, "result": …}``
or ``{"ok": false, "error_code": …, "description": …[, "parameters": …]}``; another token gets
``401 Unauthorized``, an unknown method ``404 Not Found``. Method names are case-insensitive.

- ``getMe``: the bot user (its id is the number before ``:`` in the token).
- ``sendMessage``: text 1–4096 characters after entity parsing, else 400 ``message text is
  empty`` / ``message is too long``; ``parse_mode`` ``HTML`` is parsed loosely (Telegram's
  tags, the four named escapes and numeric ones; an unknown or unclosed tag is ``can't parse
  entities``) into plain ``text`` + ``entities`` with UTF-16 offsets; inline keyboards need
  ``callback_data`` of 1–64 bytes (400 ``BUTTON_DATA_INVALID``). Answers a Message:
  ``message_id`` counting per chat from 1, ``from`` the bot, ``chat``, ``date``, ``text``,
  ``entities``, ``reply_markup``. A blocked chat gets 403 ``Forbidden: bot was blocked by the
  user``, a deactivated one 403 ``Forbidden: user is deactivated``, a forgotten one 400
  ``chat not found``.
- ``editMessageText``: the bot's own messages only (400 ``message to edit not found``); the
  same text and markup again is 400 ``message is not modified: …``.
- ``answerCallbackQuery``: records the answer; a second answer to one query is 400 ``query is
  too old …``; text at most 200 characters.
- ``setMyCommands`` / ``getMyCommands`` / ``deleteMyCommands``: per ``scope`` and
  ``language_code``; commands 1–32 of ``[a-z0-9_]`` (400 ``BOT_COMMAND_INVALID``),
  descriptions 1–256 (``BOT_COMMAND_DESCRIPTION_INVALID``), at most 100
  (``BOT_COMMANDS_TOO_MUCH``), language codes empty or two lower-case letters.
- ``setWebhook`` / ``deleteWebhook`` / ``getWebhookInfo``: an https URL on port 443, 80, 88 or
  8443; ``secret_token`` at most 256 of ``[A-Za-z0-9_-]`` (empty means none, as on the real
  server); ``drop_pending_updates`` empties the queue. ``setWebhook`` with an empty URL
  removes the webhook. ``getWebhookInfo`` answers ``url`` (empty without a webhook),
  ``has_custom_certificate``, ``pending_update_count`` (the updates queued), and once
  :meth:`FakeTelegram.webhook_failed` has said so, ``last_error_date`` (Unix time) and
  ``last_error_message`` as Telegram reports its last failed delivery.
- ``getUpdates``: long polling. Holds the request until an update is queued (``push_update``)
  or ``timeout`` seconds pass; ``offset`` confirms (drops) every update with a smaller id, a
  negative one keeps only the last ``-offset``; ``limit`` 1–100; ``allowed_updates`` persists
  like on the real server. 409 ``Conflict`` while a webhook is set, and for a poll overtaken
  by a newer one.

Every call is recorded in ``calls`` (method, decoded params), even those that fail;
``sent_to``, ``texts_to``, ``calls_to``, ``commands_for`` read them back. ``fail_next``,
``rate_limit_next`` and ``delay_next`` queue misbehaviour (first in, first out, one request
each, for ``sendMessage`` unless told another method or ``None`` for any); ``enforce_rate``
answers 429 with ``retry_after`` to sends above a rate, counting every 429 in
``rate_limited``; ``fail_randomly`` makes a seeded share of sends fail (5xx, 429, time-outs,
a user blocking the bot).

Every ``sendMessage`` answer is also kept in ``outcomes`` (a :class:`SendOutcome`: chat,
status, the fault shown, whether the client had already hung up), so a test can count what the
provider accepted per chat (``accepted_per_chat``) without trusting the sender's records.
``in_flight`` counts requests being answered right now (a held one included).

``post_update`` plays Telegram calling the bot's webhook with the secret header. The module's
``*_update`` functions build Update dicts as Telegram sends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import random
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from types import EllipsisType
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from fakes.http import client as http_client

TEXT_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64
CALLBACK_ANSWER_LIMIT = 200
MAX_COMMANDS = 100
SECRET_TOKEN_HEADER = "X-Telegram-Bot-Api-Secret-Token"

DEFAULT_BOT_ID = 7000000001
DEFAULT_BOT_USERNAME = "DhanoteOutreachBot"
DEFAULT_BOT_NAME = "Dhanote IT Park"

_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_LANGUAGE = re.compile(r"[a-z]{2}")
_SECRET_CHARS = re.compile(r"[A-Za-z0-9_-]*")
_WEBHOOK_PORTS = frozenset({80, 88, 443, 8443})
_SCOPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
# Form fields that are strings even when they look like JSON ("123", "true").
_STRING_FIELDS = frozenset(
    {
        "text",
        "parse_mode",
        "url",
        "secret_token",
        "callback_query_id",
        "inline_message_id",
        "language_code",
        "ip_address",
        "business_connection_id",
        "message_effect_id",
        "caption",
    }
)
_BUTTON_ACTIONS = frozenset(
    {
        "callback_data",
        "url",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)
_HTML_ENTITIES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[^<>]*?)?)\s*>")
_ESCAPE = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6});")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HREF = re.compile(r"""href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")

_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_BLOCKED = "Forbidden: bot was blocked by the user"
_DEACTIVATED = "Forbidden: user is deactivated"
_POLL_STEP = 0.05  # how often a held getUpdates looks for a client that hung up


@dataclass(frozen=True)
class Call:
    """One request as the fake received it: the method as Telegram names it, decoded params."""

    method: str
    params: dict[str, Any]
    http_method: str = "POST"
    content_type: str = ""


@dataclass(frozen=True)
class _Fault:
    kind: str  # "status" | "rate_limit" | "delay"
    method: str | None
    status: int = 500
    json_body: bool = True
    retry_after: int = 1
    seconds: float = 0.0


@dataclass(frozen=True)
class SendOutcome:
    """How the fake answered one ``sendMessage``.

    ``status`` 200 means the message was accepted (stored, ``message_id`` set). ``fault`` names
    the misbehaviour shown: ``"5xx"``, ``"429"``, ``"timeout"`` (held past the client's
    time-out, then answered as usual) or ``"block"`` (the user blocked the bot just now) from
    :meth:`FakeTelegram.fail_randomly`, ``"queued"`` for a ``fail_next`` / ``rate_limit_next``
    / ``delay_next`` fault, None for none. ``client_left`` is True when the client had hung up
    before the answer: a message accepted that way is one the sender never heard of.
    ``nth`` numbers the sends to the chat in the order they arrived (from 1); ``outcomes`` is
    in the order they were answered, which differs when one was held. ``at`` is when it was
    answered, on the fake's clock.
    """

    chat_id: int | None
    status: int
    fault: str | None = None
    client_left: bool = False
    message_id: int | None = None
    nth: int = 0
    at: float = 0.0


@dataclass(frozen=True)
class _RandomFaults:
    """What :meth:`FakeTelegram.fail_randomly` set up: one draw per (chat, n-th send to it)."""

    seed: int
    p5xx: float
    p429: float
    ptimeout: float
    pblock: float
    delay: float
    retry_after: int

    def draw(self, chat_id: int, n: int) -> tuple[str, _Fault | None] | None:
        # Seeded by the chat and how many sends it has had, not by arrival order, so the
        # pattern is the same whatever order concurrent sends arrive in.
        rng = random.Random(f"{self.seed}:{chat_id}:{n}")
        x = rng.random()
        if x < self.p5xx:
            status = rng.choice((500, 502, 503, 504))
            return "5xx", _Fault(
                "status", "sendMessage", status=status, json_body=status not in (502, 504)
            )
        x -= self.p5xx
        if x < self.p429:
            return "429", _Fault("rate_limit", "sendMessage", retry_after=self.retry_after)
        x -= self.p429
        if x < self.ptimeout:
            return "timeout", _Fault("delay", "sendMessage", seconds=self.delay)
        x -= self.ptimeout
        if x < self.pblock:
            return "block", None
        return None


class ApiError(Exception):
    """Raised inside a method to answer ``{"ok": false, …}`` with ``status``."""

    def __init__(
        self, status: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


class FakeTelegram:
    """The Bot API for the bot with ``token``; see the module docstring."""

    def __init__(
        self,
        token: str,
        *,
        username: str = DEFAULT_BOT_USERNAME,
        first_name: str = DEFAULT_BOT_NAME,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token
        bot_id = token.partition(":")[0]
        self.bot_user: dict[str, Any] = {
            "id": int(bot_id) if bot_id.isdecimal() else DEFAULT_BOT_ID,
            "is_bot": True,
            "first_name": first_name,
            "username": username,
        }
        self.calls: list[Call] = []
        # The bot's messages by (chat id, message id), in the order they were sent.
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.callback_answers: dict[str, dict[str, Any]] = {}
        # Command lists by (scope as canonical JSON, language code).
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.webhook: dict[str, Any] | None = None
        # Telegram's last failed delivery to the webhook: (Unix time, message).
        self.webhook_error: tuple[int, str] | None = None
        self.blocked: set[int] = set()
        self.deactivated: set[int] = set()
        self.forgotten: set[int] = set()
        self.chats: dict[int, dict[str, Any]] = {}
        self.rate_limited = 0
        self.outcomes: list[SendOutcome] = []
        self.in_flight = 0
        self._clock = clock
        self._random: _RandomFaults | None = None
        self._sends_to: Counter[int] = Counter()
        self._faults: deque[_Fault] = deque()
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._rate: tuple[int | None, int | None, float] | None = None
        self._sends: deque[float] = deque()
        self._chat_sends: dict[int, deque[float]] = {}
        # The update queue is shared with test code that may run in another thread (serve()).
        self._lock = threading.Lock()
        self._updates: list[dict[str, Any]] = []
        self._allowed_updates: list[str] = []
        self._poll_generation = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._new_update: asyncio.Event | None = None
        self._methods: dict[str, Callable[[dict[str, Any]], Any]] = {
            "getMe": self._get_me,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
        }
        self._names = {name.lower(): name for name in [*self._methods, "getUpdates"]}
        self.app = Starlette(
            routes=[Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"])]
        )

    # -- telling it to misbehave -------------------------------------------------------------

    def block(self, chat_id: int) -> None:
        """The user blocked the bot: sends and edits to ``chat_id`` answer 403."""
        self.blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self.blocked.discard(chat_id)

    def deactivate(self, chat_id: int) -> None:
        """The user deleted their account: sends answer 403 ``user is deactivated``."""
        self.deactivated.add(chat_id)

    def webhook_failed(self, message: str, at: float | None = None) -> None:
        """Telegram could not deliver an update to the webhook at ``at`` (Unix time, default
        now), saying ``message`` (such as ``Wrong response from the webhook: 502 Bad
        Gateway``): ``getWebhookInfo`` reports it from now on."""
        self.webhook_error = (int(time.time() if at is None else at), message)

    def forget(self, chat_id: int) -> None:
        """The bot never met ``chat_id``: sends answer 400 ``chat not found``."""
        self.forgotten.add(chat_id)

    def fail_next(
        self,
        n: int = 1,
        status: int = 500,
        *,
        method: str | None = "sendMessage",
        json_body: bool | None = None,
    ) -> None:
        """Answer the next ``n`` calls to ``method`` (any if None) with ``status``.

        The body is Telegram's JSON error, or for 502/504 (by default) nginx's HTML page.
        """
        as_json = status not in (502, 504) if json_body is None else json_body
        fault = _Fault("status", method, status=status, json_body=as_json)
        self._faults.extend(fault for _ in range(n))

    def clear_faults(self) -> None:
        """Forget the faults still queued: answer normally from now on."""
        self._faults.clear()

    def rate_limit_next(
        self, n: int = 1, retry_after: int = 1, *, method: str | None = "sendMessage"
    ) -> None:
        """Answer the next ``n`` calls to ``method`` with 429 and ``parameters.retry_after``."""
        self._faults.extend(_Fault("rate_limit", method, retry_after=retry_after) for _ in range(n))

    def delay_next(self, seconds: float, n: int = 1, *, method: str | None = "sendMessage") -> None:
        """Hold the next ``n`` calls to ``method`` ``seconds`` before answering them."""
        self._faults.extend(_Fault("delay", method, seconds=seconds) for _ in range(n))

    def fail_randomly(
        self,
        rng: random.Random,
        *,
        p5xx: float = 0.1,
        p429: float = 0.0,
        ptimeout: float = 0.0,
        pblock: float = 0.0,
        delay: float = 5.0,
        retry_after: int = 1,
    ) -> None:
        """Make a share of ``sendMessage`` calls misbehave, drawn from ``rng`` (seed it).

        Each send independently: with ``p5xx`` a server error (500 or 503 as Telegram's JSON,
        502 or 504 as nginx's HTML page); with ``p429`` flood control (429 with
        ``retry_after``); with ``ptimeout`` held ``delay`` seconds (make it longer than the
        client's time-out) and then answered as usual, so the message is accepted although
        the client gave up, as a real provider may; with ``pblock`` the user blocks the bot
        now (403, and every later send to the chat too). The draw depends only on the seed
        taken from ``rng``, the chat and how many sends that chat has had, so the same test
        sees the same faults whatever order concurrent sends arrive in. Faults queued with
        ``fail_next`` and the like go first. ``outcomes`` records what was shown.
        """
        if min(p5xx, p429, ptimeout, pblock) < 0 or p5xx + p429 + ptimeout + pblock > 1:
            raise ValueError("the probabilities must be at least 0 and add up to at most 1")
        self._random = _RandomFaults(
            rng.getrandbits(64), p5xx, p429, ptimeout, pblock, delay, retry_after
        )

    def enforce_rate(
        self, per_second: int | None = 30, per_chat: int | None = 1, *, window: float = 1.0
    ) -> None:
        """Answer 429 to a ``sendMessage`` that would make more than ``per_second`` sends (or
        ``per_chat`` to one chat) in any ``window`` seconds; ``retry_after`` is the whole
        seconds until a slot frees (at least 1). None switches a limit off.
        """
        self._rate = (per_second, per_chat, window)

    # -- what it saw ---------------------------------------------------------------------------

    def accepted_per_chat(self) -> Counter[int]:
        """How many ``sendMessage`` calls were accepted, per chat, whether or not the client
        heard the answer: the provider's own count, to check a sender's records against."""
        return Counter(
            o.chat_id for o in self.outcomes if o.status == 200 and o.chat_id is not None
        )

    def busiest(self, window: float = 1.0) -> int:
        """The most ``sendMessage`` calls accepted within any ``window`` seconds: the rate
        the provider saw at its peak."""
        times = sorted(o.at for o in self.outcomes if o.status == 200)
        most, first = 0, 0
        for last, at in enumerate(times):
            while times[first] <= at - window:
                first += 1
            most = max(most, last - first + 1)
        return most

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """The params of every call to ``method``, oldest first."""
        return [call.params for call in self.calls if call.method == method]

    @property
    def sent(self) -> list[dict[str, Any]]:
        """Every message the bot sent (with later edits), oldest first."""
        return list(self.messages.values())

    def sent_to(self, chat_id: int) -> list[dict[str, Any]]:
        """The Message objects the bot sent to ``chat_id`` (with later edits), oldest first."""
        return [m for (chat, _), m in self.messages.items() if chat == chat_id]

    def texts_to(self, chat_id: int) -> list[str]:
        """The plain texts (entities parsed) of the bot's messages to ``chat_id``."""
        return [m["text"] for m in self.sent_to(chat_id)]

    def commands_for(
        self, language_code: str = "", scope: dict[str, Any] | None = None
    ) -> list[dict[str, str]]:
        """The command menu set for ``scope`` (default scope if None) and ``language_code``."""
        return list(self.commands.get((_scope_key(scope), language_code), []))

    @property
    def webhook_url(self) -> str | None:
        return self.webhook["url"] if self.webhook else None

    @property
    def webhook_secret(self) -> str | None:
        return (self.webhook or {}).get("secret_token") or None

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._updates)

    def add_message(
        self, chat_id: int, text: str, reply_markup: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Store a message as if the bot had sent it earlier (say, the menu a callback is on)."""
        return self._store_message(chat_id, text, [], reply_markup)

    # -- Telegram sending updates --------------------------------------------------------------

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue ``update`` for ``getUpdates`` (callable from any thread); return its id."""
        update_id = update["update_id"]
        if not isinstance(update_id, int):
            raise TypeError("update_id must be an int")
        with self._lock:
            self._updates.append(update)
            self._updates.sort(key=lambda u: int(u["update_id"]))
        self._wake()
        return update_id

    async def post_update(
        self,
        url: str,
        update: dict[str, Any],
        *,
        secret: str | EllipsisType | None = ...,
        client: httpx.AsyncClient | None = None,
    ) -> httpx.Response:
        """POST ``update`` to the bot's webhook ``url`` as Telegram does.

        The secret header carries ``secret`` (by default the one given to ``setWebhook``; None
        leaves the header out). Pass ``client`` to reuse connections.
        """
        token = self.webhook_secret if secret is ... else secret
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers[SECRET_TOKEN_HEADER] = token
        body = json.dumps(update, ensure_ascii=False).encode("utf-8")
        if client is not None:
            return await client.post(url, content=body, headers=headers)
        async with http_client(timeout=10.0) as own:
            return await own.post(url, content=body, headers=headers)

    # -- the HTTP side -------------------------------------------------------------------------

    async def _endpoint(self, request: Request) -> Response:
        self.in_flight += 1
        try:
            return await self._answer(request)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: Request) -> Response:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        raw_method = request.path_params["method"]
        method = self._names.get(raw_method.lower(), raw_method)
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        try:
            params = await _params(request, content_type)
        except ApiError as exc:
            self.calls.append(Call(method, {}, request.method, content_type))
            return self._error(exc)
        self.calls.append(Call(method, params, request.method, content_type))
        if request.path_params["token"] != self.token:
            return self._error(ApiError(401, "Unauthorized"))
        if method not in self._names.values():
            return self._error(ApiError(404, "Not Found"))
        fault = self._take_fault(method)
        shown = None if fault is None else "queued"
        nth = 0
        if method == "sendMessage":
            nth = self._count_send(params)
            if fault is None:
                shown, fault = self._draw_fault(params, nth)
        held = fault is not None and fault.kind == "delay"
        if fault is not None and held:
            await _stall(request, fault.seconds)
        result: Any = None
        if fault is not None and not held:
            response: Response = self._fault_response(fault)
        else:
            try:
                if method == "getUpdates":
                    result = await self._get_updates(params, request)
                else:
                    result = self._methods[method](params)
            except ApiError as exc:
                response = self._error(exc)
            else:
                if isinstance(result, tuple):
                    response = _ok(result[0], description=result[1])
                else:
                    response = _ok(result)
        answered_at = self._clock()
        if method == "sendMessage":
            chat_id = params.get("chat_id")
            self.outcomes.append(
                SendOutcome(
                    chat_id if isinstance(chat_id, int) else None,
                    response.status_code,
                    shown,
                    held and await request.is_disconnected(),
                    result.get("message_id") if isinstance(result, dict) else None,
                    nth,
                    answered_at,
                )
            )
        return response

    def _count_send(self, params: dict[str, Any]) -> int:
        """This ``sendMessage`` is the n-th to its chat (0 without a usable chat id)."""
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int):
            return 0
        self._sends_to[chat_id] += 1
        return self._sends_to[chat_id]

    def _draw_fault(self, params: dict[str, Any], nth: int) -> tuple[str | None, _Fault | None]:
        chat_id = params.get("chat_id")
        if self._random is None or not isinstance(chat_id, int):
            return None, None
        drawn = self._random.draw(chat_id, nth)
        if drawn is None:
            return None, None
        shown, fault = drawn
        if shown == "block":
            self.block(chat_id)
        return shown, fault

    def _take_fault(self, method: str) -> _Fault | None:
        for fault in self._faults:
            if fault.method is None or fault.method == method:
                self._faults.remove(fault)
                return fault
        return None

    def _fault_response(self, fault: _Fault) -> Response:
        if fault.kind == "rate_limit":
            return self._error(_too_many(fault.retry_after))
        if fault.json_body:
            return self._error(ApiError(fault.status, _STATUS_WORDS.get(fault.status, "Error")))
        words = _STATUS_WORDS.get(fault.status, "Error")
        page = (
            f"<html>\r\n<head><title>{fault.status} {words}</title></head>\r\n<body>\r\n"
            f"<center><h1>{fault.status} {words}</h1></center>\r\n<hr><center>nginx/1.18.0"
            "</center>\r\n</body>\r\n</html>\r\n"
        )
        return HTMLResponse(page, status_code=fault.status)

    def _error(self, exc: ApiError) -> JSONResponse:
        if exc.status == 429:
            self.rate_limited += 1
        body: dict[str, Any] = {
            "ok": False,
            "error_code": exc.status,
            "description": exc.description,
        }
        if exc.parameters:
            body["parameters"] = exc.parameters
        return JSONResponse(body, status_code=exc.status)

    # -- the methods ---------------------------------------------------------------------------

    def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = _chat_id(params)
        text, entities = _message_text(params)
        markup = _reply_markup(params.get("reply_markup"))
        self._check_chat(chat_id)
        self._check_rate(chat_id)
        return self._store_message(chat_id, text, entities, markup)

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        text, entities = _message_text(params)
        markup = _reply_markup(params.get("reply_markup"))
        if params.get("inline_message_id"):
            return True
        chat_id = _chat_id(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise ApiError(400, "Bad Request: message identifier is not specified")
        self._check_chat(chat_id)
        message = self.messages.get((chat_id, message_id))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        inline = markup if markup and "inline_keyboard" in markup else None
        if (
            message["text"] == text
            and message.get("entities", []) == entities
            and message.get("reply_markup") == inline
        ):
            raise ApiError(400, _NOT_MODIFIED)
        message["text"] = text
        _set_or_drop(message, "entities", entities)
        _set_or_drop(message, "reply_markup", inline)
        message["edit_date"] = int(time.time())
        return message

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = params.get("callback_query_id")
        if not isinstance(query_id, str) or not query_id or query_id in self.callback_answers:
            raise ApiError(400, _QUERY_TOO_OLD)
        if len(str(params.get("text") or "")) > CALLBACK_ANSWER_LIMIT:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self.callback_answers[query_id] = params
        return True

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        if len(commands) > MAX_COMMANDS:
            raise ApiError(400, "Bad Request: BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND.fullmatch(
                str(command.get("command", ""))
            ):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(params)
        if commands:
            self.commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self.commands.pop(key, None)
        return True

    def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, str]]:
        return list(self.commands.get(self._commands_key(params), []))

    def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    def _commands_key(self, params: dict[str, Any]) -> tuple[str, str]:
        language = params.get("language_code") or ""
        if not isinstance(language, str) or (language and not _LANGUAGE.fullmatch(language)):
            raise ApiError(400, "Bad Request: invalid language code specified")
        scope = params.get("scope")
        if scope is not None and (not isinstance(scope, dict) or scope.get("type") not in _SCOPES):
            raise ApiError(400, "Bad Request: can't parse BotCommandScope JSON object")
        return _scope_key(scope), language

    def _set_webhook(self, params: dict[str, Any]) -> tuple[bool, str]:
        url = params.get("url")
        if not isinstance(url, str):
            raise ApiError(400, 'Bad Request: parameter "url" is required')
        if not url:
            return self._delete_webhook(params)
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided")
        if (parts.port or 443) not in _WEBHOOK_PORTS:
            raise ApiError(
                400,
                "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443",
            )
        secret = params.get("secret_token") or ""
        if not isinstance(secret, str) or len(secret) > 256:
            raise ApiError(400, "Bad Request: secret token is too long")
        if not _SECRET_CHARS.fullmatch(secret):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        max_connections = params.get("max_connections", 40)
        if not isinstance(max_connections, int) or not 1 <= max_connections <= 100:
            raise ApiError(400, "Bad Request: invalid max_connections specified")
        if params.get("drop_pending_updates"):
            self._drop_updates()
        self.webhook = {
            "url": url,
            "secret_token": secret,
            "max_connections": max_connections,
            "allowed_updates": params.get("allowed_updates"),
            "ip_address": params.get("ip_address"),
        }
        return True, "Webhook was set"

    def _delete_webhook(self, params: dict[str, Any]) -> tuple[bool, str]:
        if params.get("drop_pending_updates"):
            self._drop_updates()
        was_set, self.webhook = self.webhook is not None, None
        return True, "Webhook was deleted" if was_set else "Webhook is already deleted"

    def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.pending_updates),
        }
        if self.webhook:
            info["max_connections"] = self.webhook["max_connections"]
            for key in ("ip_address", "allowed_updates"):
                if self.webhook[key]:
                    info[key] = self.webhook[key]
        if self.webhook_error is not None:
            info["last_error_date"], info["last_error_message"] = self.webhook_error
        return info

    async def _get_updates(self, params: dict[str, Any], request: Request) -> list[Any]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = _number(params, "offset", 0)
        limit = min(max(_number(params, "limit", 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(kind) for kind in allowed]
        self._confirm(int(offset))
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake()  # an older poll still waiting now ends with a Conflict
        event = self._event()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event.clear()
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only "
                    "one bot instance is running",
                )
            batch = self._batch(int(limit))
            left = deadline - loop.time()
            if batch or left <= 0 or await request.is_disconnected():
                return batch
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(left, _POLL_STEP)):
                    await event.wait()

    # -- helpers -------------------------------------------------------------------------------

    def _check_chat(self, chat_id: int) -> None:
        if chat_id in self.forgotten:
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self.deactivated:
            raise ApiError(403, _DEACTIVATED)
        if chat_id in self.blocked:
            raise ApiError(403, _BLOCKED)

    def _check_rate(self, chat_id: int) -> None:
        if self._rate is None:
            return
        per_second, per_chat, window = self._rate
        now = self._clock()
        chat_sends = self._chat_sends.setdefault(chat_id, deque())
        for sends, limit in ((self._sends, per_second), (chat_sends, per_chat)):
            while sends and sends[0] <= now - window:
                sends.popleft()
            if limit is not None and len(sends) >= limit:
                raise _too_many(max(1, math.ceil(sends[0] + window - now)))
        self._sends.append(now)
        chat_sends.append(now)

    def _store_message(
        self,
        chat_id: int,
        text: str,
        entities: list[dict[str, Any]],
        markup: dict[str, Any] | None,
    ) -> dict[str, Any]:
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        message: dict[str, Any] = {
            "message_id": next(counter),
            "from": dict(self.bot_user),
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            "text": text,
        }
        _set_or_drop(message, "entities", entities)
        if markup and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self.messages[(chat_id, message["message_id"])] = message
        return message

    def _chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id in self.chats:
            return dict(self.chats[chat_id])
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "Resident"}
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        return {"id": chat_id, "type": kind, "title": "Group"}

    def _event(self) -> asyncio.Event:
        if self._new_update is None:
            self._new_update = asyncio.Event()
        return self._new_update

    def _wake(self) -> None:
        loop, event = self._loop, self._new_update
        if loop is None or event is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            event.set()
        else:
            loop.call_soon_threadsafe(event.set)

    def _confirm(self, offset: int) -> None:
        with self._lock:
            if offset > 0:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            elif offset < 0:
                self._updates = self._updates[offset:]

    def _batch(self, limit: int) -> list[dict[str, Any]]:
        with self._lock:
            wanted = [u for u in self._updates if _allowed(u, self._allowed_updates)]
            return wanted[:limit]

    def _drop_updates(self) -> None:
        with self._lock:
            self._updates.clear()


_STATUS_WORDS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Time-out",
}
# Sent only when asked for in allowed_updates, as on the real server.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


def _ok(result: Any, *, description: str | None = None) -> Response:
    body: dict[str, Any] = {"ok": True, "result": result}
    if description:
        body["description"] = description
    try:
        return JSONResponse(body)
    except UnicodeEncodeError:  # a lone surrogate a test put in an update: JSON's escape
        return Response(json.dumps(body), media_type="application/json")


def _too_many(retry_after: int) -> ApiError:
    return ApiError(
        429,
        f"Too Many Requests: retry after {retry_after}",
        {"retry_after": retry_after},
    )


async def _params(request: Request, content_type: str) -> dict[str, Any]:
    params: dict[str, Any] = {k: _decode(k, v) for k, v in request.query_params.items()}
    if request.method != "POST":
        return params
    if content_type == "application/json":
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "Bad Request: can't parse JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "Bad Request: JSON object expected")
        params.update(body)
    elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        params.update({k: _decode(k, v) for k, v in form.items() if isinstance(v, str)})
    return params


def _decode(key: str, value: str) -> Any:
    """A form value as Telegram reads it: JSON for numbers, booleans, objects and arrays."""
    if key in _STRING_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _chat_id(params: dict[str, Any]) -> int:
    chat_id = params.get("chat_id")
    if chat_id is None or chat_id == "":
        raise ApiError(400, "Bad Request: chat_id is empty")
    if not isinstance(chat_id, int) or isinstance(chat_id, bool):
        raise ApiError(400, "Bad Request: chat not found")
    return chat_id


def _number(params: dict[str, Any], key: str, default: int) -> int:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ApiError(400, f'Bad Request: field "{key}" must be a number')
    return int(value)


def _message_text(params: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    raw = params.get("text")
    if not isinstance(raw, str):
        raise ApiError(400, "Bad Request: message text is empty")
    mode = str(params.get("parse_mode") or "").lower()
    text, entities = parse_html(raw) if mode == "html" else (raw, [])
    stripped = text.strip()
    if not stripped:
        raise ApiError(400, "Bad Request: message text is empty")
    if len(stripped) > TEXT_LIMIT:
        raise ApiError(400, "Bad Request: message is too long")
    if stripped != text:
        shift = _utf16_len(text[: len(text) - len(text.lstrip())])
        entities = [{**e, "offset": e["offset"] - shift} for e in entities]
    return stripped, entities


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's HTML parse mode, loosely: plain text and entities (UTF-16 offsets).

    Raises :class:`ApiError` 400 ``can't parse entities: …`` for an unsupported, unclosed or
    mismatched tag, or a bare ``<``.
    """
    out: list[str] = []
    units = 0
    stack: list[tuple[str, int, dict[str, Any]]] = []
    entities: list[dict[str, Any]] = []
    pos = 0
    while pos < len(source):
        char = source[pos]
        if char == "&" and (escape := _ESCAPE.match(source, pos)):
            decoded = _unescape(escape.group(1))
            out.append(decoded)
            units += _utf16_len(decoded)
            pos = escape.end()
            continue
        if char != "<":
            out.append(char)
            units += _utf16_len(char)
            pos += 1
            continue
        offset = len(source[:pos].encode("utf-8"))
        tag = _TAG.match(source, pos)
        if tag is None:
            raise ApiError(
                400,
                f"Bad Request: can't parse entities: Unclosed start tag at byte offset {offset}",
            )
        closing, name, attrs = tag.group(1) == "/", tag.group(2).lower(), tag.group(3)
        spoiler_span = name != "span" or closing or "tg-spoiler" in attrs
        if name not in _HTML_ENTITIES or not spoiler_span:
            raise ApiError(
                400,
                f'Bad Request: can\'t parse entities: Unsupported start tag "{name}" at byte '
                f"offset {offset}",
            )
        if closing:
            if not stack or stack[-1][0] != name:
                expected = f"</{stack[-1][0]}>" if stack else "nothing"
                raise ApiError(
                    400,
                    f"Bad Request: can't parse entities: Unmatched end tag at byte offset "
                    f'{offset}, expected "{expected}", found "</{name}>"',
                )
            opened, start, fields = stack.pop()
            if units > start:
                kind = _HTML_ENTITIES[opened]
                entities.append({"offset": start, "length": units - start, "type": kind, **fields})
        else:
            link: dict[str, Any] = {}
            if name == "a":
                href = _HREF.search(attrs)
                link["url"] = next((g for g in href.groups() if g), "") if href else ""
            stack.append((name, units, link))
        pos = tag.end()
    if stack:
        raise ApiError(
            400,
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag "
            f'"{stack[-1][0]}"',
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _unescape(name: str) -> str:
    if name in _NAMED:
        return _NAMED[name]
    code = int(name[2:], 16) if name.startswith("#x") else int(name[1:])
    return chr(code) if 0 < code <= 0x10FFFF else ""


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _reply_markup(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    keyboard = value.get("inline_keyboard")
    if keyboard is None:
        return value  # a reply keyboard, ForceReply or ReplyKeyboardRemove: not checked
    if not isinstance(keyboard, list) or not all(isinstance(row, list) for row in keyboard):
        raise ApiError(
            400,
            "Bad Request: can't parse inline keyboard button: "
            "InlineKeyboardButton must be an Object",
        )
    for row in keyboard:
        for button in row:
            if not isinstance(button, dict) or not str(button.get("text", "")).strip():
                raise ApiError(400, "Bad Request: BUTTON_TEXT_INVALID")
            if not _BUTTON_ACTIONS & set(button):
                raise ApiError(
                    400, "Bad Request: text buttons are unallowed in the inline keyboard"
                )
            if "callback_data" in button:
                data = button["callback_data"]
                size = len(data.encode("utf-8")) if isinstance(data, str) else 0
                if not 1 <= size <= CALLBACK_DATA_LIMIT:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    return value


def _scope_key(scope: dict[str, Any] | None) -> str:
    return json.dumps(scope or {"type": "default"}, sort_keys=True)


def _set_or_drop(target: dict[str, Any], key: str, value: Any) -> None:
    if value:
        target[key] = value
    else:
        target.pop(key, None)


def _allowed(update: dict[str, Any], allowed: list[str]) -> bool:
    kinds = [key for key in update if key != "update_id"]
    if not allowed:
        return not _OPT_IN_UPDATES.intersection(kinds)
    return bool(set(allowed).intersection(kinds))


async def _stall(request: Request, seconds: float) -> None:
    """Wait ``seconds``, or less if the client hangs up first (so shutdown stays quick)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        if await request.is_disconnected():
            return
        await asyncio.sleep(min(left, 0.02))


# -- Update JSON as Telegram sends it ----------------------------------------------------------


def user(
    user_id: int,
    *,
    first_name: str = "Amina",
    last_name: str | None = None,
    username: str | None = None,
    language_code: str | None = "en",
) -> dict[str, Any]:
    """A User object for a person (``language_code`` None: Telegram did not say)."""
    found: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    for key, value in (
        ("last_name", last_name),
        ("username", username),
        ("language_code", language_code),
    ):
        if value is not None:
            found[key] = value
    return found


def bot_user(bot_id: int = DEFAULT_BOT_ID, username: str = DEFAULT_BOT_USERNAME) -> dict[str, Any]:
    return {"id": bot_id, "is_bot": True, "first_name": DEFAULT_BOT_NAME, "username": username}


def private_chat(chat_id: int, sender: dict[str, Any]) -> dict[str, Any]:
    chat = {"id": chat_id, "type": "private", "first_name": sender["first_name"]}
    for key in ("last_name", "username"):
        if key in sender:
            chat[key] = sender[key]
    return chat


def _message(
    chat_id: int,
    message_id: int,
    *,
    user_id: int | None,
    first_name: str,
    language_code: str | None,
    date: int | None,
    last_name: str | None = None,
    **content: Any,
) -> dict[str, Any]:
    sender = user(
        chat_id if user_id is None else user_id,
        first_name=first_name,
        last_name=last_name,
        language_code=language_code,
    )
    return {
        "message_id": message_id,
        "from": sender,
        "chat": private_chat(chat_id, sender),
        "date": int(time.time()) if date is None else date,
        **content,
    }


def message_update(
    update_id: int,
    chat_id: int,
    text: str,
    *,
    user_id: int | None = None,
    language_code: str | None = "en",
    first_name: str = "Amina",
    last_name: str | None = None,
    message_id: int | None = None,
    date: int | None = None,
    entities: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A person's text message in a private chat (the user id is the chat id unless given)."""
    content: dict[str, Any] = {"text": text}
    if entities:
        content["entities"] = entities
    message = _message(
        chat_id,
        update_id if message_id is None else message_id,
        user_id=user_id,
        first_name=first_name,
        last_name=last_name,
        language_code=language_code,
        date=date,
        **content,
    )
    return {"update_id": update_id, "message": message}


def command_update(
    update_id: int,
    chat_id: int,
    command: str,
    args: str = "",
    *,
    bot_username: str | None = None,
    user_id: int | None = None,
    language_code: str | None = "en",
    first_name: str = "Amina",
    message_id: int | None = None,
    date: int | None = None,
) -> dict[str, Any]:
    """``/command[@bot] args`` with its ``bot_command`` entity, e.g. a deep link's
    ``/start faq_3``."""
    word = "/" + command.removeprefix("/")
    if bot_username:
        word += "@" + bot_username
    text = f"{word} {args}" if args else word
    return message_update(
        update_id,
        chat_id,
        text,
        user_id=user_id,
        language_code=language_code,
        first_name=first_name,
        message_id=message_id,
        date=date,
        entities=[{"offset": 0, "length": _utf16_len(word), "type": "bot_command"}],
    )


def callback_update(
    update_id: int,
    chat_id: int,
    data: str,
    message_id: int,
    *,
    user_id: int | None = None,
    language_code: str | None = "en",
    first_name: str = "Amina",
    last_name: str | None = None,
    message_text: str = "Menu",
    query_id: str | None = None,
    bot: dict[str, Any] | None = None,
    date: int | None = None,
) -> dict[str, Any]:
    """A tap on an inline button with ``data``, on the bot's message ``message_id``."""
    sender = user(
        chat_id if user_id is None else user_id,
        first_name=first_name,
        last_name=last_name,
        language_code=language_code,
    )
    message = {
        "message_id": message_id,
        "from": bot or bot_user(),
        "chat": private_chat(chat_id, sender),
        "date": int(time.time()) if date is None else date,
        "text": message_text,
    }
    query = {
        "id": query_id or f"{abs(chat_id) % 10**9}{update_id:010d}",
        "from": sender,
        "message": message,
        "chat_instance": str(-(abs(chat_id) * 7919 % 10**18) - 1),
        "data": data,
    }
    return {"update_id": update_id, "callback_query": query}


def my_chat_member_update(
    update_id: int,
    chat_id: int,
    old: str = "member",
    new: str = "kicked",
    *,
    user_id: int | None = None,
    first_name: str = "Amina",
    language_code: str | None = "en",
    bot: dict[str, Any] | None = None,
    date: int | None = None,
) -> dict[str, Any]:
    """The bot's membership in a private chat changed: ``kicked`` is "blocked the bot",
    ``member`` after ``kicked`` is "unblocked" (statuses: member, kicked, left)."""
    sender = user(
        chat_id if user_id is None else user_id,
        first_name=first_name,
        language_code=language_code,
    )
    me = bot or bot_user()
    return {
        "update_id": update_id,
        "my_chat_member": {
            "chat": private_chat(chat_id, sender),
            "from": sender,
            "date": int(time.time()) if date is None else date,
            "old_chat_member": _member(me, old),
            "new_chat_member": _member(me, new),
        },
    }


def _member(member: dict[str, Any], status: str) -> dict[str, Any]:
    if status == "kicked":
        return {"user": member, "status": "kicked", "until_date": 0}
    if status in ("member", "left"):
        return {"user": member, "status": status}
    raise ValueError(f"status must be member, kicked or left, not {status!r}")


def contact_update(
    update_id: int,
    chat_id: int,
    phone: str,
    contact_user_id: int | None,
    *,
    user_id: int | None = None,
    first_name: str = "Amina",
    language_code: str | None = "en",
    message_id: int | None = None,
    date: int | None = None,
) -> dict[str, Any]:
    """A shared contact. It is the sender's own when ``contact_user_id`` is the sender's id
    (the chat id unless ``user_id`` is given); Telegram writes the number without ``+``."""
    contact: dict[str, Any] = {"phone_number": phone, "first_name": first_name}
    if contact_user_id is not None:
        contact["user_id"] = contact_user_id
    message = _message(
        chat_id,
        update_id if message_id is None else message_id,
        user_id=user_id,
        first_name=first_name,
        language_code=language_code,
        date=date,
        contact=contact,
    )
    return {"update_id": update_id, "message": message}


def edited_message_update(
    update_id: int,
    chat_id: int,
    text: str,
    *,
    message_id: int = 1,
    user_id: int | None = None,
    first_name: str = "Amina",
    language_code: str | None = "en",
    date: int | None = None,
    edit_date: int | None = None,
) -> dict[str, Any]:
    """A person edited their earlier message ``message_id`` to ``text``."""
    message = _message(
        chat_id,
        message_id,
        user_id=user_id,
        first_name=first_name,
        language_code=language_code,
        date=date,
        text=text,
    )
    message["edit_date"] = message["date"] + 5 if edit_date is None else edit_date
    return {"update_id": update_id, "edited_message": message}


def photo_update(
    update_id: int,
    chat_id: int,
    *,
    caption: str | None = None,
    user_id: int | None = None,
    first_name: str = "Amina",
    language_code: str | None = "en",
    message_id: int | None = None,
    date: int | None = None,
) -> dict[str, Any]:
    """A photo (three sizes, as Telegram sends them), with no text and an optional caption."""
    photo = [
        {
            "file_id": f"AgACAgQAAxkBAAI{update_id}{size}",
            "file_unique_id": f"AQAD{update_id}{size}",
            "width": size,
            "height": size * 3 // 4,
            "file_size": size * 60,
        }
        for size in (90, 320, 800)
    ]
    content: dict[str, Any] = {"photo": photo}
    if caption is not None:
        content["caption"] = caption
    message = _message(
        chat_id,
        update_id if message_id is None else message_id,
        user_id=user_id,
        first_name=first_name,
        language_code=language_code,
        date=date,
        **content,
    )
    return {"update_id": update_id, "message": message}


def sticker_update(
    update_id: int,
    chat_id: int,
    *,
    emoji: str = "👍",
    user_id: int | None = None,
    first_name: str = "Amina",
    language_code: str | None = "en",
    message_id: int | None = None,
    date: int | None = None,
) -> dict[str, Any]:
    """A sticker, with no text."""
    sticker = {
        "file_id": f"CAACAgIAAxkBAAI{update_id}",
        "file_unique_id": f"AgAD{update_id}",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "emoji": emoji,
        "set_name": "HotCherry",
        "file_size": 21_000,
    }
    message = _message(
        chat_id,
        update_id if message_id is None else message_id,
        user_id=user_id,
        first_name=first_name,
        language_code=language_code,
        date=date,
        sticker=sticker,
    )
    return {"update_id": update_id, "message": message}


def channel_post_update(
    update_id: int,
    chat_id: int = -1001234567890,
    text: str = "Classes start Monday.",
    *,
    title: str = "Dhanote IT Park",
    message_id: int | None = None,
    date: int | None = None,
) -> dict[str, Any]:
    """A post in a channel the bot administers: no ``from``, a ``sender_chat``."""
    chat = {"id": chat_id, "type": "channel", "title": title}
    post = {
        "message_id": update_id if message_id is None else message_id,
        "sender_chat": chat,
        "chat": chat,
        "date": int(time.time()) if date is None else date,
        "text": text,
    }
    return {"update_id": update_id, "channel_post": post}
