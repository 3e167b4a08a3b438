"""What residents asked that the bot could not answer, grouped by what it says.

The database counts the messages the bot could not answer (:data:`UNANSWERED`: not understood, or
about a topic the content lacks and handed over to a person) per exact text, channel and language
(:func:`bot.store.messages.unanswered`); :func:`group` folds those counts into groups a coordinator
reads: texts equal once normalised (case, spacing, punctuation, Urdu letter forms and digits:
:func:`bot.core.normalize.normalize`) are one group, and a text within a typo of a more-asked
group's (``fees kitni hai`` / ``fess kitni hai``) joins it. Groups come most asked first, each with
its commonest ways of writing it and its split by channel and language.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from rapidfuzz import fuzz, process

from bot.core.decision import Intent
from bot.core.normalize import normalize

# The intents of a question the bot could not answer.
UNANSWERED: tuple[Intent, ...] = ("unknown", "no_answer")

# Two normalised texts at least this similar (rapidfuzz's ratio, 0-100) are one question.
# 90 joins one slipped letter in a dozen ("fess kitni hai") and keeps apart texts that
# differ by a word ("fees kab hai" / "fees kitni hai" score 80).
SIMILAR = 90
# A text with no letters or digits ("??", "👍") is grouped under this.
NO_WORDS = "(no letters or digits)"


@dataclass(frozen=True, slots=True)
class Asked:
    """How often one exact text came, on one channel, answered in one language."""

    text: str
    channel: str
    language: str | None
    count: int
    last: datetime


@dataclass(slots=True)
class Group:
    """One question: ``key`` is its most asked normalised form, ``examples`` the commonest
    texts as residents wrote them, most asked first."""

    key: str
    count: int = 0
    last: datetime | None = None
    channels: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)
    texts: Counter[str] = field(default_factory=Counter)

    def examples(self, limit: int = 3) -> list[str]:
        return [text for text, _ in self.texts.most_common(limit)]

    def add(self, other: Group) -> None:
        self.count += other.count
        self.channels.update(other.channels)
        self.languages.update(other.languages)
        self.texts.update(other.texts)
        if other.last is not None and (self.last is None or other.last > self.last):
            self.last = other.last


def group(asked: Iterable[Asked], *, similar: int = SIMILAR) -> list[Group]:
    """Groups, most asked first (then the latest asked, then by text, so the order is fixed)."""
    exact: dict[str, Group] = {}
    for row in asked:
        key = normalize(row.text) or NO_WORDS
        g = exact.setdefault(key, Group(key))
        g.add(
            Group(
                key,
                row.count,
                row.last,
                Counter({row.channel: row.count}),
                Counter({row.language or "?": row.count}),
                Counter({row.text.strip(): row.count}),
            )
        )
    merged: list[Group] = []
    keys: list[str] = []
    for g in sorted(exact.values(), key=_order):
        hit = None
        if g.key != NO_WORDS and keys:
            hit = process.extractOne(g.key, keys, scorer=fuzz.ratio, score_cutoff=similar)
        if hit is None:
            merged.append(g)
            keys.append(g.key)
        else:
            merged[hit[2]].add(g)
    return sorted(merged, key=_order)


def _order(g: Group) -> tuple[int, float, str]:
    return (-g.count, -(g.last.timestamp() if g.last else 0.0), g.key)
