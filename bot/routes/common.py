"""What every webhook route needs: a bounded body, a strict form, the runtime, the time."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from urllib.parse import unquote

from starlette.datastructures import URL
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, HTTPConnection, Request
from starlette.types import Receive, Scope

from bot.runtime import Runtime

# Providers post a few kilobytes at most; anything larger is refused before it is parsed.
MAX_BODY_BYTES = 64 * 1024


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def utcnow() -> datetime:
    return datetime.now(UTC)


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body; 413 when it is (or claims to be) over ``limit`` bytes."""
    return await receive_body(request.scope, request.receive, limit)


async def receive_body(scope: Scope, receive: Receive, limit: int = MAX_BODY_BYTES) -> bytes:
    """:func:`read_body` for a bare ASGI endpoint; ``ClientDisconnect`` if the client left."""
    declared = header(scope, b"content-length")
    if declared is not None and (not declared.isdecimal() or int(declared) > limit):
        raise HTTPException(413, f"body over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"body over {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def header(scope: Scope, name: bytes) -> str | None:
    """The first header called ``name`` (lower case), or None: what ``request.headers.get``
    gives, without building the request's ``Headers``."""
    for key, value in scope["headers"]:
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


def parse_form(body: bytes) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body; 400 when it is not valid UTF-8.

    What ``dict(parse_qsl(text, keep_blank_values=True, errors="strict"))`` gives (a field
    without ``=`` is blank, the last of a repeated name wins), at half the cost: most fields
    of a Twilio form need no unquoting.
    """
    try:
        form: dict[str, str] = {}
        for field in body.decode("utf-8").split("&"):
            if not field:
                continue
            name, _, value = field.partition("=")
            if "+" in name or "%" in name:
                name = _unquoted(name)
            if "+" in value or "%" in value:
                value = _unquoted(value)
            form[name] = value
    except (UnicodeDecodeError, ValueError) as exc:
        raise HTTPException(400, "form body is not valid UTF-8") from exc
    return form


# Unquoting is most of the cost of reading a form, and the same values come again and again:
# our own number (To), the people who text us (From), their usual words (Body). Short values
# are kept, so the cache stays small whatever is posted; an invalid one raises every time.
_KEPT = 160


def _unquoted(text: str) -> str:
    """``text`` as a form field: ``+`` is a space, ``%XX`` a UTF-8 byte (``ValueError`` and
    ``UnicodeDecodeError`` when the bytes are not UTF-8)."""
    return _unquoted_kept(text) if len(text) <= _KEPT else _unquote_plus(text)


def _unquote_plus(text: str) -> str:
    return unquote(text.replace("+", " "), errors="strict")


_unquoted_kept = functools.lru_cache(maxsize=4096)(_unquote_plus)


def public_url(request: HTTPConnection, base: str | None) -> str:
    """The URL the provider called and signed: ``PUBLIC_BASE_URL`` + path (+ query).

    Behind a proxy the URL the request reached is not the one the provider signed, so the
    configured public root wins; without one, the request's own URL is all there is.
    """
    return signed_url(request.scope, base)


def signed_url(scope: Scope, base: str | None) -> str:
    """:func:`public_url` of the request ``scope`` describes."""
    if not base:
        return str(URL(scope=scope))
    # What request.url.path and .query are, without building the whole URL on every webhook.
    path: str = scope["path"]
    path = path.replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    url = base.rstrip("/") + path
    query = scope.get("query_string", b"").decode().partition("#")[0]
    if query:
        url += "?" + query
    return url
