"""Every console route, walked as an outsider would: without a session, with a forged CSRF
token. Routes are read from the app itself, so a page added later is walked too."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from starlette.routing import Mount, Route

from bot.console import mount
from tests.console.conftest import Console, console_settings

# The database is not the subject here: see "sqlite_only" in tests/conftest.py.
pytestmark = pytest.mark.sqlite_only

SIGN_IN_PAGES = {"/login", "/login/{token}"}
PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def console_routes() -> Iterator[tuple[str, str]]:
    """(method, path) of every console route but the static files, parameters filled in."""
    for route in mount(console_settings("sqlite+aiosqlite:///unused.db")).routes:
        if isinstance(route, Mount):
            assert route.path == "/static", f"a mount under /console: {route.path}"
            continue
        assert isinstance(route, Route)
        for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
            yield method, route.path


def filled(path: str) -> str:
    return "/console" + PARAM.sub("1", path)


def test_the_walk_sees_the_pages() -> None:
    paths = {path for _, path in console_routes()}
    assert {"/", "/login", "/login/{token}", "/logout"} <= paths


def test_nothing_answers_without_a_session_but_the_sign_in_pages(console: Console) -> None:
    for method, path in console_routes():
        if path in SIGN_IN_PAGES:
            continue
        answer = console.client.request(method, filled(path), follow_redirects=False)
        where = f"{method} {path}"
        if method == "GET":
            assert answer.status_code == 303, where
            assert answer.headers["location"].startswith("/console/login?next="), where
            htmx = console.client.get(filled(path), headers={"HX-Request": "true"})
            assert htmx.status_code == 401, where
        else:
            assert answer.status_code in (401, 403), where


def test_every_change_needs_the_sessions_csrf_token(console: Console) -> None:
    console.sign_in("Amina", admin=True)
    for method, path in console_routes():
        if method == "GET":
            continue
        where = f"{method} {path}"
        forged = console.client.request(
            method, filled(path), data={"csrf": "forged"}, follow_redirects=False
        )
        assert forged.status_code == 403, where
        forged = console.client.request(
            method, filled(path), headers={"X-CSRF-Token": "forged"}, follow_redirects=False
        )
        assert forged.status_code == 403, where
        missing = console.client.request(method, filled(path), follow_redirects=False)
        assert missing.status_code == 403, where
    assert console.get("/console/", follow_redirects=False).status_code == 200, "still in"
