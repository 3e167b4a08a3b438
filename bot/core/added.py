"""Coordinators' answers (``outreach answers add``) as the catalog sees them.

An :class:`AddedAnswer` is what a coordinator typed: an id, keywords in any of the three ways
of writing, an SMS text in English and Urdu, an optional one in Roman Urdu (without it a
Roman Urdu reader gets the English), and an optional Telegram text. :func:`with_added` puts
them into a
:class:`~bot.core.catalog.Catalog` beside the content's answers, as kind ``"added"``, so the
one :class:`~bot.core.keywords.Matcher` matches both. Checking them is
:mod:`bot.content.added`'s work; storing them :mod:`bot.store.answers`'.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.catalog import Answer, Catalog, LocalText, build_catalog
from bot.core.normalize import normalize


@dataclass(frozen=True, slots=True)
class AddedAnswer:
    """One coordinator answer, as typed. ``keywords`` are raw (normalised when matched)."""

    key: str
    keywords: tuple[str, ...]
    sms_en: str
    sms_ur: str
    sms_ur_latn: str | None = None
    telegram_en: str | None = None
    telegram_ur: str | None = None

    def title(self) -> str:
        """What lists and logs call it: its id in words ("admission_dates" -> "admission
        dates"); also matched, as content titles are."""
        return self.key.replace("_", " ")

    def to_answer(self) -> Answer:
        """The catalog's form: SMS as typed; on Telegram the Telegram text, else the SMS."""
        sms = LocalText(self.sms_en, self.sms_ur, self.sms_ur_latn or None)
        # An Urdu reader without an Urdu Telegram text gets the Urdu SMS, not English.
        full = LocalText(self.telegram_en or self.sms_en, self.telegram_ur or self.sms_ur)
        return Answer(
            id=self.key,
            kind="added",
            title=LocalText(self.title()),
            sms=sms,
            full=full,
            keywords=tuple(dict.fromkeys(k for k in map(normalize, self.keywords) if k)),
        )


def with_added(catalog: Catalog, added: Sequence[AddedAnswer], version: str) -> Catalog:
    """``catalog`` with ``added`` after its own answers; ``version`` tells the two apart
    (``<content version>+<answers version>``). The caller has dropped what clashes."""
    if not added:
        return catalog
    answers = (*catalog.answers, *(a.to_answer() for a in added))
    return build_catalog(
        f"{catalog.version}+{version}",
        answers,
        catalog.system,
        commands=catalog.commands,
        interests=catalog.interests,
        cities=catalog.cities,
        labels=catalog.labels,
        staff_keywords=catalog.staff_keywords,
        until_answered=catalog.until_answered,
    )
