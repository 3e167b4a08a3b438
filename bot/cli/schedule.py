"""``outreach schedule``: announcements that go out at set times."""

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
    from rich.table import Column

    from bot.config import Settings
    from bot.core.audience import Audience
    from bot.outreach.coordinate import Preview, ScheduleInfo
    from bot.store.units import Units

schedule_app = typer.Typer(
    help="Announcements that go out at set times: add, list, show, pause, resume, remove.",
    no_args_is_help=True,
)

ScheduleId = Annotated[
    str, typer.Argument(metavar="ID", help="The schedule's number (see `outreach schedule list`).")
]


def _title_column() -> Column:
    """Titles are cut to one line in tables (``show`` prints them whole)."""
    from rich.table import Column

    return Column("announcement", max_width=18, no_wrap=True, overflow="ellipsis")


def _local(when: datetime, settings: Settings) -> str:
    """``Mon 30 Nov 2026 10:00 PKT`` in the configured time zone."""
    from zoneinfo import ZoneInfo

    from bot.core.schedule import format_fire

    return format_fire(when.astimezone(ZoneInfo(settings.timezone)))


def _audience_text(audience: Audience) -> str:
    """Who an audience picks, in words (as the console shows it)."""
    from bot.core.audience import describe_audience

    return describe_audience(audience)


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
    text_roman: TextRoman = None,
) -> None:
    """Schedule an announcement, once or again and again; `outreach serve` sends it on time.

    Prints when it will go out next and whom it would reach today. Pause it with
    `outreach schedule pause ID`.
    """
    from bot.core.schedule import RuleError
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
    now = datetime.now(UTC)
    try:
        rule, _ = coordinate.plan_rule(when, now, settings.timezone)
    except RuleError as exc:
        fail(str(exc))

    async def add(units: Units) -> tuple[ScheduleInfo, Preview]:
        info = await coordinate.add_schedule(units, announcement, rule, now, by="cli")
        return info, await coordinate.preview(units, settings, announcement)

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

    from rich.table import Table

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
    """One schedule: its texts (English, Urdu, Roman Urdu), who gets it, the next three
    times and any missed runs."""
    settings = coordinator_settings()
    setup_logging("WARNING")
    info = _get_schedule(settings, parse_number(number, "schedule"))
    lines = [
        f"Schedule {info.id}: {info.title}",
        f"When: {info.description}" + ("" if info.enabled else " (paused)"),
        f"To: {_audience_text(info.audience)}",
        *_texts(info),
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


def _texts(info: ScheduleInfo) -> list[str]:
    """Each language's text as its readers get it (Urdu and Roman Urdu readers get the
    English text when there is none of theirs)."""
    english = _indented(info.text_en)
    urdu = _indented(info.text_ur) if info.text_ur else "(none: Urdu readers get the English text)"
    roman = (
        _indented(info.text_ur_latn)
        if info.text_ur_latn
        else "(none: Roman Urdu readers get the English text)"
    )
    return [f"English: {english}", f"Urdu: {urdu}", f"Roman Urdu: {roman}"]


def _indented(text: str) -> str:
    """A text of several lines, its later lines indented under the first."""
    return "\n  ".join(text.splitlines()) or text


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
def schedule_remove(number: ScheduleId, yes: Yes = False) -> None:
    """Delete a schedule for good, after asking (--yes does not ask); reports of what it
    already sent stay."""
    from bot.outreach import coordinate

    settings = coordinator_settings()
    setup_logging("WARNING")
    schedule_id = parse_number(number, "schedule")
    info = _get_schedule(settings, schedule_id)
    confirm_or_exit(
        f"Remove schedule {schedule_id} ({info.title!r}, {info.description}) for good?",
        yes,
        f"Schedule {schedule_id} not removed",
    )
    if not on_db(settings, lambda units: coordinate.remove_schedule(units, schedule_id)):
        fail(f"There is no schedule {schedule_id}; `outreach schedule list` shows them.")
    out.print(f"Schedule {schedule_id} removed.")
