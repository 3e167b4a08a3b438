"""What ``outreach broadcast`` and ``outreach schedule`` share: the options that describe an
announcement (its texts and who gets it) and the :class:`~bot.outreach.coordinate.Draft`
they make."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import ChannelOption, fail, load_or_exit

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.outreach.coordinate import Draft

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
TextRoman = Annotated[
    str | None,
    typer.Option(
        "--text-roman",
        help="The announcement in Roman Urdu, for people who chose Roman Urdu (else they get "
        "the English text).",
    ),
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


def draft(
    settings: Settings,
    text_en: str,
    text_ur: str | None,
    channel: list[ChannelOption] | None,
    language: list[str] | None,
    topic: list[str] | None,
    city: list[str] | None,
    both_channels: bool | None,
    title: str | None = None,
    text_roman: str | None = None,
) -> Draft:
    """The announcement the options describe; unknown topics, cities or languages exit 1."""
    from bot.outreach.coordinate import DraftError, make_draft

    if not text_en.strip():
        fail("--text-en is empty: write the announcement in English.")
    try:
        return make_draft(
            settings,
            load_or_exit(settings.content_dir),
            text_en,
            text_ur,
            text_roman,
            channels=[c.value for c in channel or []],
            languages=language or [],
            topics=topic or [],
            cities=city or [],
            both_channels=both_channels,
            title=title,
        )
    except DraftError as exc:
        fail(str(exc))
