"""``outreach coordinators``: the console's accounts.

``add`` one (``--telegram-id`` lets them ask the bot for a sign-in link with ``/login``;
``--admin``), ``list``, ``remove``, ``link`` (prints a one-time sign-in link) and
``password`` (sets one, asked twice, or read from stdin with ``--stdin``). The work is
:mod:`bot.outreach.accounts`, shared with the console and the bot.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import by_name, fail, load_settings, on_db, out

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.store.coordinators import Account
    from bot.store.units import Units

coordinators_app = typer.Typer(
    help="Console accounts: add, list, remove, a sign-in link, a password.",
    no_args_is_help=True,
)

Name = Annotated[str, typer.Argument(help="The coordinator's name, as actions record it.")]


def sign_in_url(settings: Settings, token: str, local: str | None = None) -> str:
    """The link a coordinator opens: under PUBLIC_BASE_URL, else ``local`` (the address
    ``serve`` listens on), else http://127.0.0.1:8080."""
    root = settings.console_url or (local or "http://127.0.0.1:8080") + "/console"
    return f"{root}/login/{token}"


@coordinators_app.command("add")
def add(
    name: Name,
    telegram_id: Annotated[
        int | None, typer.Option("--telegram-id", help="Their Telegram user id, for /login.")
    ] = None,
    admin: Annotated[bool, typer.Option("--admin", help="May manage other coordinators.")] = False,
    by: Annotated[str | None, typer.Option("--by", help="Who adds them (default: you).")] = None,
) -> None:
    """Add a coordinator; they sign in with `outreach coordinators link NAME` or /login."""
    from datetime import UTC, datetime

    from bot.outreach.accounts import CoordinatorExists, add_coordinator

    settings = load_settings()
    who = by_name(by)
    try:
        account = on_db(
            settings,
            lambda u: add_coordinator(
                u, name, telegram_id=telegram_id, admin=admin, by=who, now=datetime.now(UTC)
            ),
        )
    except (ValueError, CoordinatorExists) as exc:
        fail(str(exc))
    role = "admin" if account.is_admin else "coordinator"
    out.print(f"Added {role} {account.name}. A sign-in link: outreach coordinators link {name!r}")


@coordinators_app.command("list")
def list_coordinators() -> None:
    """Every coordinator: name, role, Telegram id, whether a password is set."""
    from rich.table import Table

    from bot.store import coordinators

    settings = load_settings()
    accounts: list[Account] = on_db(settings, lambda u: u.run(coordinators.everyone))
    if not accounts:
        out.print("No coordinators yet: outreach coordinators add NAME [--admin]")
        return
    table = Table("name", "role", "telegram id", "password", "added by", "added")
    for a in accounts:
        table.add_row(
            a.name,
            "admin" if a.is_admin else "coordinator",
            str(a.telegram_id or ""),
            "set" if a.has_password else "-",
            a.created_by,
            a.created_at.date().isoformat(),
        )
    out.print(table)


@coordinators_app.command("remove")
def remove(
    name: Name,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask first.")] = False,
) -> None:
    """Remove a coordinator: their sessions and links stop working at once."""
    from bot.store import coordinators
    from bot.store.models import NotFound

    settings = load_settings()
    if not yes:
        if not sys.stdin.isatty():
            fail(f"Removing {name} needs confirmation: run it in a terminal or add --yes.")
        typer.confirm(f"Remove coordinator {name}?", abort=True)
    try:
        on_db(settings, lambda u: u.run(lambda c: coordinators.remove(c, name)))
    except NotFound as exc:
        fail(str(exc))
    out.print(f"Removed {name}.")


@coordinators_app.command("link")
def link(
    name: Name,
    minutes: Annotated[
        float | None, typer.Option(min=1, help="Minutes it works (CONSOLE_LINK_MINUTES).")
    ] = None,
) -> None:
    """Print a one-time sign-in link for a coordinator (it works once, for a few minutes)."""
    url, valid = _link(load_settings(), name, minutes)
    out.print(f"Sign-in link for {name} (works once, for {valid:g} minutes):")
    out.print(url, soft_wrap=True)


def _link(settings: Settings, name: str, minutes: float | None) -> tuple[str, float]:
    from datetime import UTC, datetime

    from bot.outreach.accounts import make_link
    from bot.store import coordinators

    valid = minutes or settings.console_link_minutes

    async def work(units: Units) -> str | None:
        account = await units.run(lambda c: coordinators.by_name(c, name))
        if account is None:
            return None
        return await make_link(units, account, datetime.now(UTC), valid)

    token = on_db(settings, work)
    if token is None:
        fail(f"No coordinator named {name!r}: outreach coordinators list shows them.")
    return sign_in_url(settings, token), valid


@coordinators_app.command("password")
def password(
    name: Name,
    stdin: Annotated[
        bool, typer.Option("--stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Set a coordinator's password (at least 10 characters); their other sessions end."""
    from bot.outreach.accounts import set_password
    from bot.store.models import NotFound

    settings = load_settings()
    if stdin:
        secret = sys.stdin.readline().rstrip("\n")
    else:
        secret = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        on_db(settings, lambda u: set_password(u, name, secret))
    except (ValueError, NotFound) as exc:
        fail(str(exc))
    out.print(f"Password set for {name}.")


LOCAL_ADMIN = "local admin"


def local_admin_link(settings: Settings, local: str) -> str:
    """A one-time link for the sandbox's own admin (made the first time),
    the way Jupyter prints its token URL: a newcomer is in with one click."""
    from datetime import UTC, datetime

    from bot.outreach.accounts import add_coordinator, make_link
    from bot.store import coordinators

    async def work(units: Units) -> str:
        now = datetime.now(UTC)
        account = await units.run(lambda c: coordinators.by_name(c, LOCAL_ADMIN))
        if account is None:
            account = await add_coordinator(
                units, LOCAL_ADMIN, telegram_id=None, admin=True, by="outreach serve", now=now
            )
        return await make_link(units, account, now, settings.console_link_minutes)

    return sign_in_url(settings, on_db(settings, work), local)
