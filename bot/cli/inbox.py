"""``outreach inbox``: the conversations handed over to a person, from the terminal.

``list`` the open ones (``--all`` with the closed), ``show`` one with its messages, ``reply``
on the resident's own channel (SMS or Telegram, as the settings configure them; the
simulator in sandbox mode), ``close``. ``--by`` names who answers (default: the OS user).
The work is :class:`bot.outreach.handover.Handover`, shared with the Telegram screens.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from bot.cli.common import (
    by_name,
    coordinator_settings,
    database_errors,
    fail,
    load_or_exit,
    out,
    parse_number,
    setup_logging,
)

if TYPE_CHECKING:
    from bot.app.runtime import Runtime
    from bot.config import Settings

T = TypeVar("T")

inbox_app = typer.Typer(
    help="Conversations handed over to a person: list, show, reply, close.",
    no_args_is_help=True,
)


By = Annotated[
    str | None,
    typer.Option("--by", help="Who answers, as the thread records it (default: your OS user)."),
]


def _on_runtime(settings: Settings, work: Callable[[Runtime], Awaitable[T]], *, send: bool) -> T:
    """``work`` with the runtime; with ``send``, the real channels (Telegram initialised)."""
    import asyncio

    from bot.app.runtime import open_runtime
    from bot.store.migrate import require_current

    catalog = load_or_exit(settings.content_dir)

    async def run() -> T:
        await require_current(settings.database_url)
        async with open_runtime(settings, simulate=not send, catalog=catalog) as rt:
            bot = rt.telegram.application.bot if rt.telegram is not None else None
            if rt.telegram is not None:
                await rt.telegram.start_sending()
            try:
                return await work(rt)
            finally:
                if bot is not None:
                    await bot.shutdown()

    with database_errors(settings):
        return asyncio.run(run())


@inbox_app.command("list")
def list_threads(
    show_all: Annotated[bool, typer.Option("--all", help="Closed threads too.")] = False,
    limit: Annotated[int, typer.Option(min=1, help="How many of the newest.")] = 50,
) -> None:
    """The threads waiting for or being answered by a person, newest first."""
    from rich.table import Table

    from bot.core.schedule import format_fire
    from bot.outreach.handover import who
    from bot.store.models import THREAD_STATES
    from bot.store.threads import OPEN_STATES

    settings = coordinator_settings()
    setup_logging("WARNING")
    states = THREAD_STATES if show_all else OPEN_STATES
    found = _on_runtime(settings, lambda rt: rt.handover.list(states, limit), send=False)
    if not found:
        out.print("No threads." if show_all else "No open threads. `--all` shows closed ones.")
        return
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(settings.timezone)
    table = Table("#", "state", "channel", "language", "resident", "messages", "since", "by")
    for t in found:
        table.add_row(
            str(t.id),
            t.state,
            t.channel,
            t.language or "-",
            who(t),
            str(t.messages),
            format_fire(t.created_at.astimezone(tz)),
            t.claimed_by or "-",
        )
    out.print(table)


@inbox_app.command()
def show(number: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """One thread: who, where, its state and the resident's last messages both ways."""
    settings = coordinator_settings()
    setup_logging("WARNING")
    thread_id = parse_number(number, "inbox")
    view = _on_runtime(settings, lambda rt: rt.handover.show(thread_id, 20), send=False)
    if view is None:
        fail(f"There is no thread {thread_id}; `outreach inbox list` shows them.")
    from zoneinfo import ZoneInfo

    from bot.core.schedule import format_fire
    from bot.outreach.handover import who

    tz = ZoneInfo(settings.timezone)
    t = view.thread
    out.print(
        f"Thread #{t.id}: {t.state}, {t.channel}, {t.language or 'language unknown'}, {who(t)}",
        markup=False,
    )
    for label, person, when in (
        ("claimed", t.claimed_by, t.claimed_at),
        ("answered", t.answered_by, t.answered_at),
        ("closed", t.closed_by, t.closed_at),
    ):
        if person is not None and when is not None:
            out.print(f"{label} by {person} at {format_fire(when.astimezone(tz))}", markup=False)
    if t.contact_status != "active":
        out.print(f"The resident is {t.contact_status}: replies are refused.", markup=False)
    out.print()
    for line in view.lines:
        arrow = "<" if line.direction == "in" else ">"
        stamp = format_fire(line.created_at.astimezone(tz))
        out.print(f"{arrow} {stamp}  {line.text}", markup=False, soft_wrap=True)


@inbox_app.command()
def reply(
    number: Annotated[str, typer.Argument(metavar="ID")],
    text: Annotated[str, typer.Argument(help="What to send to the resident.")],
    by: By = None,
    yes: Annotated[bool, typer.Option("--yes", help="Send without asking.")] = False,
) -> None:
    """Send TEXT to the thread's resident on their own channel, as its answerer.

    Shows the SMS segments first and asks; refused (exit 1) when the resident opted out, the
    thread is closed or someone else answers it, or an SMS is over SMS_MAX_SEGMENTS. When the
    provider is down the reply is kept and sent by the running bot once it answers again.
    """
    from datetime import UTC, datetime

    from bot.outreach.handover import ReplyRefused, cost_line, outcome_line, who

    settings = coordinator_settings()
    setup_logging("WARNING")
    thread_id = parse_number(number, "inbox")
    author = by_name(by)

    async def work(rt: Runtime) -> str:
        view = await rt.handover.show(thread_id)
        if view is None:
            raise ReplyRefused(f"There is no thread {thread_id}; `outreach inbox list` shows them.")
        problem = rt.handover.problem(view.thread, text)
        if problem is not None:
            raise ReplyRefused(problem)
        cost = cost_line(view.thread.channel, text, rt.settings.sms_max_segments)
        out.print(f"To {who(view.thread)} · {cost}", markup=False)
        if not yes and not typer.confirm("Send?", default=False, err=True):
            return "Not sent."
        sent = await rt.handover.reply(thread_id, text, author, datetime.now(UTC))
        problem = outcome_line(sent)
        if problem is not None and not sent.later:
            raise ReplyRefused(problem)
        return problem or f"Sent to thread #{thread_id} by {author}."

    try:
        message = _on_runtime(settings, work, send=True)
    except ReplyRefused as exc:
        fail(str(exc))
    out.print(message, markup=False)


@inbox_app.command()
def close(number: Annotated[str, typer.Argument(metavar="ID")], by: By = None) -> None:
    """End the thread: the resident's next question to a person opens a new one."""
    from datetime import UTC, datetime

    settings = coordinator_settings()
    setup_logging("WARNING")
    thread_id = parse_number(number, "inbox")
    author = by_name(by)
    done = _on_runtime(
        settings, lambda rt: rt.handover.close(thread_id, author, datetime.now(UTC)), send=False
    )
    if not done:
        fail(f"Thread {thread_id} is closed already, or there is no such thread.")
    out.print(f"Thread #{thread_id} closed by {author}.", markup=False)
