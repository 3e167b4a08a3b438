"""The overview: the first page a coordinator sees."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.console.base import page, render


@page
async def overview(request: Request) -> Response:
    return render(request, "overview.html")


routes = [Route("/", overview, methods=["GET"])]
