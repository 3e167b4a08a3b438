"""Keyword matching on the labelled resident messages: ours vs a naive rapidfuzz peer.

Compares calls per second, latency and accuracy of our ``Matcher`` (and the whole pure
``decide``) against ``rapidfuzz.process.extractOne`` over every keyword.

Run: .venv/bin/python -m bench.bench_matching [ROUNDS]

Every message of fakes/residents.py is run ROUNDS times, on one core:

- ``match``: ``Matcher.match(normalize(text))``, the keyword -> intent step alone;
- ``decide``: the whole pure pipeline (language, matching, reply) for one message;
- ``naive``: the peer, what a hand-rolled bot does: rapidfuzz ``process.extractOne`` of the
  whole message over every keyword (WRatio, default processing), for every message.

Throughput is calls over wall time in a tight loop; latencies come from a separate loop that
times each call with ``perf_counter_ns``. Accuracy on the labelled rows is printed too, so a
fast wrong answer is not mistaken for a good one. Target: >= 50,000 matches/s, p99 < 0.2 ms.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from collections.abc import Callable

from rapidfuzz import fuzz, process, utils

from bench._common import REPO, percentile
from bot.content.load import load_catalog
from bot.core.conversation import decide
from bot.core.decision import Inbound
from bot.core.keywords import Matcher
from bot.core.normalize import normalize
from fakes.residents import ROWS

TARGET_PER_S = 50_000
TARGET_P99_US = 200.0


def pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to cpu {cpu}"
    return "not pinned (no sched_setaffinity)"


def throughput(fn: Callable[[int], object], n: int, rounds: int) -> float:
    gc.collect()
    start = time.perf_counter()
    for _ in range(rounds):
        for i in range(n):
            fn(i)
    return n * rounds / (time.perf_counter() - start)


def latencies_us(fn: Callable[[int], object], n: int, rounds: int) -> list[float]:
    gc.collect()
    clock = time.perf_counter_ns
    samples: list[int] = []
    for _ in range(rounds):
        for i in range(n):
            t0 = clock()
            fn(i)
            samples.append(clock() - t0)
    return sorted(s / 1000 for s in samples)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    pinned = pin_to_one_core()
    catalog = load_catalog(REPO / "content")
    t0 = time.perf_counter()
    matcher = Matcher.from_catalog(catalog)
    build_ms = (time.perf_counter() - t0) * 1000

    texts = [row.text for row in ROWS]
    normalized = [normalize(t) for t in texts]
    inbounds = [Inbound(row.text, row.channel, row.stored) for row in ROWS]
    keyword_owner = {k: a.id for a in catalog.answers for k in a.keywords}
    keywords = list(keyword_owner)

    def match(i: int) -> object:
        return matcher.match(normalize(texts[i]))

    def match_only(i: int) -> object:
        return matcher.match(normalized[i])

    def decide_one(i: int) -> object:
        return decide(inbounds[i], catalog, matcher)

    def naive(i: int) -> object:
        return process.extractOne(
            texts[i], keywords, scorer=fuzz.WRatio, processor=utils.default_process
        )

    n = len(ROWS)
    for fn in (match, decide_one, naive):  # warm caches and rapidfuzz's first-call setup
        throughput(fn, n, 3)

    print(
        f"bench_matching: {n} labelled resident messages x {rounds} rounds, {pinned}; "
        f"{len(keywords)} keywords, {len(catalog.answers)} answers, matcher built in "
        f"{build_ms:.1f} ms"
    )
    print(f"{'':44}{'calls/s':>10}{'p50 µs':>9}{'p99 µs':>9}{'max µs':>9}")
    results = {}
    for name, fn in (
        ("match: Matcher.match(normalize(text))", match),
        ("match without normalize", match_only),
        ("decide: whole pure pipeline", decide_one),
        ("naive peer: extractOne(WRatio) over keywords", naive),
    ):
        per_s = throughput(fn, n, rounds)
        lat = latencies_us(fn, n, rounds)
        p50, p99 = percentile(lat, 50), percentile(lat, 99)
        results[name] = (per_s, p99)
        print(f"{name:<44}{per_s:>10,.0f}{p50:>9.1f}{p99:>9.1f}{lat[-1]:>9.1f}")

    right = sum(
        (d.intent, d.answer_id, d.language) == (r.intent, r.answer_id, r.lang)
        for r, d in (
            (row, decide(inbound, catalog, matcher))
            for row, inbound in zip(ROWS, inbounds, strict=True)
        )
    )
    answer_rows = [(r, t) for r, t in zip(ROWS, texts, strict=True) if r.intent == "answer"]
    naive_right = 0
    for row, text in answer_rows:
        best = process.extractOne(
            text, keywords, scorer=fuzz.WRatio, processor=utils.default_process
        )
        naive_right += best is not None and keyword_owner[best[0]] == row.answer_id
    print(
        f"accuracy: decide {right}/{n} rows right; naive peer {naive_right}/{len(answer_rows)} "
        "answer rows right (it has no notion of STOP, HELP, FAQ n or language)"
    )
    per_s, p99 = results["match: Matcher.match(normalize(text))"]
    met = per_s >= TARGET_PER_S and p99 < TARGET_P99_US
    print(
        f"target >= {TARGET_PER_S:,} matches/s and p99 < {TARGET_P99_US:.0f} µs: "
        f"{'met' if met else 'MISSED'} ({per_s:,.0f}/s, p99 {p99:.1f} µs)"
    )


if __name__ == "__main__":
    main()
