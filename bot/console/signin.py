"""Signing in and out: a password, or a one-time link from the bot's ``/login`` or the CLI.

Opening a link only shows whose it is and a button: the link is used by the button's POST.
Telegram (and mail scanners) fetch a link to preview it; had the GET signed in, the preview
would have used the link up before the coordinator tapped it.
"""

from __future__ import annotations

import math

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.console.base import (
    check_csrf,
    form_fields,
    render,
    runtime,
    signed_in,
    start_session,
    utcnow,
)
from bot.outreach import accounts


def _next(request: Request, fields: dict[str, str] | None = None) -> str:
    """Where to go after signing in: a console path only (never another site)."""
    target = (fields or {}).get("next") or request.query_params.get("next") or "/console/"
    if not target.startswith("/console") or target.startswith("//"):
        return "/console/"
    return target


async def login_form(request: Request) -> Response:
    if await signed_in(request) is not None:
        return RedirectResponse(_next(request), status_code=303)
    return render(request, "login.html", next=_next(request))


async def login(request: Request) -> Response:
    await check_csrf(request)
    fields = await form_fields(request)
    name = fields.get("name", "")
    address = request.client.host if request.client else "unknown"
    result = await accounts.sign_in(
        runtime(request).units, name, fields.get("password", ""), address, utcnow()
    )
    if isinstance(result, accounts.Slowed):
        seconds = math.ceil(result.wait.total_seconds())
        error = f"Too many failed sign-ins. Try again in {seconds} seconds."
        return render(request, "login.html", 429, error=error, name=name, next=_next(request))
    if result is None:
        error = "Wrong name or password."
        return render(request, "login.html", 401, error=error, name=name, next=_next(request))
    start_session(request, result)
    return RedirectResponse(_next(request, fields), status_code=303)


async def link_page(request: Request) -> Response:
    token = request.path_params["token"]
    owner = await accounts.link_owner(runtime(request).units, token, utcnow())
    if owner is None:
        return render(request, "link.html", 410, owner=None)
    return render(request, "link.html", owner=owner)


async def use_link(request: Request) -> Response:
    await check_csrf(request)
    token = request.path_params["token"]
    account = await accounts.use_link(runtime(request).units, token, utcnow())
    if account is None:
        return render(request, "link.html", 410, owner=None)
    start_session(request, account)
    return RedirectResponse("/console/", status_code=303)


async def logout(request: Request) -> Response:
    await check_csrf(request)
    request.session.clear()
    return RedirectResponse("/console/login", status_code=303)


routes = [
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/login/{token}", link_page, methods=["GET"]),
    Route("/login/{token}", use_link, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
