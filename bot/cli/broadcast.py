"""``outreach broadcast``: preview, send, follow and cancel announcements."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.announcement import (
    BothChannels,
    Channels,
    Cities,
    Languages,
    TextEn,
    TextRoman,
    TextUr,
    Title,
    Topics,
    draft,
)
from bot.cli.common import (
    Yes,
    confirm_or_exit,
    coordinator_settings,
    fail,
    on_db,
    out,
    parse_number,
    setup_logging,
)

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.outreach.coordinate import Sent
    from bot.outreach.reporting import Report
    from bot.store.units import Units

broadcast_app = typer.Typer(
    help="Announcements to subscribers: preview, send now, follow, cancel.", no_args_is_help=True
)

FOLLOW_POLL_SECONDS = 1.0

BroadcastId = Annotated[
    str,
    typer.Argument(metavar="ID", help="The broadcast's number (see `outreach broadcast list`)."),
]


def _short(when: datetime, settings: Settings) -> str:
    """``30 Nov 10:00`` in the configured time zone, for tables."""
    from zoneinfo import ZoneInfo

    return when.astimezone(ZoneInfo(settings.timezone)).strftime("%d %b %H:%M")


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _people(n: int) -> str:
    return f"{n:,} {'person' if n == 1 else 'people'}"


@broadcast_app.command("preview")
def broadcast_preview(
    text_en: TextEn,
    text_ur: TextUr = None,
    channel: Channels = None,
    language: Languages = None,
    topic: Topics = None,
    city: Cities = None,
    both_channels: BothChannels = None,
    text_roman: TextRoman = None,
) -> None:
    """Who would get an announcement, what it costs and how long it takes; sends nothing."""
    from bot.outreach import coordinate

    settings = coordinator_settings()
    setup_logging("WARNING")
    announcement = draft(
        settings,
        text_en,
        text_ur,
        channel,
        language,
        topic,
        city,
        both_channels,
        text_roman=text_roman,
    )
    shown = on_db(settings, lambda units: coordinate.preview(units, settings, announcement))
    for line in shown.lines:
        out.print(line, markup=False)


@broadcast_app.command("send")
def broadcast_send(
    text_en: TextEn,
    text_ur: TextUr = None,
    channel: Channels = None,
    language: Languages = None,
    topic: Topics = None,
    city: Cities = None,
    both_channels: BothChannels = None,
    title: Title = None,
    text_roman: TextRoman = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask for confirmation; send at once.")
    ] = False,
) -> None:
    """Send an announcement now: shows the preview, asks "Send to N people?", then queues it.

    Choose who gets it with the same options as `outreach broadcast preview`. People who
    opted out never get it. `outreach serve` delivers what is queued, at the providers' pace;
    `outreach broadcast show ID --follow` shows how far it got, `outreach broadcast cancel ID`
    stops it.
    """
    from bot.outreach import coordinate

    settings = coordinator_settings()
    setup_logging("WARNING")
    announcement = draft(
        settings,
        text_en,
        text_ur,
        channel,
        language,
        topic,
        city,
        both_channels,
        title,
        text_roman,
    )

    async def send(units: Units) -> Sent:
        shown = await coordinate.preview(units, settings, announcement)
        for line in shown.lines:
            out.print(line, markup=False)
        if shown.total == 0:
            fail("Nobody matches these options: nothing to send.")
        if not yes:
            try:
                agreed = typer.confirm(f"Send to {_people(shown.total)}?", default=False)
            except typer.Abort:
                agreed = False
            if not agreed:
                fail("Nothing sent.")
        with out.status(f"Queueing for {_people(shown.total)}…"):
            return await coordinate.send_now(
                units, settings, announcement, datetime.now(UTC), by="cli"
            )

    sent = on_db(settings, send)
    out.print(f"Broadcast {sent.broadcast_id} queued for {_people(sent.queued)}.", markup=False)
    if settings.mode == "sandbox":
        out.print("Sandbox mode: the simulator records the messages instead of sending them.")
    out.print(
        "`outreach serve` delivers it; follow with "
        f"`outreach broadcast show {sent.broadcast_id} --follow`",
        markup=False,
    )


@broadcast_app.command("list")
def broadcast_list(
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many, newest first.")] = 20,
) -> None:
    """The latest broadcasts (sent now or by a schedule) and how far each got.

    delivered: the phone confirmed; sent: the provider accepted it (Telegram never confirms);
    waiting: not sent yet.
    """
    from bot.outreach import reporting

    settings = coordinator_settings()
    setup_logging("WARNING")
    reports = on_db(settings, lambda units: reporting.list_reports(units, limit))
    if not reports:
        out.print("No broadcasts yet. `outreach broadcast send --help` says how to send one.")
        return
    # Two lines each rather than a table: readable in an 80-column terminal.
    for r in reports:
        st, b = r.by_status, r.broadcast
        out.print(
            f"#{b.id} {_cut(b.title, 50)} ({b.status}, {_short(b.scheduled_for, settings)})",
            markup=False,
        )
        out.print(
            f"    {_people(r.total)}: {st['delivered']:,} delivered, {st['sent']:,} sent, "
            f"{st['failed']:,} failed, {st['skipped']:,} skipped, {r.waiting:,} waiting",
            markup=False,
        )


@broadcast_app.command("show")
def broadcast_show(
    number: BroadcastId,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow", help="Keep watching, with a progress bar, until everything is sent."
        ),
    ] = False,
) -> None:
    """What became of one broadcast: delivered, sent, failed (and why), skipped, waiting."""
    from bot.outreach import reporting

    settings = coordinator_settings()
    setup_logging("WARNING")
    broadcast_id = parse_number(number, "broadcast")

    async def show(units: Units) -> Report | None:
        report = await reporting.get_report(units, broadcast_id)
        if report is None or not follow:
            return report
        return await _follow(units, report)

    try:
        report = on_db(settings, show)
    except KeyboardInterrupt:
        out.print(f"Stopped watching; broadcast {broadcast_id} carries on.")
        return
    if report is None:
        fail(f"There is no broadcast {broadcast_id}; `outreach broadcast list` shows them.")
    for line in reporting.report_lines(report, settings.timezone):
        out.print(line, markup=False)


async def _follow(units: Units, report: Report) -> Report:
    """Poll the report every second, with a progress bar, until nothing is waiting."""
    import asyncio

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from bot.outreach import reporting

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=out,
    ) as progress:
        task = progress.add_task(f"Broadcast {report.broadcast.id}", total=report.total)
        while True:
            progress.update(task, total=report.total, completed=report.total - report.waiting)
            if report.waiting == 0:
                return report
            await asyncio.sleep(FOLLOW_POLL_SECONDS)
            latest = await reporting.get_report(units, report.broadcast.id)
            if latest is None:  # deleted meanwhile: show what we last saw
                return report
            report = latest


@broadcast_app.command("cancel")
def broadcast_cancel(number: BroadcastId, yes: Yes = False) -> None:
    """Stop a broadcast, after asking (--yes does not ask): messages not sent yet are
    skipped. Sent ones cannot be called back."""
    from bot.outreach import reporting

    settings = coordinator_settings()
    setup_logging("WARNING")
    broadcast_id = parse_number(number, "broadcast")
    before = on_db(settings, lambda units: reporting.get_report(units, broadcast_id))
    if before is None:
        fail(f"There is no broadcast {broadcast_id}; `outreach broadcast list` shows them.")
    if before.broadcast.status not in ("queued", "sending"):
        fail(f"Broadcast {broadcast_id} is already {before.broadcast.status}: nothing to cancel.")
    confirm_or_exit(
        f"Cancel broadcast {broadcast_id} ({before.broadcast.title!r})? "
        f"{before.waiting:,} messages not sent yet will never go out.",
        yes,
        f"Broadcast {broadcast_id} not cancelled",
    )
    after = on_db(
        settings,
        lambda units: reporting.cancel_broadcast(units, broadcast_id, datetime.now(UTC), by="cli"),
    )
    if after is None or after.broadcast.status != "cancelled":
        status = after.broadcast.status if after is not None else "gone"
        fail(f"Broadcast {broadcast_id} is already {status}: nothing to cancel.")
    stopped = after.skipped_by_reason.get("cancelled", 0) - before.skipped_by_reason.get(
        "cancelled", 0
    )
    out.print(f"Broadcast {broadcast_id} cancelled: {stopped:,} waiting messages will not be sent.")
    if after.by_status["sending"]:
        out.print(f"{after.by_status['sending']:,} being sent right now may still arrive.")
