"""``outreach chat``: a person texts the bot from the terminal through the real pipeline."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from rich.console import Console
from rich.markup import escape

from bot.app.runtime import Runtime, open_runtime
from bot.config import Settings
from bot.core.catalog import Catalog
from bot.core.decision import Channel
from bot.core.segments import count_segments
from bot.outreach import chat
from bot.outreach.inbound import Outcome
from bot.store.migrate import require_current

_QUIT = {"/quit", "/exit", ":q"}


async def exchange(rt: Runtime, channel: Channel, address: str, text: str) -> Outcome:
    """One message in, its reply recorded and sent through the channel's sender."""
    return await chat.exchange(
        rt.inbox,
        rt.units,
        rt.catalog,
        rt.senders[channel],
        channel,
        address,
        text,
        datetime.now(UTC),
    )


def outcome_json(outcome: Outcome, channel: Channel) -> dict[str, object]:
    d = outcome.decision
    return {
        "channel": channel,
        "intent": d.intent if d else None,
        "answer_id": d.answer_id if d else None,
        "language": d.language if d else None,
        "matched": d.matched if d else None,
        "reply": outcome.reply_text,
        # Why the message got no answer of its own (null when it did): "opted_out",
        # "courtesy", "cost_guard" / "loop_guard" (the reply, if any, is the guard's notice)...
        "reason": outcome.reason,
        "segments": outcome.segments,
        "thread_id": outcome.thread_id,  # the hand-over to a person it joined, if any
    }


def _show(console: Console, outcome: Outcome, channel: Channel) -> None:
    if outcome.reply is None:
        console.print(f"[dim](no reply: {escape(chat.why(outcome))})[/dim]")
        return
    if outcome.held is not None:
        console.print(f"[dim](reply held by the {outcome.held}; this is its one notice)[/dim]")
    console.print(f"[bold green]bot ›[/bold green] {escape(outcome.reply.text)}")
    for row in outcome.reply.buttons:
        # Type a button's data to press it.
        console.print(
            "      "
            + "  ".join(f"[cyan][ {escape(b.label)} ][/cyan] [dim]{b.data}[/dim]" for b in row)
        )
    if channel == "sms":
        info = count_segments(outcome.reply.text)
        plural = "" if info.segments == 1 else "s"
        console.print(
            f"[dim]      {info.segments} SMS segment{plural} · {info.encoding} · "
            f"{len(outcome.reply.text)} characters[/dim]"
        )


async def run_chat(
    settings: Settings,
    channel: str,
    address: str,
    *,
    once: str | None,
    as_json: bool,
    console: Console,
    catalog: Catalog | None = None,
) -> int:
    """Run one exchange (``once``) or an interactive session; returns the exit code.

    Raises ``SchemaNotCurrent`` unless the database is at the current schema."""
    chan: Channel = "telegram" if channel == "telegram" else "sms"
    await require_current(settings.database_url)
    async with open_runtime(settings, simulate=True, catalog=catalog) as rt:
        if once is not None:
            outcome = await exchange(rt, chan, address, once)
            if as_json:
                console.print(
                    json.dumps(outcome_json(outcome, chan), ensure_ascii=False),
                    markup=False,
                    soft_wrap=True,
                )
            elif outcome.reply is not None:
                console.print(outcome.reply.text, markup=False, soft_wrap=True)
            return 0

        console.print(
            f"[bold]Dhanote Outreach chat[/bold] ({settings.mode} mode) as a {chan} user "
            f"{escape(address)}. Type a message; /quit or Ctrl-D leaves."
        )
        while True:
            try:
                text = await asyncio.to_thread(console.input, "[bold]you ›[/bold] ")
            except (EOFError, KeyboardInterrupt):
                console.print()
                return 0
            if text.strip() in _QUIT:
                return 0
            if not text.strip():
                continue
            _show(console, await exchange(rt, chan, address, text), chan)
