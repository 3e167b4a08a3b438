"""The coordinators' web console at ``/console``: server-rendered pages (Jinja2), htmx for
the live parts, vendored assets (``static/README.md``), signed-cookie sessions.

A module per page (``overview``, ``compose`` …), each with its ``routes``; :mod:`.base` has
what they share (the session, CSRF, rendering) and :mod:`.signin` signing in and out.
"""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from bot.config import Settings
from bot.console import (
    answers,
    broadcasts,
    compose,
    inbox,
    overview,
    schedules,
    signin,
    simulator,
    subscribers,
)
from bot.console.base import HERE, Sessions

PAGES = (
    signin,
    overview,
    compose,
    broadcasts,
    schedules,
    inbox,
    answers,
    subscribers,
    simulator,
)


def mount(settings: Settings) -> Mount:
    """``/console`` with every page, its static files and its session cookie."""
    https = (settings.public_base_url or "").startswith("https://")
    routes = [route for module in PAGES for route in module.routes]
    return Mount(
        "/console",
        routes=[*routes, Mount("/static", StaticFiles(directory=HERE / "static"), name="static")],
        middleware=[Middleware(Sessions, https_only=https)],
    )
