"""What every webhook route needs: a bounded body, a strict form, the runtime, the time."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import unquote

from starlette.exceptions import HTTPException
from starlette.requests import Request

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
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdecimal() or int(declared) > limit):
        raise HTTPException(413, f"body over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


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
                name = unquote(name.replace("+", " "), errors="strict")
            if "+" in value or "%" in value:
                value = unquote(value.replace("+", " "), errors="strict")
            form[name] = value
    except (UnicodeDecodeError, ValueError) as exc:
        raise HTTPException(400, "form body is not valid UTF-8") from exc
    return form


def public_url(request: Request, base: str | None) -> str:
    """The URL the provider called and signed: ``PUBLIC_BASE_URL`` + path (+ query).

    Behind a proxy the URL the request reached is not the one the provider signed, so the
    configured public root wins; without one, the request's own URL is all there is.
    """
    if not base:
        return str(request.url)
    # What request.url.path and .query are, without building the whole URL on every webhook.
    path: str = request.scope["path"]
    path = path.replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    url = base.rstrip("/") + path
    query = request.scope.get("query_string", b"").decode().partition("#")[0]
    if query:
        url += "?" + query
    return url
