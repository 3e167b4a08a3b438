"""Typo correction against a fixed vocabulary (the keywords), with rapidfuzz.

Residents spell Roman Urdu by ear ("naukri", "nokri", "naukry") and type on small keypads
("jbos", "traning"). A word is first folded to a spelling skeleton that merges the usual
Roman Urdu variants, then compared with rapidfuzz's ``ratio`` against words of a compatible
length only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rapidfuzz import fuzz, process

# Words shorter than this are never corrected: "hi", "ok", "no" are words, not typos, and a
# 3-letter word is one slip away from too many keywords.
MIN_LENGTH = 4

# Roman Urdu spellings of the same sound: au/o, ee/i, oo/u, final y/i, q/k, ph/f.
_FOLDS = (("ee", "i"), ("oo", "u"), ("au", "o"), ("ph", "f"), ("q", "k"))
_DOUBLED = re.compile(r"(.)\1+")


def skeleton(word: str) -> str:
    """A spelling-insensitive key: "naukri", "nokri" and "naukry" all give "nokri".

    Only Latin words are folded; Urdu script is returned unchanged.
    """
    if not word.isascii():
        return word
    for old, new in _FOLDS:
        word = word.replace(old, new)
    word = _DOUBLED.sub(r"\1", word)
    if len(word) > 3 and word.endswith("y"):
        word = word[:-1] + "i"
    return word


def cutoff(length: int) -> float:
    """rapidfuzz ``ratio`` needed to accept a correction of a word of ``length`` letters.

    One slip in a 4-letter word ("jbos": a swap) scores 75; longer words must be closer, so
    a typo in "training" is caught while two different long words are not merged.
    """
    if length <= 5:
        return 75.0
    if length <= 7:
        return 80.0
    return 85.0


class Speller:
    """Corrects a word to the closest vocabulary word, or says there is none."""

    __slots__ = ("_buckets", "_exact")

    def __init__(
        self, vocabulary: Iterable[str], folded_only: Iterable[str] = (), longest: int = 40
    ) -> None:
        """``vocabulary`` words are reached by skeleton or by fuzzy ratio; ``folded_only``
        words only by an identical skeleton ("menuu" -> "menu", never "loan" -> "lang")."""
        words = [w for w in dict.fromkeys(vocabulary) if len(w) >= MIN_LENGTH]
        self._exact: dict[str, str] = {}
        for w in words:
            self._exact.setdefault(skeleton(w), w)
        fuzzy_keys = dict(self._exact)
        for w in folded_only:
            if len(w) >= MIN_LENGTH:
                self._exact.setdefault(skeleton(w), w)
        # For each skeleton length, the candidates whose length could still reach the cutoff:
        # ratio <= 200 * min(L, M) / (L + M), so the rest are never handed to rapidfuzz.
        self._buckets: dict[int, tuple[list[str], list[str]]] = {}
        for length in range(MIN_LENGTH, longest + 1):
            c = cutoff(length)
            lo, hi = length * c / (200 - c), length * (200 - c) / c
            keys = [(k, w) for k, w in fuzzy_keys.items() if lo <= len(k) <= hi]
            self._buckets[length] = ([k for k, _ in keys], [w for _, w in keys])

    def correct(self, word: str) -> str | None:
        """The vocabulary word ``word`` was probably meant to be, or None.

        Words shorter than :data:`MIN_LENGTH` are never corrected, and a word of five letters
        or fewer must keep its first letter ("jbos" is "jobs", "bobs" is not).
        """
        if len(word) < MIN_LENGTH:
            return None
        key = skeleton(word)
        exact = self._exact.get(key)
        if exact is not None:
            return exact
        bucket = self._buckets.get(len(key))
        if not bucket or len(key) < MIN_LENGTH:
            return None
        keys, words = bucket
        best = process.extractOne(
            key, keys, scorer=fuzz.ratio, processor=None, score_cutoff=cutoff(len(key))
        )
        if best is None or (len(key) <= 5 and best[0][0] != key[0]):
            return None
        return words[best[2]]
