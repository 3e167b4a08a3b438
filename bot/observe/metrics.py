"""What this process counts, for ``/metrics`` (Prometheus' text format, ``prometheus-client``).

Counters and histograms live in the process and count what it did since it started: with
several web processes each is scraped on its own, and Prometheus adds them up (``sum by``).
What every process sees alike is read from the database at scrape time instead
(:mod:`bot.routes.metrics`: the outboxes' backlog, the worker's epoch and heartbeat).

Each count is one ``inc()`` on a labelled child found by :func:`child` (a cached lookup: the
library's own ``labels()`` checks and converts its arguments anew on every call, several
times the cost of the increment): no I/O, no lock held across an await. Rates are
Prometheus' job (``rate(outreach_sends_total[1m])``).
"""

from __future__ import annotations

import functools
from typing import TypeVar, cast

from prometheus_client import Counter, Histogram, disable_created_metrics

# A `_created` series beside every counter doubles the output for what nobody reads.
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in the library

INBOUND = Counter(
    "outreach_inbound_messages",
    "Resident messages received, by channel and outcome: replied, or why not (duplicate, "
    "opted_out, cost_guard, loop_guard, invalid_sender, courtesy, subscribe, no_reply, ...).",
    ["channel", "outcome"],
)
REPLIES = Counter(
    "outreach_replies",
    "Replies to residents leaving the outbox, by channel and what became of them: sent "
    "(simulated in sandbox mode), failed, or retry (due again later).",
    ["channel", "status"],
)
DELIVERIES = Counter(
    "outreach_deliveries",
    "Announcement deliveries handled by the dispatcher, by channel and what became of them: "
    "sent, failed, skipped (opted out, cancelled), retry, or deferred (quiet hours, daily cap).",
    ["channel", "status"],
)
SENDS = Counter(
    "outreach_sends",
    "Calls to a provider's send API (replies and announcements), by channel and result: "
    "accepted, throttled (429, flood control), retry (5xx, time-out), failed (refused), "
    "error (not the provider's answer: a bug).",
    ["channel", "result"],
)
WEBHOOK_SECONDS = Histogram(
    "outreach_webhook_seconds",
    "Time from a webhook request's arrival to the end of its response, by route and HTTP "
    "status (its _count: the responses, 403 for a bad signature, 400 for bad input, ...).",
    ["route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


Family = TypeVar("Family", Counter, Histogram)


def child(family: Family, *labels: str) -> Family:
    """``family.labels(*labels)``, looked up once per set of label values (each family's label
    values are few: channels, outcomes, statuses, routes)."""
    return cast(Family, _child(family, labels))


@functools.cache
def _child(family: Counter | Histogram, labels: tuple[str, ...]) -> Counter | Histogram:
    return family.labels(*labels)
