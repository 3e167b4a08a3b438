"""``/metrics``: Prometheus' text format (``prometheus-client``).

Who may read it: with ``METRICS_TOKEN`` set, a request carrying ``Authorization: Bearer
<token>`` (401 otherwise); without one, a client on a loopback or private address
(:data:`LOCAL_NETWORKS`) that came directly, not through a proxy (a request carrying
``X-Forwarded-For`` or ``Forwarded`` is refused: behind a reverse proxy on this machine every
client would look local). Anyone else gets 403.

What it shows:

* this process's counters and histograms (:mod:`bot.observe.metrics`), and prometheus-client's own
  ``process_*`` and ``python_*`` families;
* read from the database at each scrape, the same from every process
  (:func:`bot.routes.health.read`: two indexed queries and a one-row read):
  ``outreach_queue_depth{outbox, channel, state}``,
  ``outreach_queue_oldest_waiting_seconds{outbox, channel}``,
  ``outreach_worker_current_epoch`` and ``outreach_worker_heartbeat_age_seconds``, and
  ``outreach_database_up`` (0, and none of those, when the read failed);
* this process's worker (``RUN_WORKER``): ``outreach_worker_active`` (1 while it holds the
  lock and sends) and ``outreach_worker_epoch`` (its epoch, 0 before it has one); and each
  channel's provider as this process's sends found it: ``outreach_provider_degraded``.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterable, Iterator
from ipaddress import ip_address, ip_network

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from pydantic import SecretStr
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.app.runtime import Runtime
from bot.outreach.worker import Worker
from bot.routes.common import runtime
from bot.routes.health import Seen, heartbeat_age, read
from bot.store.models import CHANNELS

log = logging.getLogger(__name__)

LOCAL_NETWORKS = tuple(
    ip_network(n)
    for n in ("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
_FORWARDED = (b"x-forwarded-for", b"forwarded")


def is_local(host: str | None) -> bool:
    """Whether ``host`` (an IP address as the server saw it) is in :data:`LOCAL_NETWORKS`."""
    try:
        address = ip_address(host or "")
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in LOCAL_NETWORKS)


def refusal(request: Request, token: SecretStr | None) -> Response | None:
    """Why ``request`` may not read the metrics (a 401 or 403 to answer), or None."""
    if token is not None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        expected = token.get_secret_value().encode()
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected):
            return None
        return PlainTextResponse(
            "send the metrics token: Authorization: Bearer <METRICS_TOKEN>",
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    forwarded = any(name in _FORWARDED for name, _ in request.scope["headers"])
    host = request.client.host if request.client else None
    if is_local(host) and not forwarded:
        return None
    return PlainTextResponse(
        "metrics are served to local and private addresses only; set METRICS_TOKEN to read "
        "them from elsewhere or through a proxy",
        status_code=403,
    )


class _Scrape:
    """What one scrape shows: the process's registry, then the families read for it."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()
        yield from self._families


def families(seen: Seen | None, rt: Runtime, worker: Worker | None) -> list[Metric]:
    """The families read at scrape time; see the module docstring."""
    found: list[Metric] = [
        GaugeMetricFamily(
            "outreach_database_up",
            "1 when this scrape's read of the database worked.",
            value=0 if seen is None else 1,
        ),
        GaugeMetricFamily(
            "outreach_worker_active",
            "1 while this process's worker holds the worker lock and sends.",
            value=1 if worker is not None and worker.active else 0,
        ),
        GaugeMetricFamily(
            "outreach_worker_epoch",
            "This process's worker's fencing epoch (0: it has none).",
            value=(worker.epoch or 0) if worker is not None and worker.active else 0,
        ),
    ]
    degraded = GaugeMetricFamily(
        "outreach_provider_degraded",
        "1 when this process's last send on the channel failed on the provider's side.",
        labels=["channel"],
    )
    for channel in CHANNELS:
        degraded.add_metric([channel], int(rt.providers.health(channel).state == "degraded"))
    found.append(degraded)
    if seen is None:
        return found
    depth = GaugeMetricFamily(
        "outreach_queue_depth",
        "Messages in an outbox (deliveries: announcements; replies), by channel and state: "
        "waiting (due, not claimed), later (due later), in_flight (being sent).",
        labels=["outbox", "channel", "state"],
    )
    oldest = GaugeMetricFamily(
        "outreach_queue_oldest_waiting_seconds",
        "How long the oldest waiting message of an outbox has waited since it fell due.",
        labels=["outbox", "channel"],
    )
    for (box, channel), queue in seen.backlog.items():
        depth.add_metric([box, channel, "waiting"], queue.waiting)
        depth.add_metric([box, channel, "later"], queue.later)
        if box == "deliveries":
            depth.add_metric([box, channel, "in_flight"], queue.in_flight)
        oldest.add_metric([box, channel], queue.oldest_age(seen.at))
    found += [depth, oldest]
    if seen.holder is not None:
        found.append(
            GaugeMetricFamily(
                "outreach_worker_current_epoch",
                "The epoch of the worker that last took the worker lock (any process).",
                value=seen.holder.epoch,
            )
        )
    age = heartbeat_age(seen)
    if age is not None:
        found.append(
            GaugeMetricFamily(
                "outreach_worker_heartbeat_age_seconds",
                "Seconds since the worker holding the lock (any process) last beat.",
                value=age,
            )
        )
    return found


async def metrics(request: Request) -> Response:
    """See the module docstring."""
    rt = runtime(request)
    refused = refusal(request, rt.settings.metrics_token)
    if refused is not None:
        return refused
    seen: Seen | None
    try:
        seen = await read(rt)
    except (SQLAlchemyError, OSError) as exc:
        log.error("metrics: database unavailable: %s", type(exc).__name__)
        seen = None
    worker = getattr(request.app.state, "worker", None)
    scrape = _Scrape(families(seen, rt, worker))
    return Response(generate_latest(scrape), media_type=CONTENT_TYPE_LATEST)
