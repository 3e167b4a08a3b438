"""What every webhook route needs: a bounded body, a strict form, the runtime, the time."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request

from bot.app.runtime import Runtime

# Providers post a few kilobytes at most; anything larger is refused (413) before it is
# parsed: pass it as ``max_body_size`` to each webhook's ``Route``.
MAX_BODY_BYTES = 64 * 1024


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def utcnow() -> datetime:
    return datetime.now(UTC)


async def read_form(request: Request) -> dict[str, str]:
    """The posted form, as ``request.form()`` reads it; the last of a repeated name wins.

    413 when the body is over the route's ``max_body_size``; 400 when it posts a file or is
    not ASCII: a URL-encoded form percent-encodes every other byte, and Starlette's parser
    would read raw ones as Latin-1. ``ClientDisconnect`` if the client left.
    """
    if not (await request.body()).isascii():
        raise HTTPException(400, "form body is not URL-encoded ASCII")
    fields: dict[str, str] = {}
    async with request.form() as form:  # closes any file it spooled
        for name, value in form.multi_items():
            if not isinstance(value, str):
                raise HTTPException(400, "a webhook form posts no files")
            fields[name] = value
    return fields


def public_url(request: HTTPConnection, base: str | None) -> str:
    """The URL the provider called and signed: ``PUBLIC_BASE_URL`` + path (+ query).

    Behind a proxy the URL the request reached is not the one the provider signed, so the
    configured public root wins; without one, the request's own URL is all there is.
    """
    url = request.url
    if not base:
        return str(url)
    return base.rstrip("/") + url.path + (f"?{url.query}" if url.query else "")
