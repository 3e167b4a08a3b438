"""``/metrics``: who may read it, and what it says after real webhooks and a real backlog,
parsed with prometheus-client's own parser."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Connection

from bot.core.audience import Audience
from bot.core.decision import Channel
from bot.store import broadcasts
from fakes.http import client as http_client
from fakes.twilio_api import FakeTwilio
from tests.conftest import eventually
from tests.outreach.test_dispatcher import broadcast, person
from tests.routes.conftest import Served, served
from tests.routes.test_sms_twilio import form, post, reply_of

TOKEN = "metrics-token-for-tests"
SANDBOX = {"twilio_account_sid": None, "twilio_auth_token": None}  # every channel simulated
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def queue_announcement(
    people: list[tuple[Channel, str]], queued_at: datetime
) -> Callable[[Connection], None]:
    """A unit that queues an announcement for ``people`` (channel, address) at ``queued_at``."""

    def unit(conn: Connection) -> None:
        for channel, address in people:
            person(conn, channel, address)
        bid = broadcast(conn)
        broadcasts.queue_deliveries(conn, bid, Audience(both_channels=True), queued_at)

    return unit


async def scrape(app: Served, headers: Mapping[str, str] | None = None) -> Samples:
    async with http_client() as client:
        answer = await client.get(app.url + "/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def from_address(
    app: Served, host: str, headers: Mapping[str, str] | None = None
) -> httpx.Response:
    """A request to the app as if from ``host`` (the address the server saw)."""
    transport = httpx.ASGITransport(app=app.app, client=(host, 40000))
    async with http_client(transport=transport, base_url="http://outreach") as client:
        return await client.get("/metrics", headers=headers)


# (who, the address the server saw, headers, the answer)
WITHOUT_A_TOKEN = [
    ("loopback", "127.0.0.1", {}, 200),
    ("IPv6 loopback", "::1", {}, 200),
    ("10/8", "10.20.30.40", {}, 200),
    ("172.16/12", "172.16.5.6", {}, 200),
    ("192.168/16", "192.168.1.9", {}, 200),
    ("IPv4-mapped private", "::ffff:192.168.1.9", {}, 200),
    ("public", "203.0.113.9", {}, 403),
    ("just outside 172.16/12", "172.32.0.1", {}, 403),
    ("public IPv6", "2001:db8::1", {}, 403),
    ("a local proxy's client", "127.0.0.1", {"X-Forwarded-For": "203.0.113.9"}, 403),
    ("a local proxy's client (RFC 7239)", "127.0.0.1", {"Forwarded": "for=203.0.113.9"}, 403),
]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_without_a_token_only_local_and_private_clients_that_came_directly_may_read(
    twilio_app: Served,
) -> None:
    for who, host, headers, status in WITHOUT_A_TOKEN:
        answer = await from_address(twilio_app, host, headers)
        assert answer.status_code == status, who
        if status == 200:
            assert "outreach_database_up 1.0" in answer.text, who
        else:
            assert "METRICS_TOKEN" in answer.text, who
            assert "outreach_" not in answer.text, who


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_with_a_token_every_client_needs_it_even_a_local_one(db_url: str) -> None:
    async with served(db_url, metrics_token=TOKEN) as app:
        for host, headers in [
            ("127.0.0.1", {}),
            ("127.0.0.1", {"Authorization": "Bearer wrong-token"}),
            ("127.0.0.1", {"Authorization": f"Basic {TOKEN}"}),
            ("203.0.113.9", {"Authorization": f"Bearer {TOKEN}x"}),
        ]:
            refused = await from_address(app, host, headers)
            assert refused.status_code == 401, (host, headers)
            assert refused.headers["www-authenticate"] == "Bearer"
            assert "outreach_" not in refused.text
        for host in ("203.0.113.9", "127.0.0.1"):
            allowed = await from_address(app, host, {"Authorization": f"Bearer {TOKEN}"})
            assert allowed.status_code == 200
            assert "# TYPE outreach_inbound_messages_total counter" in allowed.text


async def test_a_real_webhook_moves_each_count_by_exactly_one(
    db_url: str, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with served(db_url, metrics_token=TOKEN, twilio_api_base_url=fake_twilio[1]) as app:
        before = await scrape(app, auth)
        assert "jobs" in (reply_of(await post(app, form("jobs", "SMmetrics1"))) or "")
        refused = await post(app, form("jobs", "SMmetrics2"), signature="bm90IGEgc2lnbmF0dXJl")
        assert refused.status_code == 403

        # The TwiML reply counts as sent once the response is written (recorded right after).
        async def sent() -> bool:
            return value(await scrape(app, auth), "outreach_replies_total", **sms_sent) > base

        sms_sent = {"channel": "sms", "status": "sent"}
        base = value(before, "outreach_replies_total", **sms_sent)
        await eventually(sent, "the reply is recorded as sent")
        after = await scrape(app, auth)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    ok = {"route": "/sms/twilio", "status": "200"}
    forged = {"route": "/sms/twilio", "status": "403"}
    assert moved("outreach_inbound_messages_total", channel="sms", outcome="replied") == 1
    assert moved("outreach_inbound_messages_total", channel="sms", outcome="duplicate") == 0
    assert moved("outreach_replies_total", **sms_sent) == 1
    assert moved("outreach_webhook_seconds_count", **ok) == 1
    assert moved("outreach_webhook_seconds_bucket", **ok, le="+Inf") == 1
    assert moved("outreach_webhook_seconds_sum", **ok) > 0
    assert moved("outreach_webhook_seconds_count", **forged) == 1
    # Not a webhook: scraping and health checks are not timed.
    assert not [k for k in after if k[0].startswith("outreach_webhook") and "/metrics" in str(k)]


async def test_the_backlog_and_the_worker_are_read_from_the_database(db_url: str) -> None:
    queued_at = datetime.now(UTC) - timedelta(hours=1)

    people: list[tuple[Channel, str]] = [("telegram", f"{7000 + n}") for n in range(3)]
    queue = queue_announcement([*people, ("sms", "+923001110000")], queued_at)
    # A process that runs no worker: nothing it counts itself, only what the database holds.
    async with served(db_url, run_worker=False, **SANDBOX) as app:
        await app.runtime.units.run(queue)
        asked = datetime.now(UTC)
        samples = samples_before = await scrape(app)
        answered = datetime.now(UTC)
        depth = "outreach_queue_depth"
        assert value(samples, depth, outbox="deliveries", channel="telegram", state="waiting") == 3
        assert value(samples, depth, outbox="deliveries", channel="sms", state="waiting") == 1
        assert value(samples, depth, outbox="deliveries", channel="sms", state="in_flight") == 0
        assert value(samples, depth, outbox="replies", channel="sms", state="waiting") == 0
        age = value(
            samples, "outreach_queue_oldest_waiting_seconds", outbox="deliveries", channel="sms"
        )
        assert (asked - queued_at).total_seconds() <= age <= (answered - queued_at).total_seconds()
        assert value(samples, "outreach_worker_active") == 0
        assert ("outreach_worker_current_epoch", frozenset()) not in samples  # none ever ran

        # A worker starts (here, in another app on the same database) and sends them all.
        async with served(db_url, **SANDBOX) as sending:
            worker = sending.app.state.worker
            await eventually(lambda: worker.epoch is not None, "the worker takes over")

            async def drained() -> bool:
                s = await scrape(app)
                left = [
                    value(s, depth, outbox="deliveries", channel=channel, state=state)
                    for channel in ("sms", "telegram")
                    for state in ("waiting", "later", "in_flight")
                ]
                return left == [0] * 6

            await eventually(drained, "the backlog drains")
            samples = await scrape(app)
            assert value(samples, "outreach_worker_current_epoch") == worker.epoch
            assert value(samples, "outreach_worker_heartbeat_age_seconds") >= 0
            assert value(samples, "outreach_worker_active") == 0  # not this process's worker
            theirs = await scrape(sending)
            assert value(theirs, "outreach_worker_active") == 1
            assert value(theirs, "outreach_worker_epoch") == worker.epoch
            sent = {"channel": "telegram", "status": "sent"}
            moved = value(theirs, "outreach_deliveries_total", **sent) - value(
                samples_before, "outreach_deliveries_total", **sent
            )
            assert moved == 3  # counters are this process's: both apps run in it
