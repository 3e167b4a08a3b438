"""One-line notices that survive a redirect: a change is POSTed, answered with a redirect
(303) to a page, and that page says what was done ("Sent to ... by Amina"). Kept in the
signed session cookie until shown once."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse

_KEY = "notice"


def done(request: Request, text: str, to: str) -> RedirectResponse:
    """Redirect to ``to`` (a console path), which will show ``text`` once."""
    request.session[_KEY] = text
    return RedirectResponse(to, status_code=303)


def take(request: Request) -> str | None:
    """The notice waiting for this page, if any (it is shown only once)."""
    text = request.session.pop(_KEY, None)
    return text if isinstance(text, str) else None
