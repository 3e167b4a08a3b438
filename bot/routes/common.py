"""What every webhook route needs: a bounded body, a strict form, the runtime, the time."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request

from bot.app.runtime import Runtime

# Providers post a few kilobytes at most; anything larger is refused (413) before it is
# parsed: pass it as ``max_body_size`` to each webhook's ``Route``.
MAX_BODY_BYTES = 64 * 1024
# Starlette's limit for a form; a provider's has a few dozen.
MAX_FIELDS = 1000


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def utcnow() -> datetime:
    return datetime.now(UTC)


async def read_form(request: Request) -> dict[str, str]:
    """The posted form, as :func:`urllib.parse.parse_qsl` reads it; the last of a repeated
    name wins.

    413 when the body is over the route's ``max_body_size``; 400 when it is not a URL-encoded
    form of ASCII (what every provider posts: a URL-encoded form percent-encodes every other
    byte) or has more than :data:`MAX_FIELDS` fields. ``ClientDisconnect`` if the client left.
    The standard library's parser, not Starlette's streaming one: for a body already read whole
    it costs a fifth of the CPU (15% of a signed SMS webhook's, measured with bench_sms).
    """
    body = await request.body()
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded" or not body.isascii():
        raise HTTPException(400, "the body is not a URL-encoded ASCII form")
    try:
        pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:
        raise HTTPException(400, f"a webhook form has at most {MAX_FIELDS} fields") from None
    return dict(pairs)


def public_url(request: HTTPConnection, base: str | None) -> str:
    """The URL the provider called and signed: ``PUBLIC_BASE_URL`` + path (+ query).

    Behind a proxy the URL the request reached is not the one the provider signed, so the
    configured public root wins; without one, the request's own URL is all there is.
    """
    url = request.url
    if not base:
        return str(url)
    return base.rstrip("/") + url.path + (f"?{url.query}" if url.query else "")
