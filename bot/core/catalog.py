"""The content the bot answers from, as frozen objects.

``bot.content`` builds a :class:`Catalog` from ``content/*.yaml``; everything in ``bot.core``
receives it ready-made and never sees a path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Lang = Literal["en", "ur"]
LANGS: tuple[Lang, ...] = ("en", "ur")

AnswerKind = Literal["topic", "faq", "program", "job"]


@dataclass(frozen=True, slots=True)
class LocalText:
    """One text in English and (optionally) Urdu; English is the fallback."""

    en: str
    ur: str | None = None

    def get(self, lang: Lang) -> str:
        if lang == "ur" and self.ur:
            return self.ur
        return self.en


@dataclass(frozen=True, slots=True)
class Answer:
    """Something a resident can ask about.

    ``sms`` is the short form (one GSM-7 segment where it can be), ``full`` the longer
    Telegram text. ``keywords`` holds every exact keyword and alias in every language, already
    normalised with :func:`bot.core.normalize.normalize`.
    """

    id: str
    kind: AnswerKind
    title: LocalText
    sms: LocalText
    full: LocalText
    keywords: tuple[str, ...] = ()
    number: int | None = None  # FAQ number (1-based) for kind == "faq"


@dataclass(frozen=True, slots=True)
class Catalog:
    """All content, validated. ``version`` is a short hash of the source files."""

    version: str
    answers: tuple[Answer, ...]
    system: Mapping[str, LocalText]
    by_id: Mapping[str, Answer] = field(default_factory=dict)

    def answer(self, answer_id: str) -> Answer:
        return self.by_id[answer_id]

    def faq(self, number: int) -> Answer | None:
        for a in self.answers:
            if a.kind == "faq" and a.number == number:
                return a
        return None

    def of_kind(self, kind: AnswerKind) -> tuple[Answer, ...]:
        return tuple(a for a in self.answers if a.kind == kind)

    def text(self, key: str, lang: Lang) -> str:
        return self.system[key].get(lang)


def build_catalog(
    version: str, answers: tuple[Answer, ...], system: Mapping[str, LocalText]
) -> Catalog:
    """Assemble a Catalog with its id index."""
    return Catalog(
        version=version,
        answers=answers,
        system=dict(system),
        by_id={a.id: a for a in answers},
    )


# Keys every content set must define in ``system``.
SYSTEM_KEYS: tuple[str, ...] = (
    "welcome",  # first contact / Telegram /start
    "menu",  # the short topic menu (also the fallback reply)
    "help",  # HELP / INFO; may contain {contact} which is filled from settings
    "help_no_contact",  # HELP when no contact line is configured
    "opted_out",  # confirmation after STOP
    "opted_in",  # confirmation after START
    "already_opted_out",  # a message from someone who is opted out and not opting in
    "not_understood",  # prefix when nothing matched; followed by the menu
    "language_switched",  # after LANG / URDU / ENGLISH
)
