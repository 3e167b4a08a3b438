"""The coordinators' commands: preview, send, follow and cancel announcements
(``outreach broadcast``), schedule them (``outreach schedule``), and ``outreach report``."""

from __future__ import annotations

import asyncio
import csv
import io
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Column, Table

from bot.cli.common import (
    ChannelOption,
    coordinator_settings,
    fail,
    load_or_exit,
    on_db,
    out,
    parse_number,
    setup_logging,
)
from bot.config import Settings

if TYPE_CHECKING:
    from bot.core.audience import Audience
    from bot.outreach.coordinate import Draft, Preview, Report, ScheduleInfo, Sent
    from bot.store.units import Units

broadcast_app = typer.Typer(
    help="Announcements to subscribers: preview, send now, follow, cancel.", no_args_is_help=True
)
schedule_app = typer.Typer(
    help="Announcements that go out at set times: add, list, show, pause, resume, remove.",
    no_args_is_help=True,
)

# Coordinators: preview, send, follow, cancel and schedule announcements; reports.

FOLLOW_POLL_SECONDS = 1.0

TextEn = Annotated[
    str,
    typer.Option(
        "--text-en",
        help="The announcement in English. Everyone gets it unless they read Urdu and "
        "--text-ur is given.",
    ),
]
TextUr = Annotated[
    str | None,
    typer.Option("--text-ur", help="The announcement in Urdu, for people who chose Urdu."),
]
Title = Annotated[
    str | None,
    typer.Option(help="A short name for lists and reports (default: the first line of the text)."),
]
Channels = Annotated[
    list[ChannelOption] | None,
    typer.Option("--channel", help="Only this channel: sms or telegram (repeatable)."),
]
Languages = Annotated[
    list[str] | None,
    typer.Option("--language", help="Only people who chose this language: en or ur (repeatable)."),
]
Topics = Annotated[
    list[str] | None,
    typer.Option(
        "--topic", help="Only people following this topic, e.g. jobs (repeatable: any of them)."
    ),
]
Cities = Annotated[
    list[str] | None,
    typer.Option("--city", help="Only people in this city, e.g. multan (repeatable)."),
]
BothChannels = Annotated[
    bool | None,
    typer.Option(
        "--both-channels/--cheapest-channel",
        help="Also text people who have Telegram, or reach them on Telegram only (which costs "
        "nothing). Default: the BROADCAST_BOTH_CHANNELS setting (off: Telegram only).",
        show_default=False,
    ),
]
BroadcastId = Annotated[
    str,
    typer.Argument(metavar="ID", help="The broadcast's number (see `outreach broadcast list`)."),
]
ScheduleId = Annotated[
    str, typer.Argument(metavar="ID", help="The schedule's number (see `outreach schedule list`).")
]


def _draft(
    settings: Settings,
    text_en: str,
    text_ur: str | None,
    channel: list[ChannelOption] | None,
    language: list[str] | None,
    topic: list[str] | None,
    city: list[str] | None,
    both_channels: bool | None,
    title: str | None = None,
) -> Draft:
    """The announcement the options describe; unknown topics, cities or languages exit 1."""
    from bot.core.audience import AudienceError, audience_from_dict
    from bot.outreach.coordinate import Draft

    if not text_en.strip():
        fail("--text-en is empty: write the announcement in English.")
    catalog = load_or_exit(settings.content_dir)
    for what, given, known in (
        ("topic", topic or [], [t.id for t in catalog.interests]),
        ("city", city or [], [c.id for c in catalog.cities]),
    ):
        unknown = [name for name in given if name.strip().lower() not in known]
        if unknown:
            fail(f"Unknown {what} {unknown[0]!r}; choose from {', '.join(known)}.")
    try:
        audience = audience_from_dict(
            {
                "channels": [c.value for c in channel] if channel else ["sms", "telegram"],
                "languages": language or [],
                "topics": [t.strip().lower() for t in topic or []],
                "cities": [c.strip().lower() for c in city or []],
                "both_channels": (
                    settings.broadcast_both_channels if both_channels is None else both_channels
                ),
            }
        )
    except AudienceError as exc:
        fail(str(exc))
    text_ur = text_ur if text_ur and text_ur.strip() else None
    return Draft(text_en.strip(), text_ur, audience, tuple(sorted(audience.topics)), title)


def _short(when: datetime, settings: Settings) -> str:
    """``30 Nov 10:00`` in the configured time zone, for tables."""
    from zoneinfo import ZoneInfo

    return when.astimezone(ZoneInfo(settings.timezone)).strftime("%d %b %H:%M")


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _title_column() -> Column:
    """Titles are cut to one line in tables (``show`` prints them whole)."""
    return Column("announcement", max_width=18, no_wrap=True, overflow="ellipsis")


def _people(n: int) -> str:
    return f"{n:,} {'person' if n == 1 else 'people'}"


def _local(when: datetime, settings: Settings) -> str:
    """``Mon 30 Nov 2026 10:00 PKT`` in the configured time zone."""
    from zoneinfo import ZoneInfo

    from bot.core.schedule import format_fire

    return format_fire(when.astimezone(ZoneInfo(settings.timezone)))


def _audience_text(audience: Audience) -> str:
    """Who an audience picks, in words: ``everyone``, ``SMS only; language ur; topics jobs``."""
    parts = []
    if audience.channels != {"sms", "telegram"}:
        parts.append(f"{'SMS' if 'sms' in audience.channels else 'Telegram'} only")
    elif audience.both_channels:
        parts.append("SMS and Telegram")
    if audience.languages:
        parts.append("language " + ", ".join(sorted(audience.languages)))
    if audience.topics:
        parts.append("topics " + ", ".join(sorted(audience.topics)))
    if audience.cities:
        parts.append("cities " + ", ".join(sorted(audience.cities)))
    return "; ".join(parts) or "everyone"


@broadcast_app.command("preview")
def broadcast_preview(
    text_en: TextEn,
    text_ur: TextUr = None,
    channel: Channels = None,
    language: Languages = None,
    topic: Topics = None,
    city: Cities = None,
    both_channels: BothChannels = None,
) -> None:
    """Who would get an announcement, what it costs and how long it takes; sends nothing."""
    from bot.outreach import coordinate

    settings = coordinator_settings()
    setup_logging("WARNING")
    draft = _draft(settings, text_en, text_ur, channel, language, topic, city, both_channels)
    shown = on_db(settings, lambda units: coordinate.preview(units, settings, draft))
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
    draft = _draft(settings, text_en, text_ur, channel, language, topic, city, both_channels, title)

    async def send(units: Units) -> Sent:
        shown = await coordinate.preview(units, settings, draft)
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
            return await coordinate.send_now(units, draft, datetime.now(UTC), by="cli")

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

    from bot.outreach import coordinate

    settings = coordinator_settings()
    setup_logging("WARNING")
    reports = on_db(settings, lambda units: coordinate.list_reports(units, limit))
    if not reports:
        out.print("No broadcasts yet. `outreach broadcast send --help` says how to send one.")
        return
    # Two lines each rather than a table: readable in an 80-column terminal.
    for r in reports:
        st = r.by_status
        out.print(
            f"#{r.broadcast_id} {_cut(r.title, 50)} ({r.status}, "
            f"{_short(r.scheduled_for, settings)})",
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
    from bot.outreach import coordinate

    settings = coordinator_settings()
    setup_logging("WARNING")
    broadcast_id = parse_number(number, "broadcast")

    async def show(units: Units) -> Report | None:
        report = await coordinate.get_report(units, broadcast_id)
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
    for line in coordinate.report_lines(report, settings.timezone):
        out.print(line, markup=False)


async def _follow(units: Units, report: Report) -> Report:
    """Poll the report every second, with a progress bar, until nothing is waiting."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from bot.outreach import coordinate

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=out,
    ) as progress:
        task = progress.add_task(f"Broadcast {report.broadcast_id}", total=report.total)
        while True:
            progress.update(task, total=report.total, completed=report.total - report.waiting)
            if report.waiting == 0:
                return report
            await asyncio.sleep(FOLLOW_POLL_SECONDS)
            latest = await coordinate.get_report(units, report.broadcast_id)
            if latest is None:  # deleted meanwhile: show what we last saw
                return report
            report = latest


@broadcast_app.command("cancel")
def broadcast_cancel(number: BroadcastId) -> None:
    """Stop a broadcast: messages not sent yet are skipped. Sent ones cannot be called back."""
    from bot.outreach import coordinate

    settings = coordinator_settings()
    setup_logging("WARNING")
    broadcast_id = parse_number(number, "broadcast")

    async def cancel(units: Units) -> tuple[Report | None, Report | None]:
        before = await coordinate.get_report(units, broadcast_id)
        if before is None:
            return None, None
        after = await coordinate.cancel_broadcast(units, broadcast_id, datetime.now(UTC), by="cli")
        return before, after

    before, after = on_db(settings, cancel)
    if before is None or after is None:
        fail(f"There is no broadcast {broadcast_id}; `outreach broadcast list` shows them.")
    if before.status not in ("queued", "sending"):
        fail(f"Broadcast {broadcast_id} is already {before.status}: nothing to cancel.")
    stopped = after.skipped_by_reason.get("cancelled", 0) - before.skipped_by_reason.get(
        "cancelled", 0
    )
    out.print(f"Broadcast {broadcast_id} cancelled: {stopped:,} waiting messages will not be sent.")
    if after.by_status["sending"]:
        out.print(f"{after.by_status['sending']:,} being sent right now may still arrive.")


@schedule_app.command("add")
def schedule_add(
    when: Annotated[
        str,
        typer.Option(
            "--when",
            help='When it goes out, in words: "every monday at 10:00", "every day at 9am", '
            '"on 5 december at 09:00", "every month on the 1st at 10:00", '
            '"every friday at 18:30 until 31 march". Times are in TIMEZONE.',
        ),
    ],
    text_en: TextEn,
    text_ur: TextUr = None,
    channel: Channels = None,
    language: Languages = None,
    topic: Topics = None,
    city: Cities = None,
    both_channels: BothChannels = None,
    title: Title = None,
) -> None:
    """Schedule an announcement, once or again and again; `outreach serve` sends it on time.

    Prints when it will go out next and whom it would reach today. Pause it with
    `outreach schedule pause ID`.
    """
    from bot.core.schedule import RuleError, next_fire, parse_rule
    from bot.outreach import coordinate

    settings = coordinator_settings()
    setup_logging("WARNING")
    draft = _draft(settings, text_en, text_ur, channel, language, topic, city, both_channels, title)
    now = datetime.now(UTC)
    try:
        rule = parse_rule(when, now, settings.timezone)
    except RuleError as exc:
        fail(str(exc))
    if next_fire(rule, now) is None:
        fail(f"{when!r} never comes again: nothing scheduled.")

    async def add(units: Units) -> tuple[ScheduleInfo, Preview]:
        info = await coordinate.add_schedule(units, draft, rule, now, by="cli")
        return info, await coordinate.preview(units, settings, draft)

    info, shown = on_db(settings, add)
    out.print(f"Schedule {info.id} added: {info.title!r}, {info.description}.", markup=False)
    next_times = ", ".join(_local(t, settings) for t in info.next_times)
    out.print(f"Next: {next_times}", markup=False)
    out.print("If it went out now:", markup=False)
    for line in shown.lines:
        out.print(f"  {line}", markup=False)


@schedule_app.command("list")
def schedule_list() -> None:
    """Every schedule: when it goes out, whether it is paused, when it goes next."""

    from bot.outreach import coordinate

    settings = coordinator_settings()
    setup_logging("WARNING")
    now = datetime.now(UTC)
    schedules = on_db(settings, lambda units: coordinate.list_schedules(units, now))
    if not schedules:
        out.print("No schedules yet. `outreach schedule add --help` says how to add one.")
        return
    table = Table("ID", _title_column(), "when", "next", "to", "missed", "by")
    for s in schedules:
        table.add_row(
            str(s.id),
            s.title,
            s.description,
            _next_text(s, settings),
            _audience_text(s.audience),
            str(len(s.missed)) if s.missed else "-",
            s.created_by or "-",
        )
    out.print(table)


def _next_text(info: ScheduleInfo, settings: Settings) -> str:
    if not info.enabled:
        return "paused"
    return _local(info.next_times[0], settings) if info.next_times else "finished"


def _get_schedule(settings: Settings, schedule_id: int) -> ScheduleInfo:
    from bot.outreach import coordinate

    now = datetime.now(UTC)
    info = on_db(settings, lambda units: coordinate.get_schedule(units, schedule_id, now))
    if info is None:
        fail(f"There is no schedule {schedule_id}; `outreach schedule list` shows them.")
    return info


@schedule_app.command("show")
def schedule_show(number: ScheduleId) -> None:
    """One schedule: its text, who gets it, the next three times and any missed runs."""
    settings = coordinator_settings()
    setup_logging("WARNING")
    info = _get_schedule(settings, parse_number(number, "schedule"))
    lines = [
        f"Schedule {info.id}: {info.title}",
        f"When: {info.description}" + ("" if info.enabled else " (paused)"),
        f"To: {_audience_text(info.audience)}",
        f"Text: {info.text_en}",
    ]
    if info.next_times:
        lines.append("Next: " + ", ".join(_local(t, settings) for t in info.next_times))
    else:
        lines.append(f"Next: {_next_text(info, settings)}")
    if info.last_fired_at is not None:
        lines.append(f"Last sent: {_local(info.last_fired_at, settings)}")
    if info.missed:
        lines.append(f"Missed while the bot was down ({len(info.missed)}):")
        lines.extend(f"  {_local(t, settings)}" for t in info.missed)
    lines.append(f"Added by: {info.created_by or '-'}")
    for line in lines:
        out.print(line, markup=False)


def _set_enabled(schedule_id: int, enabled: bool) -> None:
    from bot.outreach import coordinate

    settings = coordinator_settings()
    setup_logging("WARNING")
    now = datetime.now(UTC)
    info = on_db(
        settings, lambda units: coordinate.set_schedule_enabled(units, schedule_id, enabled, now)
    )
    if info is None:
        fail(f"There is no schedule {schedule_id}; `outreach schedule list` shows them.")
    if enabled:
        out.print(f"Schedule {schedule_id} resumed; next: {_next_text(info, settings)}.")
    else:
        out.print(f"Schedule {schedule_id} paused; `outreach schedule resume {schedule_id}`.")


@schedule_app.command("pause")
def schedule_pause(number: ScheduleId) -> None:
    """Stop a schedule from sending until it is resumed."""
    _set_enabled(parse_number(number, "schedule"), False)


@schedule_app.command("resume")
def schedule_resume(number: ScheduleId) -> None:
    """Let a paused schedule send again; times that passed while paused are not made up."""
    _set_enabled(parse_number(number, "schedule"), True)


@schedule_app.command("remove")
def schedule_remove(number: ScheduleId) -> None:
    """Delete a schedule for good; reports of what it already sent stay."""
    from bot.outreach import coordinate

    settings = coordinator_settings()
    setup_logging("WARNING")
    schedule_id = parse_number(number, "schedule")
    if not on_db(settings, lambda units: coordinate.remove_schedule(units, schedule_id)):
        fail(f"There is no schedule {schedule_id}; `outreach schedule list` shows them.")
    out.print(f"Schedule {schedule_id} removed.")


def report(
    number: Annotated[
        str | None,
        typer.Argument(metavar="[ID]", help="Only this broadcast (default: the latest ones)."),
    ] = None,
    as_csv: Annotated[
        bool, typer.Option("--csv", help="Write CSV (for a spreadsheet) instead of text.")
    ] = False,
    limit: Annotated[
        int, typer.Option(min=1, help="How many of the latest broadcasts to include.")
    ] = 20,
) -> None:
    """What became of the broadcasts: delivered, sent, failed (and why), skipped, waiting.

    delivered: the phone confirmed it; sent: the provider accepted it (Telegram never
    confirms); failed and skipped come with their reasons. CSV times are ISO 8601 in TIMEZONE.
    """
    from bot.outreach import coordinate

    settings = coordinator_settings()
    setup_logging("WARNING")
    broadcast_id = None if number is None else parse_number(number, "broadcast")

    async def load(units: Units) -> list[Report]:
        if broadcast_id is None:
            return await coordinate.list_reports(units, limit)
        found = await coordinate.get_report(units, broadcast_id)
        return [found] if found is not None else []

    reports = on_db(settings, load)
    if broadcast_id is not None and not reports:
        fail(f"There is no broadcast {broadcast_id}; `outreach broadcast list` shows them.")
    if as_csv:
        sys.stdout.write(_reports_csv(reports, settings))
        return
    if not reports:
        out.print("No broadcasts yet.")
    for n, r in enumerate(reports):
        if n:
            out.print()
        for line in coordinate.report_lines(r, settings.timezone):
            out.print(line, markup=False)


def _reports_csv(reports: list[Report], settings: Settings) -> str:
    """One row per broadcast; a column per delivery status (they add up to ``total``)."""
    from zoneinfo import ZoneInfo

    from bot.store.models import DELIVERY_STATUSES

    tz = ZoneInfo(settings.timezone)

    def _iso(when: datetime) -> str:
        return when.astimezone(tz).replace(microsecond=0).isoformat()

    def reasons(counts: dict[str, int]) -> str:
        return "; ".join(f"{reason}: {n}" for reason, n in counts.items())

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        (
            "broadcast_id", "title", "status", "scheduled_for", "created_by", "finished_at",
            "schedule_id", "total", *DELIVERY_STATUSES, "failed_reasons", "skipped_reasons",
            "cancelled_by",
        )
    )  # fmt: skip
    for r in reports:
        writer.writerow(
            (
                r.broadcast_id,
                r.title,
                r.status,
                _iso(r.scheduled_for),
                r.created_by or "",
                _iso(r.finished_at) if r.finished_at else "",
                r.schedule_id if r.schedule_id is not None else "",
                r.total,
                *(r.by_status[status] for status in DELIVERY_STATUSES),
                reasons(r.failed_by_reason),
                reasons(r.skipped_by_reason),
                r.cancelled_by or "",
            )
        )
    return buffer.getvalue()
