"""``/subscribe`` and its buttons (``sub:t:<interest>``, ``sub:c:<city>``, ``sub:done``): the
stored part, shared by the Telegram bot and ``outreach chat``.

The core hands these back as ``Decision.action`` (:mod:`bot.core.conversation`) because they
need the subscriber's stored interests; :func:`choose` applies one and says what to show.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy import Connection

from bot.core.catalog import Catalog, Lang
from bot.core.decision import Reply
from bot.core.menus import SubscribeAction, parse_callback, subscribe_reply, subscribed_text
from bot.store import subscribers
from bot.store.units import Units


@dataclasses.dataclass(frozen=True, slots=True)
class Chosen:
    """The subscriber's interests and city after the action; ``done`` after ``sub:done``."""

    profile: subscribers.Profile
    done: bool

    def reply(self, catalog: Catalog, lang: Lang) -> Reply:
        """What to show: the summary when done (Telegram adds the share-phone keyboard),
        else the interest and city buttons, ticked as they now are."""
        topics, city = self.profile.topics, self.profile.city
        if self.done:
            return Reply(subscribed_text(catalog, lang, topics, city))
        return subscribe_reply(catalog, lang, topics, city)


async def choose(units: Units, subscriber_id: int, action: str, now: datetime) -> Chosen:
    """Apply ``action`` (``"subscribe"`` or a ``sub:*`` button's data) to the subscriber:
    toggle an interest or set the city, in one unit."""
    parsed = parse_callback(action)

    def apply(conn: Connection) -> subscribers.Profile:
        profile = subscribers.get_profile(conn, subscriber_id)
        if not isinstance(parsed, SubscribeAction):
            return profile
        if parsed.interest is not None:
            topics = profile.topics ^ {parsed.interest}
            subscribers.set_topics(conn, subscriber_id, topics, now)
            profile = dataclasses.replace(profile, topics=topics)
        if parsed.city is not None:
            subscribers.set_city(conn, subscriber_id, parsed.city, now)
            profile = dataclasses.replace(profile, city=parsed.city)
        return profile

    profile = await units.run(apply)
    return Chosen(profile, isinstance(parsed, SubscribeAction) and parsed.done)
