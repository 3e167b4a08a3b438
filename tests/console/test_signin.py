"""Signing in to the console: one-time links, passwords, slowing guessers, sessions, CSRF."""

from __future__ import annotations

from typing import Any

import pytest

from bot.outreach import accounts
from bot.store import coordinators
from tests.console.conftest import Console, Served

# The database is not the subject here: see "sqlite_only" in tests/conftest.py.
pytestmark = pytest.mark.sqlite_only


def test_a_link_signs_in_once_and_opening_it_uses_nothing(console: Console) -> None:
    account = console.add("Amina")
    path = console.link(account)
    # Telegram fetches a link to preview it: opening it twice must leave it usable.
    for _ in range(2):
        shown = console.get(path)
        assert shown.status_code == 200
        assert "Sign in as" in shown.text and "Amina" in shown.text
    signed = console.client.post(
        path, data={"csrf": Console.token(shown.text)}, follow_redirects=False
    )
    assert signed.status_code == 303 and signed.headers["location"] == "/console/"
    assert "Amina" in console.get("/console/").text

    # The same link again, even in this signed-in browser: refused.
    reopened = console.get(path)
    assert reopened.status_code == 410
    again = console.client.post(
        path, data={"csrf": Console.token(reopened.text)}, follow_redirects=False
    )
    assert again.status_code == 410


def test_another_coordinators_used_link_is_refused_in_a_fresh_browser(
    console: Console,
) -> None:
    account = console.add("Bilal")
    path = console.link(account)
    shown = console.get(path)
    console.client.post(path, data={"csrf": Console.token(shown.text)})
    console.client.cookies.clear()  # someone else, who saw the link
    shown = console.get(path)
    assert shown.status_code == 410
    assert "can't be used" in shown.text
    refused = console.client.post(
        path, data={"csrf": Console.token(shown.text)}, follow_redirects=False
    )
    assert refused.status_code == 410
    assert console.get("/console/", follow_redirects=False).status_code == 303


def test_an_expired_link_is_refused(console: Console) -> None:
    account = console.add("Amina")
    path = console.link(account, minutes=-1)
    assert console.get(path).status_code == 410


def test_a_link_post_without_the_forms_token_is_refused_and_the_link_kept(
    console: Console,
) -> None:
    path = console.link(console.add("Amina"))
    console.get(path)
    assert console.client.post(path, data={"csrf": "forged"}).status_code == 403
    assert console.client.post(path, data={}).status_code == 403
    shown = console.get(path)
    assert shown.status_code == 200  # still unused
    signed = console.client.post(
        path, data={"csrf": Console.token(shown.text)}, follow_redirects=False
    )
    assert signed.status_code == 303


def _password_form(console: Console, name: str, password: str, **extra: str) -> Any:
    form = console.get("/console/login")
    data = {"csrf": Console.token(form.text), "name": name, "password": password, **extra}
    return console.client.post("/console/login", data=data, follow_redirects=False)


def test_a_password_signs_in_and_a_wrong_one_does_not(console: Console) -> None:
    console.add("Amina")
    console.run(accounts.set_password, console.runtime.units, "Amina", "correct horse 1")
    wrong = _password_form(console, "Amina", "not it at all")
    assert wrong.status_code == 401 and "Wrong name or password" in wrong.text
    unknown = _password_form(console, "Nobody", "correct horse 1")
    assert unknown.status_code == 401
    ok = _password_form(console, "Amina", "correct horse 1", next="/console/inbox")
    assert ok.status_code == 303 and ok.headers["location"] == "/console/inbox"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/sms/twilio"])
def test_after_sign_in_only_a_console_page_is_a_destination(console: Console, target: str) -> None:
    console.add("Amina")
    console.run(accounts.set_password, console.runtime.units, "Amina", "correct horse 1")
    ok = _password_form(console, "Amina", "correct horse 1", next=target)
    assert ok.headers["location"] == "/console/"


def test_failed_sign_ins_slow_the_account_even_with_the_right_password(
    console: Console,
) -> None:
    console.add("Amina")
    console.run(accounts.set_password, console.runtime.units, "Amina", "correct horse 1")
    for _ in range(accounts.FREE_PER_ACCOUNT + 1):
        assert _password_form(console, "Amina", "guess").status_code == 401
    slowed = _password_form(console, "Amina", "correct horse 1")
    assert slowed.status_code == 429
    assert "Try again in" in slowed.text
    assert console.get("/console/", follow_redirects=False).status_code == 303


def test_without_a_session_pages_send_browsers_to_sign_in_and_htmx_gets_401(
    console: Console,
) -> None:
    page = console.get("/console/?weeks=8", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/console/login?next=/console/%3Fweeks%3D8"
    assert console.get("/console/", headers={"HX-Request": "true"}).status_code == 401
    assert console.client.post("/console/", data={}).status_code in (401, 405)


def test_the_session_cookie_is_httponly_samesite_and_secure(console: Console) -> None:
    account = console.add("Amina")
    path = console.link(account)
    shown = console.get(path)
    signed = console.client.post(
        path, data={"csrf": Console.token(shown.text)}, follow_redirects=False
    )
    cookie = signed.headers["set-cookie"].lower()
    assert "outreach_console=" in cookie
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie
    assert "path=/console" in cookie


def test_removing_a_coordinator_ends_their_session(console: Console) -> None:
    console.sign_in("Amina")
    assert console.get("/console/", follow_redirects=False).status_code == 200
    console.run(lambda: console.runtime.units.run(lambda c: coordinators.remove(c, "Amina")))
    assert console.get("/console/", follow_redirects=False).status_code == 303


def test_a_new_password_ends_the_sessions_signed_in_before(console: Console) -> None:
    console.sign_in("Amina")
    console.run(accounts.set_password, console.runtime.units, "Amina", "a new password!")
    assert console.get("/console/", follow_redirects=False).status_code == 303


def test_signing_out_needs_the_token_and_ends_the_session(console: Console) -> None:
    console.sign_in("Amina")
    forged = console.client.post("/console/logout", data={"csrf": "x"}, follow_redirects=False)
    assert forged.status_code == 403
    assert console.get("/console/", follow_redirects=False).status_code == 200
    out = console.post("/console/logout")
    assert out.status_code == 303 and out.headers["location"] == "/console/login"
    assert console.get("/console/", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("console_overrides", [{"console_enabled": False}])
def test_the_console_can_be_turned_off(console: Console) -> None:
    assert console.get("/console/login").status_code == 404


async def test_a_coordinator_signs_in_with_a_link_in_a_browser(served: Served, page: Any) -> None:
    link = await served.link("Amina")
    await page.goto(link)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{served.url}/console/")
    assert await page.get_by_role("heading", name="Overview").is_visible()
    # The same link in the same browser: used up.
    await page.goto(link)
    assert await page.get_by_role("heading", name="This sign-in link can't be used").is_visible()
