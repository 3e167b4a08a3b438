"""One inbound message + what we know of the sender -> a :class:`Decision`.

The core decides and the adapters act: :func:`decide` returns the intent, the reply (or None
when nothing may be sent) and the language to store; storing the opt-out, sending the reply
and cutting it to the SMS budget (:func:`render_sms`) happen at the edges.
"""

from __future__ import annotations

import re

from bot.core.catalog import Catalog, Lang
from bot.core.decision import Button, Decision, Inbound, Reply
from bot.core.keywords import Match, Matcher
from bot.core.normalize import is_urdu_script, normalize
from bot.core.segments import fit_segments

# Raw characters looked at; the matcher uses only the first 160 normalised ones anyway, so
# this only bounds the cost of normalising an essay.
_MAX_RAW = 640

_UNKNOWN = Match("unknown", "fallback")
# A Telegram command, possibly addressed to the bot in a group: "/start", "/help@DhanoteBot".
_COMMAND = re.compile(r"/([a-z0-9_]{1,32})(?:@\w+)?(?=\s|$)", re.IGNORECASE)
_BACK_LABEL = {"en": "« Menu", "ur": "« مینو"}
_MENU_BUTTONS_PER_ROW = 2
_CALLBACK_MAX_BYTES = 64  # Telegram's limit on callback_data


def answer_callback(answer_id: str) -> str:
    """The Telegram callback payload of a topic button (``decide`` understands it back)."""
    return f"a:{answer_id}"


def render_sms(reply: Reply, max_segments: int) -> str:
    """The SMS text of ``reply``: its text, cut at a word to at most ``max_segments``."""
    return fit_segments(reply.text, max_segments)


def decide(
    inbound: Inbound, catalog: Catalog, matcher: Matcher, *, contact_line: str | None = None
) -> Decision:
    """What to do with ``inbound``. Never raises for any text.

    The reply is in Urdu for a message in Urdu script (and Urdu is stored for someone with no
    language yet), else in the stored language, else English. An opted-out contact gets a
    reply only to an opt-in word or to HELP; anything else gets ``reply=None``.
    ``contact_line`` fills ``{contact}`` in the help text; without it ``help_no_contact`` is
    used.
    """
    raw = inbound.text[:_MAX_RAW]
    urdu = is_urdu_script(raw)
    lang: Lang = "ur" if urdu else (inbound.language or "en")
    set_language: Lang | None = "ur" if urdu and inbound.language is None else None
    welcome = False
    if inbound.channel == "telegram":
        command = _COMMAND.match(raw.strip())
        if command is not None:
            # "/help@DhanoteBot" is the word HELP; "/start" is a first contact: welcome.
            welcome = command.group(1).casefold() == "start"
            raw = command.group(1) + raw.strip()[command.end() :]
    match = _button(raw, inbound, catalog) or matcher.match(normalize(raw))
    if welcome:
        match = Match("opt_in", "compliance")
    elif match.intent == "answer" and match.answer_id not in catalog.by_id:
        match = _UNKNOWN  # a matcher built from another catalog; never answer with a ghost
    if match.intent == "language":
        lang = match.language or ("en" if (inbound.language or "en") == "ur" else "ur")
        set_language = lang
    if inbound.status == "opted_out" and match.intent not in ("opt_in", "help"):
        return Decision(
            match.intent, lang, None, match.answer_id, set_language, matched=match.stage
        )
    reply = _reply(match, inbound, catalog, lang, contact_line, welcome)
    return Decision(match.intent, lang, reply, match.answer_id, set_language, matched=match.stage)


def _button(raw: str, inbound: Inbound, catalog: Catalog) -> Match | None:
    """A Telegram topic button press ("a:<answer id>") arriving as text."""
    if inbound.channel == "telegram" and raw.startswith("a:") and raw[2:] in catalog.by_id:
        return Match("answer", "keyword", raw[2:])
    return None


def _reply(
    match: Match,
    inbound: Inbound,
    catalog: Catalog,
    lang: Lang,
    contact_line: str | None,
    welcome: bool,
) -> Reply:
    telegram = inbound.channel == "telegram"
    intent = match.intent
    if intent == "answer" and match.answer_id is not None:
        answer = catalog.by_id[match.answer_id]
        text = (answer.full if telegram else answer.sms).get(lang)
        buttons = ((Button(_back_label(catalog, lang), "menu"),),) if telegram else ()
        return Reply(text, buttons)
    if intent == "opt_out":
        return Reply(catalog.text("opted_out", lang))
    if intent == "opt_in":
        if welcome:
            return _with_menu(catalog.text("welcome", lang), catalog, lang, telegram)
        return Reply(catalog.text("opted_in", lang))
    if intent == "help":
        if contact_line:
            return Reply(catalog.text("help", lang).replace("{contact}", contact_line))
        return Reply(catalog.text("help_no_contact", lang))
    if intent == "language":
        return Reply(catalog.text("language_switched", lang))
    if intent == "menu":
        return _with_menu(catalog.text("menu", lang), catalog, lang, telegram)
    # Not understood: say so and show the menu in one message, so SMS costs one reply.
    text = f"{catalog.text('not_understood', lang)} {catalog.text('menu', lang)}"
    return _with_menu(text, catalog, lang, telegram)


def _with_menu(text: str, catalog: Catalog, lang: Lang, telegram: bool) -> Reply:
    if not telegram:
        return Reply(text)
    buttons = [
        Button(a.title.get(lang), answer_callback(a.id))
        for a in catalog.of_kind("topic")
        if len(answer_callback(a.id).encode()) <= _CALLBACK_MAX_BYTES
    ]
    rows = tuple(
        tuple(buttons[i : i + _MENU_BUTTONS_PER_ROW])
        for i in range(0, len(buttons), _MENU_BUTTONS_PER_ROW)
    )
    return Reply(text, rows)


def _back_label(catalog: Catalog, lang: Lang) -> str:
    # Content may name the button ("menu_button"); the core's default keeps it optional.
    custom = catalog.system.get("menu_button")
    return custom.get(lang) if custom is not None else _BACK_LABEL[lang]
