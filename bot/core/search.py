"""Ranked search over the answers, for questions no keyword explains.

A small BM25F index built once from the catalog: every answer is one document with weighted
fields (keywords weigh most, then the title, then the SMS and full texts, both languages).
Each term's contribution to each document is computed at build time, so a query costs one
dict lookup per distinct query term plus a few additions.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.core.lexicon import STOPWORDS
from bot.core.normalize import normalize

# Standard BM25 constants; the catalog is small and its texts short, so the textbook values do.
_K1 = 1.2
_B = 0.75

# Keywords are chosen by the coordinators to name the answer; titles name it too; body text
# only mentions things. Weights multiply a field's term counts (BM25F).
FIELD_WEIGHTS: Mapping[str, float] = {"keywords": 3.0, "title": 2.0, "sms": 1.0, "full": 1.0}


def stem(token: str) -> str:
    """Fold common English endings so "jobs"/"job" and "freelancing"/"freelancer" meet.

    Only Latin-letter words are touched (Urdu and Roman Urdu plurals are listed as keywords
    by the content instead); the result need not be a word, only the same for both forms.
    """
    if len(token) < 4 or not token.isascii() or not token.isalpha():
        return token
    if token.endswith("ies") and len(token) > 4:
        token = token[:-3] + "y"
    elif token.endswith("s") and not token.endswith(("ss", "us", "is")):
        token = token[:-1]
    for suffix in ("ing", "ers", "er", "ed"):
        if token.endswith(suffix) and len(token) - len(suffix) >= 4:
            token = token[: -len(suffix)]
            break
    if token.endswith("e") and len(token) >= 5:
        token = token[:-1]
    return token


def terms(text: str) -> list[str]:
    """The searchable terms of a raw text: normalised, stop words dropped, stemmed."""
    return [stem(t) for t in normalize(text).split() if t not in STOPWORDS]


@dataclass(frozen=True, slots=True)
class Hit:
    """The best document for a query: its id, BM25F score and how many query terms it has."""

    doc_id: str
    score: float
    matched_terms: int


class SearchIndex:
    """BM25F over a fixed set of documents; build once, query many times."""

    __slots__ = ("_ids", "_postings")

    def __init__(self, docs: Sequence[tuple[str, Mapping[str, str]]]) -> None:
        """``docs`` is ``(doc_id, {field: raw text})`` with fields from FIELD_WEIGHTS."""
        self._ids = tuple(doc_id for doc_id, _ in docs)
        counts: list[dict[str, float]] = []
        lengths: list[float] = []
        for _, fields in docs:
            tf: dict[str, float] = {}
            for name, text in fields.items():
                weight = FIELD_WEIGHTS[name]
                for term in terms(text):
                    tf[term] = tf.get(term, 0.0) + weight
            counts.append(tf)
            lengths.append(sum(tf.values()))
        n = len(docs)
        avg = (sum(lengths) / n) if n else 1.0
        df: Counter[str] = Counter(term for tf in counts for term in tf)
        postings: dict[str, list[tuple[int, float]]] = {}
        for i, tf in enumerate(counts):
            norm = _K1 * (1 - _B + _B * lengths[i] / (avg or 1.0))
            for term, f in tf.items():
                idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
                postings.setdefault(term, []).append((i, idf * f * (_K1 + 1) / (f + norm)))
        self._postings = {t: tuple(p) for t, p in postings.items()}

    def __contains__(self, term: object) -> bool:
        return term in self._postings

    def search(self, query_terms: Iterable[str]) -> Hit | None:
        """The highest-scoring document for the (stemmed) terms, or None if none has any.

        Ties go to the document listed first, so results are stable.
        """
        scores: dict[int, float] = {}
        matched: dict[int, int] = {}
        for term in dict.fromkeys(query_terms):
            for i, w in self._postings.get(term, ()):
                scores[i] = scores.get(i, 0.0) + w
                matched[i] = matched.get(i, 0) + 1
        if not scores:
            return None
        best = min(scores, key=lambda i: (-scores[i], i))
        return Hit(self._ids[best], scores[best], matched[best])
