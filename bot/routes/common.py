"""What every webhook route needs: a bounded body, a strict form, the runtime, the time."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qsl

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
    """An ``application/x-www-form-urlencoded`` body; 400 when it is not valid UTF-8."""
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise HTTPException(400, "form body is not valid UTF-8") from exc
    return dict(pairs)


def public_url(request: Request, base: str | None) -> str:
    """The URL the provider called and signed: ``PUBLIC_BASE_URL`` + path (+ query).

    Behind a proxy the URL the request reached is not the one the provider signed, so the
    configured public root wins; without one, the request's own URL is all there is.
    """
    if not base:
        return str(request.url)
    url = base.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    return url
