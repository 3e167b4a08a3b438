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
    text_ur = text_ur.strip() if text_ur and text_ur.strip() else None
    text_roman = text_roman.strip() if text_roman and text_roman.strip() else None
    return Draft(
        text_en.strip(),
        text_ur,
        audience,
        tuple(sorted(audience.topics)),
        title,
        text_ur_latn=text_roman,
    )
