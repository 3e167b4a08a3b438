"""``outreach answers``: answers coordinators add without a developer (fees, dates, address).

Each is checked by the content's rules (:mod:`bot.content.added`) and stored with who did it
(``--by``, else the computer's user name); a running bot answers with it within seconds
(:class:`bot.outreach.answers.LiveCatalog`). ``outreach content check`` checks them again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from bot.cli.common import (
    by_name,
    coordinator_settings,
    fail,
    first_line,
    load_or_exit,
    load_settings,
    on_db,
    out,
    setup_logging,
)

if TYPE_CHECKING:
    from pathlib import Path

    from bot.config import Settings
    from bot.core.added import AddedAnswer
    from bot.core.catalog import Catalog
    from bot.outreach.answers import StoredAnswer
    from bot.store.units import Units

T = TypeVar("T")

answers_app = typer.Typer(
    help="Answers coordinators add (fees, dates, address, contact): add, list, show, edit, remove.",
    no_args_is_help=True,
)

Key = Annotated[
    str,
    typer.Argument(
        metavar="ID",
        help="The answer's id: lowercase letters, digits and _ (fees, admission_dates).",
    ),
]
By = Annotated[
    str | None,
    typer.Option("--by", help="Who makes the change (default: your user name on this computer)."),
]
Keywords = Annotated[
    list[str] | None,
    typer.Option(
        "--keyword",
        "-k",
        help="A word or phrase residents text, in English, Roman Urdu or Urdu; repeat it.",
    ),
]
SmsEn = Annotated[
    str | None, typer.Option("--sms-en", help="English SMS: one GSM-7 segment (160 characters).")
]
SmsUr = Annotated[
    str | None,
    typer.Option(
        "--sms-ur", help="Urdu SMS, the English one translated (within SMS_MAX_SEGMENTS)."
    ),
]
SmsRoman = Annotated[
    str | None,
    typer.Option(
        "--sms-roman",
        help="Roman Urdu SMS, one GSM-7 segment; without it Roman Urdu readers get the English.",
    ),
]
TelegramEn = Annotated[
    str | None, typer.Option("--telegram-en", help="A longer English text for Telegram.")
]
TelegramUr = Annotated[
    str | None, typer.Option("--telegram-ur", help="A longer Urdu text for Telegram.")
]


@answers_app.command("add")
def answers_add(
    key: Key,
    keywords: Keywords = None,
    sms_en: SmsEn = None,
    sms_ur: SmsUr = None,
    sms_roman: SmsRoman = None,
    telegram_en: TelegramEn = None,
    telegram_ur: TelegramUr = None,
    by: By = None,
) -> None:
    """Add an answer: its keywords, an SMS text in English and Urdu, optionally Telegram texts.

    Checked like content/ (SMS length, keywords no other answer has, no STOP/HELP/language
    words); every problem is listed and nothing is stored until all are fixed. Write only
    what the park has confirmed: fees, dates, the address, the contact line.
    """
    from bot.core.added import AddedAnswer
    from bot.outreach import answers

    settings, content = _setup()
    who = by_name(by)
    missing = [
        name
        for name, value in (("--keyword", keywords), ("--sms-en", sms_en), ("--sms-ur", sms_ur))
        if value is None
    ]
    if missing:
        fail(f"Answer '{key}' not added: {', '.join(missing)} missing.")
    assert keywords is not None and sms_en is not None and sms_ur is not None
    answer = AddedAnswer(
        key=key,
        keywords=tuple(keywords),
        sms_en=sms_en,
        sms_ur=sms_ur,
        sms_ur_latn=sms_roman,
        telegram_en=telegram_en,
        telegram_ur=telegram_ur,
    )
    now = datetime.now(UTC)
    _run(
        settings,
        key,
        "added",
        lambda units: answers.add(
            units, content, answer, who, now, max_segments=settings.sms_max_segments
        ),
    )
    out.print(
        f"Answer '{key}' added by {who}. Running bots answer it within "
        f"{int(answers.REFRESH_EVERY.total_seconds())} seconds.",
        markup=False,
    )


@answers_app.command("edit")
def answers_edit(
    key: Key,
    keywords: Annotated[
        list[str] | None,
        typer.Option("--keyword", "-k", help="Replace all keywords with these; repeat it."),
    ] = None,
    add_keywords: Annotated[
        list[str] | None, typer.Option("--add-keyword", help="Add a keyword; repeat it.")
    ] = None,
    remove_keywords: Annotated[
        list[str] | None, typer.Option("--remove-keyword", help="Remove a keyword; repeat it.")
    ] = None,
    sms_en: SmsEn = None,
    sms_ur: SmsUr = None,
    sms_roman: SmsRoman = None,
    telegram_en: TelegramEn = None,
    telegram_ur: TelegramUr = None,
    by: By = None,
) -> None:
    """Change an answer: only what you give changes. An empty text ("") clears the Roman Urdu
    or a Telegram text. Checked like `add`."""
    from bot.core.added import AddedAnswer
    from bot.core.normalize import normalize
    from bot.outreach import answers

    settings, content = _setup()
    who = by_name(by)
    if not (
        keywords
        or add_keywords
        or remove_keywords
        or any(t is not None for t in (sms_en, sms_ur, sms_roman, telegram_en, telegram_ur))
    ):
        fail("Nothing to change: give the new keywords or texts (`outreach answers edit --help`).")
    unknown: list[str] = []

    def change(old: AddedAnswer) -> AddedAnswer:
        words = list(keywords) if keywords else list(old.keywords)
        words += add_keywords or []
        for word in remove_keywords or []:
            kept = [w for w in words if normalize(w) != normalize(word)]
            if len(kept) == len(words):
                unknown.append(word)
            words = kept
        return AddedAnswer(
            key=old.key,
            keywords=tuple(dict.fromkeys(words)),
            sms_en=old.sms_en if sms_en is None else sms_en,
            sms_ur=old.sms_ur if sms_ur is None else sms_ur,
            sms_ur_latn=_optional(sms_roman, old.sms_ur_latn),
            telegram_en=_optional(telegram_en, old.telegram_en),
            telegram_ur=_optional(telegram_ur, old.telegram_ur),
        )

    now = datetime.now(UTC)
    new = _run(
        settings,
        key,
        "changed",
        lambda units: answers.edit(
            units, content, key, change, who, now, max_segments=settings.sms_max_segments
        ),
    )
    if unknown:
        out.print(f"(not a keyword of '{key}': {', '.join(unknown)})", markup=False)
    if new is None:
        out.print(f"Answer '{key}' is unchanged.", markup=False)
    else:
        out.print(f"Answer '{key}' changed by {who}.", markup=False)


@answers_app.command("remove")
def answers_remove(
    key: Key,
    by: By = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask first.")] = False,
) -> None:
    """Remove an answer; its history stays (`outreach answers show ID`)."""
    from bot.outreach import answers

    settings = coordinator_settings()
    setup_logging("WARNING")
    who = by_name(by)
    if not yes and not typer.confirm(
        f"Remove answer '{key}'? Residents who text its keywords will no longer get it."
    ):
        fail("Nothing removed.")
    now = datetime.now(UTC)
    _run(settings, key, "removed", lambda units: answers.remove(units, key, who, now))
    out.print(f"Answer '{key}' removed by {who}.", markup=False)


@answers_app.command("list")
def answers_list() -> None:
    """Every added answer: keywords, English SMS, who changed it last and when."""
    from rich.table import Column, Table

    from bot.content.added import usable
    from bot.outreach import answers

    settings, content = _setup()
    found = on_db(settings, answers.list_all)
    if not found:
        out.print("No answers added yet; `outreach answers add --help` says how.")
        return
    table = Table(
        "id",
        Column("keywords", max_width=40),
        Column("SMS (English)", max_width=50),
        "changed by",
        "changed",
    )
    for s in found:
        a = s.answer
        table.add_row(
            a.key,
            ", ".join(a.keywords),
            a.sms_en,
            s.updated_by,
            answers.local_time(s.updated_at, settings.timezone),
        )
    out.print(table)
    _, dropped = usable(content, [s.answer for s in found])
    for line in dropped:
        out.print(f"! {line} (edit it, or run `outreach content check`)", markup=False)
    out.print(f"{len(found)} answer(s) added by coordinators.")


@answers_app.command("show")
def answers_show(key: Key) -> None:
    """One answer in full, with SMS segments per text and its latest changes."""
    from bot.outreach import answers

    settings = coordinator_settings()
    setup_logging("WARNING")
    found, changes = on_db(settings, lambda units: answers.show(units, key))
    if found is None and not changes:
        fail(f"There is no answer '{key}'; `outreach answers list` shows them.")
    if found is None:
        out.print(f"Answer '{key}' was removed.", markup=False)
    else:
        for line in answers.answer_lines(found, settings.timezone):
            out.print(line, markup=False)
    if changes:
        out.print("History (newest first):")
        for change in changes:
            out.print(f"  {answers.change_line(change, settings.timezone)}", markup=False)


def check_stored(content: Catalog, content_dir: Path) -> bool:
    """For `outreach content check`: the added answers in the database, checked against
    ``content`` and each other; True when all are fine. Without a database at the current
    schema, says so and passes (the content alone is what the folder check is about)."""
    import asyncio

    from sqlalchemy.exc import SQLAlchemyError

    from bot.cli.common import open_units
    from bot.outreach import answers
    from bot.store.migrate import SchemaNotCurrent

    settings = load_settings()

    async def load() -> list[StoredAnswer]:
        async with open_units(settings) as units:
            return await answers.list_all(units)

    try:
        found = asyncio.run(load())
    except (SchemaNotCurrent, SQLAlchemyError, OSError) as exc:
        out.print(f"Answers added by coordinators: not checked ({first_line(exc)})", markup=False)
        return True
    ok = True
    every = answers.problems_of(found, content, max_segments=settings.sms_max_segments)
    out.print(f"Answers added by coordinators (database): {len(found)}", markup=False)
    for s in found:
        a = s.answer
        found_problems = every[a.key]
        mark = "✓" if not found_problems else "✗"
        out.print(
            f"{mark} {a.key}: {', '.join(a.keywords)} (last changed by {s.updated_by})",
            markup=False,
        )
        for line in found_problems:
            out.print(f"    {line}", markup=False)
        ok = ok and not found_problems
    if not ok:
        out.print(
            f"Fix them with `outreach answers edit` (or change {content_dir}); until then "
            "the bot drops what clashes with the content.",
            markup=False,
        )
    return ok


def _optional(new: str | None, old: str | None) -> str | None:
    """An optional text in `edit`: unchanged when not given, cleared by an empty text."""
    if new is None:
        return old
    return new if new.strip() else None


def _setup() -> tuple[Settings, Catalog]:
    """The settings and the content (exit 1, saying why, when it is not valid)."""
    settings = coordinator_settings()
    setup_logging("WARNING")
    return settings, load_or_exit(settings.content_dir)


def _run(settings: Settings, key: str, done: str, work: Callable[[Units], Awaitable[T]]) -> T:
    """``work`` on the database; a problem with the answer is one clear message and exit 1."""
    from bot.outreach.answers import AnswerExists, Invalid, NotFound

    try:
        return on_db(settings, work)
    except Invalid as exc:
        lines = "\n".join(f"  - {p}" for p in exc.problems)
        fail(f"Answer '{key}' not {done}, {len(exc.problems)} problem(s):\n{lines}")
    except AnswerExists:
        fail(f"There is already an answer '{key}'; change it with `outreach answers edit {key}`.")
    except NotFound:
        fail(f"There is no answer '{key}'; `outreach answers list` shows them.")
