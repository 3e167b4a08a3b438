"""What the conversation core decides; channel adapters and the store carry it out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from bot.core.catalog import Lang

# staff: the resident asked for a person, or the bot could not answer twice in a row; the
# conversation is handed over to the coordinators (bot.outreach.handover).
# no_answer: the resident asked about what the content does not say and no coordinator has
# added an answer for (fees, the address: content/staff.yaml `until_answered`); handed over
# too, and counted by `outreach report unanswered` as "unknown" is.
# courtesy: thanks, ok, a thumbs-up; no reply by SMS, a short one on Telegram; not unanswered.
Intent = Literal[
    "answer",
    "opt_out",
    "opt_in",
    "help",
    "language",
    "menu",
    "staff",
    "no_answer",
    "unknown",
    "courtesy",
]
INTENTS: tuple[Intent, ...] = get_args(Intent)

Channel = Literal["sms", "telegram"]
ContactStatus = Literal["active", "opted_out", "blocked", "invalid"]


@dataclass(frozen=True, slots=True)
class Button:
    """An inline button: ``data`` is the callback payload (at most 64 bytes on Telegram)."""

    label: str
    data: str


@dataclass(frozen=True, slots=True)
class Reply:
    """A channel-neutral reply. SMS renders only ``text``; Telegram may show ``buttons``."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()


@dataclass(frozen=True, slots=True)
class Inbound:
    """One resident message as the core sees it.

    ``language`` is the subscriber's stored language, or None for someone new.
    ``status`` is the contact's stored status ("active" for someone new).
    ``office_open`` says whether the park's office is open now (the caller reads the clock):
    a hand-over to a person says when the answer comes.
    ``pressed`` is True for a Telegram button press (``text`` is its callback data): data the
    bot does not know (an old button) is answered "this button has expired", never read as
    words.
    """

    text: str
    channel: Channel
    language: Lang | None = None
    status: ContactStatus = "active"
    office_open: bool = True
    pressed: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one inbound message.

    ``reply`` is None when nothing must be sent (e.g. an opted-out person writing again).
    ``set_language`` is the language to store for the subscriber when it changes.
    ``matched`` names how the intent was found (``"compliance"``, ``"keyword"``, ``"faq"``,
    ``"fuzzy"``, ``"search"``, ``"fallback"``, ``"missed"`` for a second miss handed over;
    on Telegram also ``"command"``,
    ``"callback"`` and ``"deep_link"``) for logs and tests.

    Telegram only:

    * ``opt_in`` is True for every ``/start`` (with or without a deep-link payload): the
      caller makes the contact active again even when ``intent`` is ``"answer"``
      (``/start faq_3`` opens that answer).
    * ``source`` is a ``/start`` deep-link payload that is not an answer id (an ad or a
      poster, ``fb_ad_2026``), for the caller to record as the subscriber's source.
    * ``action`` is work the core cannot do because it needs stored state: ``"subscribe"``
      for ``/subscribe``, or the raw callback data of a ``sub:*`` button. ``reply`` is None
      then and the caller builds it (:func:`bot.core.menus.subscribe_reply`).
    """

    intent: Intent
    language: Lang
    reply: Reply | None
    answer_id: str | None = None
    set_language: Lang | None = None
    matched: str = "fallback"
    opt_in: bool = False
    source: str | None = None
    action: str | None = None
