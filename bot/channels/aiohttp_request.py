"""python-telegram-bot's HTTP over aiohttp: :class:`AiohttpRequest`, a ``BaseRequest``.

PTB leaves the HTTP to a ``telegram.request.BaseRequest`` (only ``do_request`` and the life
cycle are abstract; status codes, JSON and Telegram's errors stay in PTB). Its own
``HTTPXRequest`` spends most of a send's CPU in httpx and httpcore; the same request through
aiohttp costs a fraction of it (bench/bench_broadcast.py measures both, side by side), and
aiohttp is installed anyway (the Twilio client uses it).

Requests go as PTB's ``HTTPXRequest`` sends them: ``application/x-www-form-urlencoded`` with
every parameter JSON-encoded except strings, or ``multipart/form-data`` when there are files.

Time-outs, per request (PTB passes its own for long polls and uploads) or else the defaults
given here, become an ``aiohttp.ClientTimeout``:

* ``connect_timeout`` -> ``sock_connect``: opening a new connection;
* ``pool_timeout + connect_timeout`` -> ``connect``: waiting for a free connection in the
  pool (at most ``connection_pool_size``), then opening it;
* ``read_timeout`` -> ``sock_read``: between two reads of the answer;
* aiohttp has no write time-out, so ``total`` bounds the whole request by the sum of all
  four (None when any of them is None).

What goes wrong, besides the answers PTB turns into its errors itself::

    TimeoutError (aiohttp's ServerTimeoutError, ConnectionTimeoutError, …)  -> TimedOut
    aiohttp.ClientError (refused, reset, DNS, bad answer, …)                -> NetworkError

Unlike ``HTTPXRequest`` no proxy is read from the environment (``HTTPS_PROXY``).

Telegram's answers are parsed as a webhook's body is (:func:`bot.core.untrusted.load_json`):
text with a NUL byte or a lone surrogate in a long-polled update is cleaned before the
handlers see it, so both databases store it (it would otherwise fail on each try), and an
answer that is not JSON is not written to the log (it may hold residents' messages).
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import JSONDict, ODVInput
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.core.untrusted import load_json

_FORM = "application/x-www-form-urlencoded"


class AiohttpRequest(BaseRequest):
    """A ``telegram.request.BaseRequest`` on one ``aiohttp.ClientSession``.

    The session is opened by :meth:`initialize` (``async with bot:`` or the ``Application``
    calls it) and closed by :meth:`shutdown`; a request before that raises ``RuntimeError``,
    as ``HTTPXRequest`` does. The defaults are ``HTTPXRequest``'s. ``trace_configs`` are
    aiohttp's request hooks, for whoever wants to see the answers (``outreach doctor`` reads
    their ``Date``).
    """

    __slots__ = (
        "_connect_timeout",
        "_media_write_timeout",
        "_pool_size",
        "_pool_timeout",
        "_read_timeout",
        "_session",
        "_trace_configs",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
        trace_configs: Sequence[aiohttp.TraceConfig] = (),
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._trace_configs = list(trace_configs)
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        """The default read time-out in seconds (PTB adds a long poll's time-out to it)."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session (again, after a :meth:`shutdown`)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
                trace_configs=self._trace_configs or None,
            )

    async def shutdown(self) -> None:
        """Close the session and its connections; nothing when it is not open."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """The status and body of Telegram's answer; raises ``TimedOut`` or ``NetworkError``
        when there is none (see the module docstring)."""
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = bool(request_data and request_data.contains_files)
        timeout = self._timeout(
            _given(read_timeout, self._read_timeout),
            _given(write_timeout, self._media_write_timeout if files else self._write_timeout),
            _given(connect_timeout, self._connect_timeout),
            _given(pool_timeout, self._pool_timeout),
        )
        try:
            async with session.request(
                method, url, data=_body(request_data), timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as err:  # before ClientError: ServerTimeoutError is both
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{type(err).__name__}: {err}") from err

    @staticmethod
    def parse_json_payload(payload: bytes) -> JSONDict:
        """Telegram's answer, its strings cleaned (see the module docstring)."""
        try:
            try:
                value = load_json(payload, clean=True)
            except UnicodeDecodeError:  # as PTB does: what is not UTF-8 becomes U+FFFD
                value = load_json(payload.decode("utf-8", "replace").encode(), clean=True)
        except ValueError as exc:  # not JSON, not UTF-8 even so, or nested too deep
            raise TelegramError("Invalid server response") from exc
        if not isinstance(value, dict):
            raise TelegramError("Invalid server response")
        return value

    @staticmethod
    def _timeout(
        read: float | None, write: float | None, connect: float | None, pool: float | None
    ) -> aiohttp.ClientTimeout:
        parts = (read, write, connect, pool)
        total = None if any(p is None for p in parts) else sum(p or 0.0 for p in parts)
        waiting = None if connect is None or pool is None else connect + pool
        return aiohttp.ClientTimeout(
            total=total, connect=waiting, sock_connect=connect, sock_read=read
        )


def _given(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value


def _body(request_data: RequestData | None) -> aiohttp.FormData | aiohttp.BytesPayload | None:
    """The form PTB's HTTPXRequest would send: url-encoded, or multipart with the files."""
    if request_data is None:
        return None
    fields = request_data.json_parameters
    if not request_data.contains_files:
        # What aiohttp.FormData would make of the dict, without its per-field bookkeeping.
        return aiohttp.BytesPayload(urlencode(fields).encode(), content_type=_FORM)
    form = aiohttp.FormData(fields)
    for name, (filename, content, mime_type) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mime_type)
    return form
