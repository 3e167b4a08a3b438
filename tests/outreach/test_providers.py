"""bot.outreach.providers: every send counted by result, and each provider's health as the
latest sends found it."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from bot.channels.base import ChannelError, Permanent, RecipientGone, Retryable
from bot.core.decision import Reply
from bot.outreach.providers import Health, Providers
from tests.outreach.test_dispatcher import Scripted


def sends(channel: str, result: str) -> float:
    value = REGISTRY.get_sample_value(
        "outreach_sends_total", {"channel": channel, "result": result}
    )
    return value or 0.0


RESULTS = ("accepted", "throttled", "retry", "failed", "error")


async def test_each_send_is_counted_by_its_result_and_the_health_follows() -> None:
    sender = Scripted(
        "sms",
        {
            "a": [
                Retryable("twilio 20429 (HTTP 429): too many requests", after=1, throttled=True),
                Retryable("twilio - (HTTP 503): unavailable"),
                RecipientGone("twilio 21610: unsubscribed", status="opted_out"),
                Permanent("twilio 20003 (HTTP 401): authentication failed"),
                ValueError("a bug"),
            ]
        },
    )
    providers = Providers()
    before = {r: sends("sms", r) for r in RESULTS}
    health = []
    for _ in range(5):
        with pytest.raises((ChannelError, ValueError)):
            await providers.send(sender, "a", Reply("hi"))
        health.append(providers.health("sms"))
    await providers.send(sender, "a", Reply("hi"))  # accepted
    health.append(providers.health("sms"))

    assert {r: sends("sms", r) - before[r] for r in RESULTS} == {
        "accepted": 1,
        "throttled": 1,
        "retry": 1,
        "failed": 2,
        "error": 1,
    }
    assert health == [
        Health(),  # a 429: the provider works, we were early
        Health("degraded", "twilio - (HTTP 503): unavailable"),
        Health("degraded", "twilio - (HTTP 503): unavailable"),  # that person is gone
        Health("degraded", "twilio 20003 (HTTP 401): authentication failed"),
        Health("degraded", "twilio 20003 (HTTP 401): authentication failed"),
        Health(),  # accepted again
    ]
    assert providers.health("telegram") == Health()  # one channel's trouble is its own
