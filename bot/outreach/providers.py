"""Every send to a provider, counted, and how each provider answered the latest ones.

The outbox's two senders (:mod:`bot.outreach.replies`, :mod:`bot.outreach.dispatcher`) call
:meth:`Providers.send` instead of ``sender.send``: it counts the call in
``outreach_sends_total`` (:mod:`bot.observe.metrics`) by channel and result, and keeps the channel's
:class:`Health` for ``/healthz``:

* accepted -> ``ok``;
* throttled (429, Telegram's flood control) -> unchanged: the provider works, we were early;
* any other :class:`~bot.channels.base.Retryable` (5xx, time-out, unreachable), an
  unclassified :class:`~bot.channels.base.ChannelError`, or a
  :class:`~bot.channels.base.Permanent` refusal that is not about the recipient (say, bad
  credentials) -> ``degraded``, with the reason, until a send is accepted again;
* :class:`~bot.channels.base.RecipientGone` -> unchanged: that person is unreachable, not the
  provider.

Health is this process's view: a web process that runs no worker sees only the replies it
sent itself. The runtime holds one :class:`Providers` and hands it to the worker it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.channels.base import ChannelError, Permanent, RecipientGone, Retryable, Sender, SendResult
from bot.core.decision import Channel, Reply
from bot.observe.metrics import SENDS, child


@dataclass(frozen=True, slots=True)
class Health:
    """How a provider answered this process's latest sends (``ok`` before any)."""

    state: Literal["ok", "degraded"] = "ok"
    reason: str | None = None


OK = Health()


class Providers:
    """Sends through the providers, counting each call; see the module docstring."""

    def __init__(self) -> None:
        self._health: dict[Channel, Health] = {}

    def health(self, channel: Channel) -> Health:
        return self._health.get(channel, OK)

    async def send(self, sender: Sender, to: str, reply: Reply) -> SendResult:
        """``sender.send(to, reply)``, counted; raises what it raises."""
        channel = sender.channel
        try:
            result = await sender.send(to, reply)
        except Retryable as exc:
            if exc.throttled:
                child(SENDS, channel, "throttled").inc()
            else:
                child(SENDS, channel, "retry").inc()
                self._health[channel] = Health("degraded", exc.reason)
            raise
        except RecipientGone:
            child(SENDS, channel, "failed").inc()
            raise
        except ChannelError as exc:
            retry = not isinstance(exc, Permanent)
            child(SENDS, channel, "retry" if retry else "failed").inc()
            self._health[channel] = Health("degraded", exc.reason)
            raise
        except Exception:  # not the provider's answer: a bug, an untranslated error
            child(SENDS, channel, "error").inc()
            raise
        child(SENDS, channel, "accepted").inc()
        self._health[channel] = OK
        return result
