"""``/healthz``: the worker's heartbeat, the backlog and each provider's state, and 200 while
the rest serves (503 only without a database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.store import epochs
from fakes.http import client as http_client
from fakes.smsgate_api import FakeSMSGate
from tests.conftest import eventually
from tests.routes.conftest import Served, served
from tests.routes.test_metrics import SANDBOX, queue_announcement

RESIDENT = "+923001234567"


async def health(app: Served) -> dict[str, Any]:
    async with http_client() as client:
        answer = await client.get(app.url + "/healthz")
    assert answer.status_code == 200, "degraded or not, it serves: 200"
    body: dict[str, Any] = answer.json()
    return body


async def test_a_process_whose_worker_sends_says_so_with_its_heartbeat(db_url: str) -> None:
    async with served(db_url, **SANDBOX) as app:
        await eventually(lambda: app.app.state.worker.epoch is not None, "the worker takes over")
        body = await health(app)
    assert body["status"] == "ok"
    assert "degraded" not in body
    worker = body["worker"]
    assert (worker["state"], worker["here"], worker["epoch"]) == ("ok", "active", 1)
    assert 0 <= worker["heartbeat_age_seconds"] < 60
    assert datetime.fromisoformat(worker["heartbeat_at"]).tzinfo is not None
    assert body["channels"] == {
        "sms": {"provider": "simulator", "state": "ok"},
        "telegram": {"provider": "simulator", "state": "ok"},
    }


async def test_without_any_worker_it_is_degraded_and_still_answers_200(db_url: str) -> None:
    async with served(db_url, run_worker=False, **SANDBOX) as app:
        body = await health(app)
        assert (body["status"], body["degraded"]) == ("degraded", ["worker"])
        assert body["worker"]["state"] == "absent"
        assert body["worker"]["here"] == "off"
        assert "outreach worker" in body["worker"]["reason"]

        # A worker ran (in another process) and stopped beating an hour ago.
        an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
        await app.runtime.units.run(lambda conn: epochs.take(conn, an_hour_ago))
        body = await health(app)
    assert (body["status"], body["degraded"]) == ("degraded", ["worker"])
    worker = body["worker"]
    assert (worker["state"], worker["epoch"]) == ("stale", 1)
    assert 3600 <= worker["heartbeat_age_seconds"] < 3700
    assert worker["reason"].startswith("no heartbeat for 36")


async def test_the_backlog_is_read_from_the_database(db_url: str) -> None:
    queued_at = datetime.now(UTC) - timedelta(minutes=10)

    queue = queue_announcement(
        [("telegram", "7001"), ("telegram", "7002"), ("sms", "+923001110000")], queued_at
    )
    async with served(db_url, run_worker=False, **SANDBOX) as app:
        await app.runtime.units.run(queue)
        asked = datetime.now(UTC)
        body = await health(app)
        answered = datetime.now(UTC)
    deliveries = body["backlog"]["deliveries"]
    assert {k: v for k, v in deliveries["telegram"].items() if k != "oldest_waiting_seconds"} == {
        "waiting": 2,
        "later": 0,
        "in_flight": 0,
    }
    assert deliveries["sms"]["waiting"] == 1
    age = deliveries["sms"]["oldest_waiting_seconds"]
    assert round((asked - queued_at).total_seconds(), 1) <= age
    assert age <= round((answered - queued_at).total_seconds(), 1)
    assert body["backlog"]["replies"] == {
        "sms": {"waiting": 0, "later": 0, "oldest_waiting_seconds": 0.0},
        "telegram": {"waiting": 0, "later": 0, "oldest_waiting_seconds": 0.0},
    }


async def test_a_provider_failing_to_send_is_degraded_with_why_until_a_send_works(
    gate_app: Served, fake_gate: tuple[FakeSMSGate, str]
) -> None:
    fake, _ = fake_gate
    webhook = gate_app.url + "/sms/smsgate"
    await eventually(lambda: gate_app.app.state.worker.epoch is not None, "the worker runs")
    assert (await health(gate_app))["channels"]["sms"] == {"provider": "smsgate", "state": "ok"}
    # Live mode without a Telegram token: not configured, which is not a fault.
    assert (await health(gate_app))["channels"]["telegram"] == {
        "provider": "none",
        "state": "not configured",
    }

    fake.fail_next(status=500, message="the phone is off")
    await fake.post_received(webhook, RESIDENT, "jobs")

    async def degraded() -> bool:
        return (await health(gate_app))["status"] == "degraded"

    await eventually(degraded, "the failed reply shows")
    body = await health(gate_app)
    assert body["degraded"] == ["sms"]
    assert body["channels"]["sms"] == {
        "provider": "smsgate",
        "state": "degraded",
        "reason": "smsgate HTTP 500: the phone is off",
    }

    await fake.post_received(webhook, "+923007654321", "jobs")  # the phone is back

    async def ok() -> bool:
        return (await health(gate_app))["channels"]["sms"]["state"] == "ok"

    await eventually(ok, "a send that works clears it")
    assert [m["phoneNumbers"] for m in fake.sent] == [["+923007654321"]]
