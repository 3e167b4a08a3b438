"""The console under test: Starlette's TestClient for its routes, headless Chromium (Debian's
package, driven by Playwright) for what a coordinator does in a browser.

``console`` is a :class:`Console`: a TestClient on the app in sandbox mode (every message goes
to the simulator) that can sign a coordinator in and posts forms with the session's CSRF
token. ``run(coro_fn, *args)`` runs a coroutine on the app's own loop (the store's units are
bound to it). The browser tests use ``served`` (the app on a real port) and ``page``.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot.app.runtime import Runtime
from bot.config import Settings
from bot.outreach import accounts
from bot.store.coordinators import Account
from fakes.server import aserve
from tests.apps import app_for
from tests.routes.conftest import make_settings

T = TypeVar("T")

CHROMIUM = Path("/usr/bin/chromium")
# .ci/run sets it: there the browser tests must run, never be skipped.
REQUIRE_BROWSER = "OUTREACH_REQUIRE_BROWSER"
_CSRF = re.compile(r'"X-CSRF-Token": "([^"]+)"')


def console_settings(db_url: str, **overrides: Any) -> Settings:
    """Sandbox mode (no provider configured) unless ``overrides`` configure one."""
    values: dict[str, Any] = {"twilio_account_sid": None, "twilio_auth_token": None}
    values.update(overrides)
    return make_settings(db_url, **values)


class Console:
    """A browser-less coordinator: a TestClient with a session cookie and its CSRF token."""

    def __init__(self, client: TestClient, app: Starlette) -> None:
        self.client = client
        self.app = app
        self.csrf: str | None = None
        self.me: Account | None = None

    @property
    def runtime(self) -> Runtime:
        rt: Runtime = self.app.state.runtime
        return rt

    def run(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """``await fn(*args)`` on the app's loop."""
        portal = self.client.portal
        assert portal is not None, "use the client inside its `with` block"
        return portal.call(fn, *args)

    def add(self, name: str, *, admin: bool = False, telegram_id: int | None = None) -> Account:
        """A coordinator in the database (not signed in)."""
        return self.run(
            lambda: accounts.add_coordinator(
                self.runtime.units,
                name,
                telegram_id=telegram_id,
                admin=admin,
                by="tests",
                now=datetime.now(UTC),
            )
        )

    def link(self, account: Account, *, minutes: float = 15) -> str:
        """A one-time sign-in path for ``account`` (``/console/login/TOKEN``)."""
        token = self.run(
            lambda: accounts.make_link(self.runtime.units, account, datetime.now(UTC), minutes)
        )
        return f"/console/login/{token}"

    def sign_in(self, name: str = "Amina", *, admin: bool = False) -> Account:
        """Add ``name`` and sign in with a one-time link, as a coordinator would."""
        account = self.add(name, admin=admin)
        path = self.link(account)
        page = self.client.get(path)
        assert page.status_code == 200, page.text
        done = self.client.post(path, data={"csrf": self.token(page.text)}, follow_redirects=False)
        assert done.status_code == 303, done.text
        self.me = account
        self.csrf = self.token(self.client.get("/console/").text)
        return account

    @staticmethod
    def token(html: str) -> str:
        """The CSRF token a page carries."""
        found = _CSRF.search(html)
        assert found is not None, "the page carries no CSRF token"
        return found.group(1)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """POST a form with the session's CSRF token (sign in first)."""
        assert self.csrf is not None, "sign in first"
        kwargs.setdefault("follow_redirects", False)
        return self.client.post(path, data={"csrf": self.csrf, **(data or {})}, **kwargs)


@pytest.fixture
def console_overrides() -> dict[str, Any]:
    """Settings a test module changes for its ``console`` (override this fixture)."""
    return {}


@pytest.fixture
def console(db_url: str, console_overrides: dict[str, Any]) -> Iterator[Console]:
    app = app_for(console_settings(db_url, **console_overrides))
    # https: PUBLIC_BASE_URL is https in these settings, so the cookie is Secure.
    with TestClient(app, base_url="https://testserver") as client:
        yield Console(client, app)


# Browser tests -----------------------------------------------------------------------------


@dataclass
class Served:
    url: str
    app: Starlette

    @property
    def runtime(self) -> Runtime:
        rt: Runtime = self.app.state.runtime
        return rt

    async def link(self, name: str = "Amina", *, admin: bool = True) -> str:
        """The full URL of a one-time sign-in link for a new coordinator ``name``."""
        now = datetime.now(UTC)
        units = self.runtime.units
        account = await accounts.add_coordinator(
            units, name, telegram_id=None, admin=admin, by="tests", now=now
        )
        return f"{self.url}/console/login/{await accounts.make_link(units, account, now, 15)}"


def browser_available() -> None:
    """Skip (saying why) without Debian's Chromium; fail instead where it is required."""
    if CHROMIUM.exists():
        return
    why = f"no Chromium at {CHROMIUM} (apt-get install chromium): browser tests skipped"
    if os.environ.get(REQUIRE_BROWSER):
        pytest.fail(why.replace("skipped", f"required by {REQUIRE_BROWSER}"))
    pytest.skip(why)


@pytest.fixture
async def served(sqlite_url: str, console_overrides: dict[str, Any]) -> AsyncIterator[Served]:
    """The app on a real port, over plain http (so no Secure cookie), on SQLite: the browser
    tests are about the pages; the route tests cover both databases."""
    values = {"public_base_url": None, **console_overrides}
    app = app_for(console_settings(sqlite_url, **values))
    async with aserve(app, lifespan="on") as url:
        yield Served(url, app)


@pytest.fixture
async def page() -> AsyncIterator[Any]:
    """A page in headless Chromium, phone-sized unless a test resizes it."""
    browser_available()
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM))
        context = await browser.new_context(viewport={"width": 390, "height": 844})
        context.set_default_timeout(30_000)
        try:
            yield await context.new_page()
        finally:
            await browser.close()
