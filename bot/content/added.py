"""Check coordinators' answers by the rules ``content/`` follows, plus what is theirs alone.

:func:`problems` says everything wrong with one :class:`~bot.core.added.AddedAnswer` against
the content and the other added answers, as lines a coordinator can act on:

* the id: the content's rule (it goes into Telegram callback data), and taken by no content
  answer and no other added answer;
* keywords: at least one; each by the content's rule (letters or digits, no compliance,
  language or menu word), never read as something else before any answer is looked at
  (``stop please``, ``urdu mein``, ``faq 2``), and owned by no content answer (its keywords
  and title), no other added answer and none of the words that ask for a person
  (``content/staff.yaml`` ``keywords``). A word of ``staff.yaml``'s ``until_answered`` (a
  topic the content lacks: ``fees``, ``address``) is welcome: the answer takes it over from
  the hand-over (:class:`bot.core.keywords.Matcher`);
* the English SMS in one GSM-7 segment (as the content's), the Urdu SMS within
  ``max_segments`` (it would be cut otherwise), the Roman Urdu one GSM-7 segment, each
  Telegram text one Telegram message; no text empty.

:func:`usable` is what the live catalog takes from the database: answers that clash with
content edited since they were added lose the clashing keywords (content wins), and are
dropped when nothing is left of them; ``outreach content check`` reports the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from bot.content._fields import (
    answer_id_problem,
    checked_keyword,
    one_sms_problem,
    telegram_problem,
)
from bot.core.added import AddedAnswer
from bot.core.catalog import Catalog
from bot.core.keywords import Matcher
from bot.core.normalize import normalize
from bot.core.segments import count_segments

# How the matcher found what a message asks for, when that comes before any keyword: a
# keyword read this way could never reach its answer.
_BEFORE_KEYWORDS = frozenset({"compliance", "faq"})
_CONTROL_INTENTS = frozenset({"language", "menu", "courtesy"})


def problems(
    answer: AddedAnswer,
    catalog: Catalog,
    others: Iterable[AddedAnswer] = (),
    *,
    max_segments: int = 2,
) -> list[str]:
    """Everything wrong with ``answer`` (empty when it may be stored), one line each.

    ``catalog`` is the content alone; ``others`` the added answers it must not clash with
    (the one being edited left out).
    """
    found: list[str] = []
    owners = _owners(catalog, [o for o in others if o.key != answer.key])
    id_problem = answer_id_problem(answer.key)
    if id_problem is not None:
        found.append(f"id: {id_problem}")
    elif answer.key in catalog.by_id:
        found.append(f"id: '{answer.key}' is already an answer in content/")
    elif (title := normalize(answer.title())) in owners:
        found.append(f"id: '{answer.key}' is read as a keyword of {owners[title]}")
    found += _keyword_problems(answer, owners, Matcher.from_catalog(catalog))
    found += _text_problems(answer, max_segments)
    return found


def usable(catalog: Catalog, added: Sequence[AddedAnswer]) -> tuple[list[AddedAnswer], list[str]]:
    """The added answers the matcher may use (content wins a clash), and what was dropped."""
    kept: list[AddedAnswer] = []
    dropped: list[str] = []
    owners = _owners(catalog, ())
    for answer in added:
        if answer.key in catalog.by_id:
            dropped.append(f"{answer.key}: dropped, content/ now has an answer with this id")
            continue
        keywords: list[str] = []
        for raw in answer.keywords:
            owner = owners.get(normalize(raw))
            if owner is None:
                keywords.append(raw)
            else:
                dropped.append(f"{answer.key}: keyword '{raw}' dropped, {owner} has it")
        for keyword in (normalize(k) for k in (answer.title(), *keywords)):
            owners.setdefault(keyword, f"added answer '{answer.key}'")
        if keywords:
            kept.append(replace(answer, keywords=tuple(keywords)))
        else:
            dropped.append(f"{answer.key}: dropped, none of its keywords is left")
    return kept, dropped


def _owners(catalog: Catalog, others: Iterable[AddedAnswer]) -> dict[str, str]:
    """Normalised keyword or title -> who has it, as a coordinator would name them."""
    owners: dict[str, str] = {}
    for word in catalog.staff_keywords:
        owners.setdefault(word, "content/staff.yaml (asking for a person)")
    for a in catalog.answers:
        for text in (a.title.en, a.title.ur or "", *a.keywords):
            if key := normalize(text):
                owners.setdefault(key, f"the content answer '{a.id}'")
    for other in others:
        for text in (other.title(), *other.keywords):
            if key := normalize(text):
                owners.setdefault(key, f"the added answer '{other.key}'")
    return owners


def _keyword_problems(answer: AddedAnswer, owners: dict[str, str], matcher: Matcher) -> list[str]:
    found: list[str] = []
    if not answer.keywords:
        found.append("keywords: at least one keyword is needed")
    for raw in answer.keywords:
        keyword, problem = checked_keyword(raw)
        if keyword is None:
            found.append(f"keywords: {problem}")
            continue
        read_as = matcher.match(keyword)
        if read_as.stage in _BEFORE_KEYWORDS or read_as.intent in _CONTROL_INTENTS:
            what = "an FAQ number" if read_as.stage == "faq" else read_as.intent.replace("_", "-")
            found.append(
                f"keywords: '{raw}' is read as {what} before any answer's keywords, so it "
                "could never reach this one"
            )
        elif keyword in owners:
            found.append(f"keywords: '{raw}' is already a keyword of {owners[keyword]}")
    return found


def _text_problems(answer: AddedAnswer, max_segments: int) -> list[str]:
    found: list[str] = []
    for name, text, required in (
        ("sms-en", answer.sms_en, True),
        ("sms-ur", answer.sms_ur, True),
        ("sms-roman", answer.sms_ur_latn, False),
        ("telegram-en", answer.telegram_en, False),
        ("telegram-ur", answer.telegram_ur, False),
    ):
        if text is None:
            continue
        if not text.strip():
            if required:
                found.append(f"{name}: empty; every answer needs it")
            else:
                found.append(f"{name}: empty; leave it out instead")
            continue
        problem: str | None
        if name in ("sms-en", "sms-roman"):
            problem = one_sms_problem(text)
        elif name == "sms-ur":
            segments = count_segments(text).segments
            problem = (
                None
                if segments <= max_segments
                else f"{segments} SMS segments; replies are cut at {max_segments} "
                "(SMS_MAX_SEGMENTS), so shorten it"
            )
        else:
            problem = telegram_problem(text)
        if problem is not None:
            found.append(f"{name}: {problem}")
    return found
