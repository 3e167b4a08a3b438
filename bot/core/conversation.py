"""One inbound message + what we know of the sender -> a :class:`Decision`.

The core decides and the adapters act: :func:`decide` returns the intent, the reply (or None
when nothing may be sent) and the language to store; storing the opt-out, sending the reply
and cutting it to the SMS budget (:func:`render_sms`) happen at the edges.

On Telegram, the caller passes commands as the message text and button presses as their
callback data (see :mod:`bot.core.menus` for the scheme). What :func:`decide` makes of them:

==========================  ==================================================================
``/start``                  intent ``opt_in``: the welcome and the topic menu
``/start <answer id>``      a deep link (``t.me/<bot>?start=faq_3``): intent ``answer``, that
                            answer in full
``/start <payload>``        any other payload of 1-64 ``[A-Za-z0-9_-]``: the welcome, with
                            ``Decision.source`` = the payload for the caller to record
``/start <garbage>``        the payload is ignored: the plain welcome
``/menu``, ``menu``         intent ``menu``: the topic menu (the word MENU)
``/faq``                    intent ``menu``: the first page of the FAQ list
``/programs``               intent ``menu``: the first page of the programs list
``/jobs``                   intent ``menu``: the first page of the jobs list (the *word*
                            "jobs" still answers the jobs topic)
``/language``               intent ``language``: the language buttons; nothing is stored
                            (only the word LANG toggles the language)
``/subscribe``              intent ``menu``, ``reply=None``, ``Decision.action="subscribe"``
``/stop``, ``/help`` …      any other command is the word: STOP, HELP, LANG, a keyword,
                            STAFF (intent ``staff``: a person will answer; ``no_answer``
                            for a topic the content lacks, such as fees)
``a:<answer id>``           intent ``answer``: the answer in full (``unknown`` for an id the
                            catalog does not have)
``l:<kind>:<page>``         intent ``menu``: that page of the list
``lang:<en|ur|ur-Latn>``    intent ``language``: stores the language and confirms in it
pressed, data unknown       ``Inbound.pressed`` and data the catalog cannot carry out (not in
                            the scheme, an answer, interest or city it lacks): intent
                            ``menu``, ``matched="expired"``, "this button has expired" and the
                            topic menu
``sub:t:…``, ``sub:c:…``,   intent ``menu``, ``reply=None``, ``Decision.action`` = the data:
``sub:done``                the caller holds the subscriber's interests and city, so it
                            applies the change and answers with
                            :func:`bot.core.menus.subscribe_reply` or
                            :func:`bot.core.menus.subscribed_text`
==========================  ==================================================================

Thanks, ok and a thumbs-up are intent ``courtesy``: no reply by SMS, a short one on
Telegram. ``/stop`` (and STOP) on Telegram is confirmed with ``opted_out_telegram``, which
names ``/start``.

A command with words after it is the word (``/faq 3`` is FAQ 3). Every ``/start`` sets
``Decision.opt_in``: the caller must make the contact active again even when the intent is
``answer``. An opted-out contact still gets nothing but for an opt-in (``/start`` included)
or HELP: no reply and no ``action``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import replace

from bot.core.catalog import AnswerKind, Catalog, Lang
from bot.core.decision import Decision, Inbound, Intent, Reply
from bot.core.keywords import Match, Matcher
from bot.core.lexicon import writes_roman_urdu
from bot.core.menus import (
    CallbackAction,
    SetLanguage,
    ShowAnswer,
    ShowList,
    SubscribeAction,
    answer_buttons,
    language_reply,
    list_reply,
    parse_callback,
    topic_menu_buttons,
)
from bot.core.menus import answer_callback as answer_callback
from bot.core.normalize import is_urdu_script, normalize
from bot.core.sms_tail import fit_reply

# Raw characters looked at; the matcher uses only the first 160 normalised ones anyway, so
# this only bounds the cost of normalising an essay.
_MAX_RAW = 640

_UNKNOWN = Match("unknown", "fallback")
_COURTESY = Match("courtesy", "keyword")
# A Telegram command, possibly addressed to the bot in a group: "/start", "/help@DhanoteBot".
_COMMAND = re.compile(r"/([a-z0-9_]{1,32})(?:@\w+)?(?=\s|$)", re.IGNORECASE)
# What Telegram allows in a deep-link payload (t.me/<bot>?start=<payload>).
_DEEP_LINK = re.compile(r"[A-Za-z0-9_-]{1,64}")
# LANG toggles between English and Urdu; from Roman Urdu it goes to English (ROMAN, URDU and
# ENGLISH name a language).
_OTHER_LANGUAGE: dict[Lang, Lang] = {"en": "ur", "ur": "en", "ur-Latn": "en"}
# Commands that open a list rather than being read as the word.
_LIST_COMMANDS: dict[str, AnswerKind] = {"faq": "faq", "programs": "program", "jobs": "job"}


def render_sms(reply: Reply, max_segments: int, contact_line: str | None = None) -> str:
    """The SMS text of ``reply``: its text, cut at a word to at most ``max_segments``; the
    STOP / START instruction and ``contact_line`` at its end are kept whole
    (:func:`bot.core.sms_tail.fit_reply`)."""
    return fit_reply(reply.text, max_segments, contact_line)


def decide(
    inbound: Inbound, catalog: Catalog, matcher: Matcher, *, contact_line: str | None = None
) -> Decision:
    """What to do with ``inbound``. Never raises for any text.

    The reply is in Urdu for a message in Urdu script and in Roman Urdu for one in Roman Urdu
    (:func:`written_in`; that language is stored for someone with no language yet), else in
    the stored language, else English. An opted-out contact gets a
    reply only to an opt-in word or to HELP; anything else gets ``reply=None``.
    ``contact_line`` fills ``{contact}`` in the help text; without it ``help_no_contact`` is
    used. Telegram commands and buttons: see the module docstring.
    """
    raw = inbound.text[:_MAX_RAW]
    written = written_in(raw)
    lang: Lang = written or inbound.language or "en"
    set_language: Lang | None = written if inbound.language is None else None
    if inbound.channel == "telegram":
        stripped = raw.strip()
        action = parse_callback(stripped)
        if inbound.pressed and not _known(action, catalog):
            return _expired(inbound, catalog, lang)
        if action is not None:
            decision = _callback(action, stripped, inbound, catalog, lang)
            if decision is not None:
                return decision
        command = _COMMAND.match(stripped)
        if command is not None:
            name = command.group(1).casefold()
            rest = stripped[command.end() :]
            if name == "start":
                return _start(rest.strip(), catalog, lang, set_language)
            if not rest.strip():
                decision = _command(name, inbound, catalog, lang)
                if decision is not None:
                    return decision
            # "/help@DhanoteBot" is the word HELP, "/faq 3" is FAQ 3.
            raw = command.group(1) + rest
    match = _understand(matcher, raw)
    if match.intent == "answer" and match.answer_id not in catalog.by_id:
        match = _UNKNOWN  # a matcher built from another catalog; never answer with a ghost
    if match.intent == "unknown" and _symbols_only(raw):
        match = _COURTESY  # "👍", "🙏": the words of a thumbs-up
    if match.intent == "language":
        lang = match.language or _OTHER_LANGUAGE.get(inbound.language or "en", "en")
        set_language = lang
    if _silenced(inbound, match.intent):
        return Decision(
            match.intent, lang, None, match.answer_id, set_language, matched=match.stage
        )
    if match.intent == "courtesy" and inbound.channel != "telegram":
        # Thanks and ok ask nothing: an SMS back would cost the resident or the park a
        # message for no news, and could start a thank-you ping-pong with an auto-responder.
        return Decision("courtesy", lang, None, None, set_language, matched=match.stage)
    reply = _reply(match, inbound, catalog, lang, contact_line)
    return Decision(match.intent, lang, reply, match.answer_id, set_language, matched=match.stage)


def written_in(raw: str) -> Lang | None:
    """The language ``raw`` is written in when it says: ``ur`` for Urdu script, ``ur-Latn``
    for Latin letters with a Roman Urdu word (:data:`bot.core.lexicon.ROMAN_URDU`), else None
    (English, or nothing to tell)."""
    if is_urdu_script(raw):
        return "ur"
    if writes_roman_urdu(normalize(raw).split()):
        return "ur-Latn"
    return None


# Pictographs start with the Miscellaneous Symbols block (U+2600: "☺", then "❤", "👍"); the
# symbols before it ("®", "°", arrows) are not a reply anyone makes.
_EMOJI_FROM = 0x2600


def _symbols_only(raw: str) -> bool:
    """True for a message of emoji only ("👍", "🙏🏽", "❤️"): no letters, digits or
    punctuation ("?" is a question)."""
    seen = False
    for ch in raw:
        category = unicodedata.category(ch)
        if category == "So" and ord(ch) >= _EMOJI_FROM:
            seen = True
        elif not (ch.isspace() or category in ("Sk", "Mn", "Me", "Cf")):
            return False
    return seen


def _known(action: CallbackAction | None, catalog: Catalog) -> bool:
    """Whether a pressed button's action is one this catalog can still carry out."""
    match action:
        case None:
            return False
        case ShowAnswer(answer_id):
            return answer_id in catalog.by_id
        case SubscribeAction(interest=str(interest)):
            return any(i.id == interest for i in catalog.interests)
        case SubscribeAction(city=str(city)):
            return any(c.id == city for c in catalog.cities)
    return True


def _expired(inbound: Inbound, catalog: Catalog, lang: Lang) -> Decision:
    """A press of a button the bot no longer knows: say so, with the topic menu."""
    reply = None
    if not _silenced(inbound, "menu"):
        text = catalog.text("button_expired", lang)
        reply = Reply(text, topic_menu_buttons(catalog, lang))
    return Decision("menu", lang, reply, matched="expired")


# Residents send the same few words again and again ("jobs", "1", "FAQ 3", "STOP"), and reading
# one costs more than the rest of deciding. What a matcher makes of a text never changes (it
# is built once from the catalog and holds no state), so the last texts' matches are kept.
@functools.lru_cache(maxsize=2048)
def _understand(matcher: Matcher, raw: str) -> Match:
    """``matcher``'s match for the normalised ``raw``."""
    return matcher.match(normalize(raw))


def _silenced(inbound: Inbound, intent: Intent) -> bool:
    """True when nothing may be sent: an opted-out contact not opting in nor asking for HELP."""
    return inbound.status == "opted_out" and intent not in ("opt_in", "help")


def _start(payload: str, catalog: Catalog, lang: Lang, set_language: Lang | None) -> Decision:
    """``/start``, with or without a deep-link payload: always an opt-in, so always answered."""
    if payload in catalog.by_id:
        reply = _answer_reply(catalog, payload, lang, telegram=True)
        return Decision(
            "answer", lang, reply, payload, set_language, matched="deep_link", opt_in=True
        )
    welcome = _with_menu(catalog.text("welcome", lang), catalog, lang, telegram=True)
    source = payload if _DEEP_LINK.fullmatch(payload) else None
    matched = "compliance" if source is None else "deep_link"
    return Decision(
        "opt_in", lang, welcome, None, set_language, matched=matched, opt_in=True, source=source
    )


def _command(name: str, inbound: Inbound, catalog: Catalog, lang: Lang) -> Decision | None:
    """A command that is more than its word (``/faq``, ``/language``, …), or None."""
    silent = _silenced(inbound, "menu")
    if name in _LIST_COMMANDS:
        reply = None if silent else list_reply(catalog, _LIST_COMMANDS[name], 0, lang)
        return Decision("menu", lang, reply, matched="command")
    if name == "language":
        reply = None if silent else language_reply(catalog, lang)
        return Decision("language", lang, reply, matched="command")
    if name == "subscribe":
        return Decision("menu", lang, None, matched="command", action=None if silent else name)
    return None


def _callback(
    action: CallbackAction, data: str, inbound: Inbound, catalog: Catalog, lang: Lang
) -> Decision | None:
    """A button press; None for ``menu``, which the matcher handles as the word MENU."""
    match action:
        case ShowAnswer(answer_id):
            if answer_id not in catalog.by_id:
                return _plain(_UNKNOWN, inbound, catalog, lang)
            reply = _answer_reply(catalog, answer_id, lang, telegram=True)
            return Decision(
                "answer",
                lang,
                None if _silenced(inbound, "answer") else reply,
                answer_id,
                matched="callback",
            )
        case ShowList(kind, page):
            reply = list_reply(catalog, kind, page, lang)
            silent = _silenced(inbound, "menu")
            return Decision("menu", lang, None if silent else reply, matched="callback")
        case SetLanguage(new):
            reply = Reply(catalog.text("language_switched", new))
            silent = _silenced(inbound, "language")
            return Decision(
                "language", new, None if silent else reply, set_language=new, matched="callback"
            )
        case SubscribeAction():
            silent = _silenced(inbound, "menu")
            return Decision("menu", lang, None, matched="callback", action=None if silent else data)
    return None


def _plain(match: Match, inbound: Inbound, catalog: Catalog, lang: Lang) -> Decision:
    silent = _silenced(inbound, match.intent)
    reply = None if silent else _reply(match, inbound, catalog, lang, None)
    return Decision(match.intent, lang, reply, match.answer_id, matched=match.stage)


def _reply(
    match: Match,
    inbound: Inbound,
    catalog: Catalog,
    lang: Lang,
    contact_line: str | None,
) -> Reply:
    telegram = inbound.channel == "telegram"
    intent = match.intent
    if intent == "answer" and match.answer_id is not None:
        return _answer_reply(catalog, match.answer_id, lang, telegram=telegram)
    if intent == "opt_out":
        return Reply(catalog.text("opted_out_telegram" if telegram else "opted_out", lang))
    if intent == "courtesy":
        return Reply(catalog.text("courtesy", lang))
    if intent == "opt_in":
        return Reply(catalog.text("opted_in", lang))
    if intent == "help":
        if contact_line:
            return Reply(catalog.text("help", lang).replace("{contact}", contact_line))
        return Reply(catalog.text("help_no_contact", lang))
    if intent == "language":
        return Reply(catalog.text("language_switched", lang))
    if intent == "menu":
        return _with_menu(catalog.text("menu", lang), catalog, lang, telegram)
    if intent in ("staff", "no_answer"):
        return handed_over_reply(catalog, lang, office_open=inbound.office_open)
    # Not understood: say so and offer a person (STAFF) or the MENU, in one SMS; Telegram
    # shows the topic buttons under it.
    return _with_menu(catalog.text("not_understood", lang), catalog, lang, telegram)


def handed_over_reply(catalog: Catalog, lang: Lang, *, office_open: bool) -> Reply:
    """What a resident is told when a person takes over: they will answer here, and, when the
    office is closed, that the answer comes in office hours."""
    return Reply(catalog.text("handed_over" if office_open else "handed_over_closed", lang))


def hand_over(decision: Decision, catalog: Catalog, *, office_open: bool) -> Decision:
    """``decision`` handed over to a person: intent ``staff`` and the reply that says a person
    will answer (in office hours when the office is closed). A message the bot could not
    answer (the second miss in a row) is marked ``matched="missed"``."""
    reply = handed_over_reply(catalog, decision.language, office_open=office_open)
    matched = "missed" if decision.intent == "unknown" else decision.matched
    return replace(decision, intent="staff", reply=reply, matched=matched)


def _answer_reply(catalog: Catalog, answer_id: str, lang: Lang, *, telegram: bool) -> Reply:
    """SMS: the short text. Telegram: the full text, « Back to its list and « Menu."""
    answer = catalog.by_id[answer_id]
    if not telegram:
        return Reply(answer.sms.get(lang))
    return Reply(answer.full.get(lang), answer_buttons(catalog, answer, lang))


def _with_menu(text: str, catalog: Catalog, lang: Lang, telegram: bool) -> Reply:
    return Reply(text, topic_menu_buttons(catalog, lang)) if telegram else Reply(text)
