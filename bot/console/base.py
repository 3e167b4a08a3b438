"""What every console page shares: templates, the signed-in coordinator, CSRF, rendering.

A page handler is wrapped in :func:`page`: without a valid session a browser is sent to the
sign-in page (303) and htmx or a form post gets 401; a request that changes anything (any
method but GET and HEAD) must carry the session's CSRF token, as the form field ``csrf`` or
the ``X-CSRF-Token`` header that ``base.html`` sets for htmx, else 403. The handler gets the
coordinator as ``request.state.me``.

The session is Starlette's signed cookie (:class:`SessionMiddleware`, itsdangerous): it holds
the coordinator's id, their ``session_epoch`` (a password change ends older sessions) and the
CSRF token. The coordinator is read from the database on each request, so a removed one is
signed out at once.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment
from starlette.exceptions import HTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.app.runtime import Runtime
from bot.store import coordinators
from bot.store.coordinators import Account

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
SESSION_COOKIE = "outreach_console"
# A signed-in session lasts this long without signing in again.
SESSION_SECONDS = 7 * 24 * 3600

# What the navigation shows, in order: (path under /console, label).
NAV: list[tuple[str, str]] = [
    ("/", "Overview"),
    ("/compose", "Compose"),
    ("/broadcasts", "Broadcasts"),
    ("/schedules", "Schedules"),
    ("/inbox", "Inbox"),
    ("/answers", "Answers"),
    ("/subscribers", "Subscribers"),
    ("/simulator", "Simulator"),
]

_TITLES = {400: "Can't do that", 403: "Not allowed", 404: "Not found", 409: "Changed meanwhile"}

Handler = Callable[[Request], Awaitable[Response]]


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def utcnow() -> datetime:
    return datetime.now(UTC)


def env() -> Environment:
    return templates.env


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return token


async def check_csrf(request: Request) -> None:
    """403 unless the request carries the session's CSRF token (header or form field)."""
    expected = request.session.get("csrf")
    given = request.headers.get("x-csrf-token")
    if given is None:
        form = await request.form()
        value = form.get("csrf")
        given = value if isinstance(value, str) else None
    if not isinstance(expected, str) or given is None or not hmac.compare_digest(given, expected):
        raise HTTPException(403, "This form has expired: reload the page and try again.")


def start_session(request: Request, account: Account) -> None:
    """Sign ``account`` in: a fresh session (and CSRF token), so none from before survives."""
    request.session.clear()
    request.session.update(coordinator=account.id, epoch=account.session_epoch)
    csrf_token(request)


async def signed_in(request: Request) -> Account | None:
    """The coordinator this request's session belongs to, if it is still valid."""
    who = request.session.get("coordinator")
    if not isinstance(who, int):
        return None
    account = await runtime(request).units.run(lambda c: coordinators.by_id(c, who))
    if account is None or account.session_epoch != request.session.get("epoch"):
        request.session.clear()
        return None
    return account


def page(handler: Handler) -> Handler:
    """Run ``handler`` for a signed-in coordinator only, with the CSRF check on changes."""

    @wraps(handler)
    async def guarded(request: Request) -> Response:
        me = await signed_in(request)
        if me is None:
            if request.method in ("GET", "HEAD") and "hx-request" not in request.headers:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/console/login?next={quote(target)}", status_code=303)
            raise HTTPException(401, "Sign in first.")
        request.state.me = me
        try:
            if request.method not in ("GET", "HEAD"):
                await check_csrf(request)
            return await handler(request)
        except HTTPException as exc:
            return render(
                request,
                "error.html",
                exc.status_code,
                status=exc.status_code,
                title=_TITLES.get(exc.status_code, "Something is wrong"),
                detail=exc.detail,
            )

    return guarded


def me(request: Request) -> Account:
    """The signed-in coordinator (inside a :func:`page` handler)."""
    account: Account = request.state.me
    return account


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    """The ``template`` with the layout's context: the coordinator, CSRF token, mode."""
    rt = runtime(request)
    context.setdefault("me", getattr(request.state, "me", None))
    context.update(
        request=request,
        csrf=csrf_token(request),
        nav=NAV,
        mode=rt.settings.mode,
        path=request.url.path.removeprefix("/console") or "/",
    )
    return templates.TemplateResponse(request, template, context, status_code=status_code)


async def form_fields(request: Request) -> dict[str, str]:
    """The posted form's text fields (the last of a repeated name wins)."""
    form = await request.form()
    return {k: v for k, v in form.multi_items() if isinstance(v, str)}


class Sessions:
    """Starlette's :class:`SessionMiddleware`, built on the first request with the key the
    app's lifespan settled (``app.state.console_key``): the key may live in the database,
    which is opened only then."""

    def __init__(self, app: ASGIApp, *, https_only: bool) -> None:
        self.app = app
        self.https_only = https_only
        self._inner: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._inner is None:
            self._inner = SessionMiddleware(
                self.app,
                secret_key=scope["app"].state.console_key,
                session_cookie=SESSION_COOKIE,
                max_age=SESSION_SECONDS,
                path="/console",
                same_site="lax",
                https_only=self.https_only,
            )
        await self._inner(scope, receive, send)
