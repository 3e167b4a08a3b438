"""Normalised text -> what the resident asked for.

:class:`Matcher` is built once per catalog and then answers :meth:`Matcher.match` in a few
microseconds. Stages, first hit wins:

1. compliance: STOP / START / HELP and their Urdu and Roman Urdu forms (never fuzzy);
2. control words: language (URDU, ENGLISH, ROMAN, LANG), menu (MENU, 0, greetings) and
   courtesy (thanks, ok, "theek hai": intent ``courtesy``);
3. the whole message equals a keyword or an answer title;
4. ``FAQ n`` in any spelling, or a bare number 1..N (the FAQ numbers);
5. a keyword phrase inside the message, when the rest of the message is only stop words,
   place names or politeness ("jobs kahan hain");
6. the same control-word and keyword checks after correcting typos against the keyword
   vocabulary (:mod:`bot.core.spelling`: "jbos", "traning", "nokri");
7. BM25F search over the answers ("how can women benefit");
8. a keyword phrase found in step 5 or 6 even though the message says more;
9. nothing: ``unknown``.

The catalog's staff keywords ("staff", "insaan se baat") take part in steps 3, 5, 6 and 8
like an answer's, and give intent ``staff``: the resident asks for a person. Its
``until_answered`` words ("fees", "address", "داخلہ کب") do the same with intent
``no_answer``: the content does not say, so a person answers. An answer keyword with the same
stems (a coordinator's ``fees`` answer) takes such a word over: the answer is given instead.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bot.core import lexicon as lx
from bot.core.catalog import Answer, Catalog, Lang
from bot.core.decision import Intent
from bot.core.normalize import normalize
from bot.core.search import SearchIndex, stem
from bot.core.spelling import MIN_LENGTH, Speller

Stage = Literal["compliance", "keyword", "faq", "fuzzy", "search", "fallback"]

# Only the start of a long message is considered: a keyword texted by SMS sits at the start,
# and a bound on the input is a bound on the time spent.
MAX_CHARS = 160
# At most this many unknown words of one message are handed to the speller.
FUZZY_MAX_TOKENS = 6
# Control words short enough to be one slip from ordinary words ("loan" -> "lang") are
# reached only by a spelling variant ("menuu"); longer ones ("langauge", "englsh") by any typo.
FUZZY_CONTROL_MIN_LEN = 6
# A search hit below this BM25F score is noise (one common word shared with a long text).
SEARCH_MIN_SCORE = 3.0

_FAQ = re.compile(
    r"(?:f ?a ?q ?s?|sawal|swal|sawaal|سوال|question|ques|q) ?"
    r"(?:(?:no|number|num|nmbr|nr|نمبر) ?)?([0-9]{1,4})(?: |$)"
)
_FAQ_ALONE = frozenset({"faq", "faqs", "f a q", "sawal", "سوال", "سوالات", "questions"})
_NUMBER = re.compile(r"[0-9]{1,4}")


@dataclass(frozen=True, slots=True)
class Match:
    """What a message asks for and which stage found it.

    ``answer_id`` is set for intent ``answer``; ``language`` for intent ``language`` is the
    language asked for, or None for "switch to the other one".
    """

    intent: Intent
    stage: Stage
    answer_id: str | None = None
    language: Lang | None = None


_UNKNOWN = Match("unknown", "fallback")
# Stand for "a person" among the answer ids of the keyword tables (never valid answer ids).
_STAFF = "@staff"
_NO_ANSWER = "@no_answer"
_COMPLIANCE = {i: Match(i, "compliance") for i in ("opt_out", "opt_in", "help")}
_COMPLIANCE_FIRST = frozenset(p[0] for p in lx.OPT_OUT | lx.OPT_IN | lx.HELP)
_IGNORABLE = lx.STOPWORDS | lx.PLACES | lx.POLITE
_LANGUAGE_OK = lx.LANGUAGE_FILLER | lx.LANGUAGE_WORDS.keys()
_MENU_OK = lx.MENU_FILLER | lx.MENU_WORDS
_COURTESY_OK = lx.COURTESY_FILLER | lx.COURTESY_WORDS
_COMPLIANCE_WORDS = frozenset(w for p in lx.OPT_OUT | lx.OPT_IN | lx.HELP for w in p)


def _covered(tokens: Sequence[str], phrases: frozenset[tuple[str, ...]]) -> bool:
    """True when ``tokens`` are phrases from ``phrases`` (at least one) plus polite filler."""
    i, found, n = 0, False, len(tokens)
    while i < n:
        for size in (3, 2, 1):
            if i + size <= n and tuple(tokens[i : i + size]) in phrases:
                i, found = i + size, True
                break
        else:
            if tokens[i] not in lx.POLITE:
                return False
            i += 1
    return found


def compliance(tokens: Sequence[str]) -> Intent | None:
    """``opt_out`` / ``opt_in`` / ``help`` for a compliance message, else None.

    Opt-out when the first word is a stop word, or when a short message is only opt-out
    words and politeness ("please stop", "mujhe band karo"). START and HELP count only alone
    or with politeness: "help me" is HELP, "help jobs" is a question about jobs.
    """
    if not tokens or _COMPLIANCE_FIRST.isdisjoint(tokens):
        return None
    if tokens[0] in lx.OPT_OUT_LEADING:
        return "opt_out"
    if len(tokens) > lx.COMPLIANCE_MAX_TOKENS:
        return None
    if _covered(tokens, lx.OPT_OUT):
        return "opt_out"
    if _covered(tokens, lx.OPT_IN):
        return "opt_in"
    if _covered(tokens, lx.HELP):
        return "help"
    return None


def _control(tokens: Sequence[str], stage: Stage) -> Match | None:
    """Language and menu words, alone or with filler ("urdu mein", "menu please", "salam"),
    and courtesy ("thanks", "theek hai", "شکریہ")."""
    if len(tokens) <= lx.COMPLIANCE_MAX_TOKENS and _LANGUAGE_OK.issuperset(tokens):
        asked = [w for w in tokens if w in lx.LANGUAGE_WORDS]
        if asked:
            explicit = [lx.LANGUAGE_WORDS[w] for w in asked if lx.LANGUAGE_WORDS[w]]
            if "ur-Latn" in explicit:  # "roman urdu": Roman Urdu, not Urdu script
                return Match("language", stage, language="ur-Latn")
            return Match("language", stage, language=explicit[-1] if explicit else None)
    if (
        len(tokens) <= lx.COMPLIANCE_MAX_TOKENS
        and _MENU_OK.issuperset(tokens)
        and not lx.MENU_WORDS.isdisjoint(tokens)
    ):
        return Match("menu", stage)
    if (
        len(tokens) <= lx.COMPLIANCE_MAX_TOKENS
        and _COURTESY_OK.issuperset(tokens)
        and not lx.COURTESY_WORDS.isdisjoint(tokens)
    ):
        return Match("courtesy", stage)
    return None


class Matcher:
    """Keyword matcher for one catalog. Build with :meth:`from_catalog`; immutable after."""

    def __init__(
        self,
        answers: Sequence[Answer],
        staff: Sequence[str] = (),
        until_answered: Sequence[str] = (),
    ) -> None:
        self._exact: dict[str, str] = {}
        # first stem -> [(phrase stems, answer id, weak)]; a weak phrase is made only of
        # ignorable words ("dhanote", "multan"): it may answer a message on its own but
        # yields to any other keyword in the same message.
        self._phrases: dict[str, list[tuple[tuple[str, ...], str, bool]]] = {}
        vocabulary: dict[str, None] = {}
        for a in answers:  # titles first so that a keyword wins over another answer's title
            for title in (a.title.en, a.title.ur or ""):
                if key := normalize(title):
                    self._exact[key] = a.id
        owners = [(a.id, a.keywords) for a in answers]
        # A topic a person answers only until an answer has the word (any form of it).
        answered = {_stems(k) for a in answers for k in (a.title.en, a.title.ur or "", *a.keywords)}
        unanswered = tuple(k for k in until_answered if _stems(k) not in answered)
        for owner, keywords in (*owners, (_STAFF, tuple(staff)), (_NO_ANSWER, unanswered)):
            for keyword in dict.fromkeys(normalize(k) for k in keywords):
                if not keyword:
                    continue
                self._exact[keyword] = owner
                words = keyword.split()
                stems = tuple(stem(w) for w in words)
                weak = _IGNORABLE.issuperset(words)
                self._phrases.setdefault(stems[0], []).append((stems, owner, weak))
                vocabulary.update((w, None) for w in words if w not in _IGNORABLE)
        for candidates in self._phrases.values():
            candidates.sort(key=lambda c: -len(c[0]))  # longest phrase first
        self._faqs = {a.number: a.id for a in answers if a.kind == "faq" and a.number}
        self._answers = tuple(answers)
        control = (*lx.LANGUAGE_WORDS, *lx.MENU_WORDS)
        vocabulary.update((w, None) for w in control if len(w) >= FUZZY_CONTROL_MIN_LEN)
        short_control = [w for w in control if len(w) < FUZZY_CONTROL_MIN_LEN]
        # Words that are spelled right already: never "corrected" into something else.
        self._known = (
            frozenset(vocabulary)
            | _IGNORABLE
            | _LANGUAGE_OK
            | _MENU_OK
            | _COURTESY_OK
            | _COMPLIANCE_WORDS
        )
        self._speller = Speller(vocabulary, folded_only=short_control)

    @functools.cached_property
    def _search(self) -> SearchIndex:
        # Built when a message first gets past the keywords: building it is most of the
        # matcher's set-up, and most messages (an `outreach chat --once` of one) never need it.
        return SearchIndex(
            [
                (
                    a.id,
                    {
                        "keywords": _keyword_text(a),
                        "title": f"{a.title.en} {a.title.ur or ''}",
                        "sms": f"{a.sms.en} {a.sms.ur or ''}",
                        "full": f"{a.full.en} {a.full.ur or ''}",
                    },
                )
                for a in self._answers
            ]
        )

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> Matcher:
        """Precompute every table the matcher needs from ``catalog``."""
        return cls(catalog.answers, catalog.staff_keywords, catalog.until_answered)

    @property
    def faq_numbers(self) -> tuple[int, ...]:
        """The FAQ numbers the catalog has, ascending."""
        return tuple(sorted(self._faqs))

    def match(self, text: str) -> Match:
        """Classify already-normalised ``text`` (see :func:`bot.core.normalize.normalize`).

        Never raises; anything unrecognised is ``Match("unknown", "fallback")``.
        """
        text = text[:MAX_CHARS]
        tokens = text.split()
        if not tokens:
            return _UNKNOWN
        intent = compliance(tokens)
        if intent is not None:
            return _COMPLIANCE[intent]
        found = _control(tokens, "keyword")
        if found is not None:
            return found
        answer_id = self._exact.get(text)
        if answer_id is not None:
            return _answer("keyword", answer_id)
        found = self._faq(text)
        if found is not None:
            return found
        stems = [stem(t) for t in tokens]
        phrase_id, whole = self._contained(tokens, stems)
        if whole:
            return _answer("keyword", phrase_id)
        corrected = self._correct(tokens)
        if corrected is not None:
            found = _control(corrected, "fuzzy")
            if found is not None:
                return found
            stems = [stem(t) for t in corrected]
            fuzzy_id, whole = self._contained(corrected, stems)
            if whole:
                return _answer("fuzzy", fuzzy_id)
            phrase_id = phrase_id or fuzzy_id
        hit = self._search.search(stems)
        if hit is not None and hit.score >= SEARCH_MIN_SCORE:
            return Match("answer", "search", hit.doc_id)
        if phrase_id is not None:
            return _answer("keyword", phrase_id)
        return _UNKNOWN

    def _faq(self, text: str) -> Match | None:
        """``FAQ n`` (any spacing, Urdu digits already folded) or a bare number.

        A bare number 1..N is FAQ n, because menus and printed leaflets list FAQs by number;
        an out-of-range ``FAQ n`` gets the menu, but a bare out-of-range number (a year, a
        phone number) is simply not understood.
        """
        m = _FAQ.match(text)
        if m is not None:
            answer_id = self._faqs.get(int(m.group(1)))
            return Match("answer", "faq", answer_id) if answer_id else Match("menu", "faq")
        if text in _FAQ_ALONE:
            return Match("menu", "faq")
        if _NUMBER.fullmatch(text):
            answer_id = self._faqs.get(int(text))
            return Match("answer", "faq", answer_id) if answer_id else _UNKNOWN
        return None

    def _contained(self, tokens: Sequence[str], stems: Sequence[str]) -> tuple[str | None, bool]:
        """The answer of the longest keyword phrase in the message (earliest on a tie, weak
        phrases last), and whether the phrases of that answer explain the whole message
        (every other token ignorable).

        Phrases are compared stem by stem, so "job" finds the keyword "jobs".
        """
        hits: list[tuple[int, int, str, bool]] = []  # (start, size, answer id, weak)
        for i, s in enumerate(stems):
            for phrase, answer_id, weak in self._phrases.get(s, ()):
                size = len(phrase)
                if tuple(stems[i : i + size]) == phrase:
                    hits.append((i, size, answer_id, weak))
                    break
        if not hits:
            return None, False
        best = max(hits, key=lambda h: (not h[3], h[1], -h[0]))[2]
        covered: set[int] = set()
        for start, size, answer_id, _ in hits:
            if answer_id == best:
                covered.update(range(start, start + size))
        whole = all(i in covered or t in _IGNORABLE for i, t in enumerate(tokens))
        return best, whole

    def _correct(self, tokens: Sequence[str]) -> list[str] | None:
        """``tokens`` with unknown words replaced by the closest keyword word, or None if no
        word was replaced. Known words (keywords, search terms, stop words) are kept."""
        corrected, changed, tried = list(tokens), False, 0
        for i, token in enumerate(tokens):
            if (
                len(token) < MIN_LENGTH
                or token in self._known
                or not token.isalpha()
                or stem(token) in self._search
            ):
                continue
            tried += 1
            if tried > FUZZY_MAX_TOKENS:
                break
            word = self._speller.correct(token)
            if word is not None:
                corrected[i], changed = word, True
        return corrected if changed else None


def _stems(phrase: str) -> tuple[str, ...]:
    return tuple(stem(w) for w in normalize(phrase).split())


def _answer(stage: Stage, answer_id: str | None) -> Match:
    """The match for a hit in the keyword tables: an answer, or a person for a staff word."""
    if answer_id == _STAFF:
        return Match("staff", stage)
    if answer_id == _NO_ANSWER:
        return Match("no_answer", stage)
    return Match("answer", stage, answer_id)


def _keyword_text(answer: Answer) -> str:
    # A FAQ's question names it the way keywords name other answers, so for search it
    # weighs as keywords do: "are there government programs in dhanote" is FAQ 3.
    if answer.kind == "faq":
        return " ".join((*answer.keywords, answer.title.en, answer.title.ur or ""))
    return " ".join(answer.keywords)
