"""decide(): intents to replies, languages, opted-out rules, SMS vs Telegram."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.catalog import Catalog, Lang, build_catalog
from bot.core.conversation import answer_callback, decide, render_sms
from bot.core.decision import INTENTS, Button, Channel, ContactStatus, Inbound, Reply
from bot.core.keywords import Matcher
from bot.core.segments import count_segments
from tests.core.conftest import ANSWERS, SYSTEM, sample_catalog

CONTACT = "0300-1234567"

# (label, text, who is writing: "channel stored-language status", expected: "intent reply
# reply-language set-language"). "-" is None; the reply is a system key, "sms:<answer id>" /
# "full:<answer id>" for an answer's text, or "-" for no reply at all.
CASES = [
    ("sms answer is the sms text", "jobs", "sms - active", "answer sms:jobs en -"),
    ("telegram answer is the full text", "jobs", "telegram - active", "answer full:jobs en -"),
    ("urdu script: urdu, stores ur", "نوکری", "sms - active", "answer sms:jobs ur ur"),
    ("urdu script, english stored", "نوکری", "sms en active", "answer sms:jobs ur -"),
    ("stored urdu, latin text", "jobs", "sms ur active", "answer sms:jobs ur -"),
    ("roman urdu keeps english", "naukri chahiye", "sms - active", "answer sms:jobs en -"),
    ("stop", "STOP", "sms - active", "opt_out opted_out en -"),
    ("urdu stop", "بند کرو", "sms - active", "opt_out opted_out ur ur"),
    ("start", "START", "sms - active", "opt_in opted_in en -"),
    ("help without contact", "HELP", "sms - active", "help help_no_contact en -"),
    ("urdu help", "مدد", "sms en active", "help help_no_contact ur -"),
    ("urdu word", "URDU", "sms - active", "language language_switched ur ur"),
    ("english word from urdu", "ENGLISH", "sms ur active", "language language_switched en en"),
    ("english in urdu script", "انگریزی", "sms - active", "language language_switched en en"),
    ("lang toggles en -> ur", "LANG", "sms en active", "language language_switched ur ur"),
    ("lang toggles ur -> en", "lang", "sms ur active", "language language_switched en en"),
    ("lang, no language -> ur", "LANG", "sms - active", "language language_switched ur ur"),
    ("zaban toggles from stored", "زبان", "sms ur active", "language language_switched en en"),
    ("explicit language stored", "URDU", "sms ur active", "language language_switched ur ur"),
    ("menu", "menu", "sms - active", "menu menu en -"),
    ("faq", "FAQ ۳", "sms - active", "answer sms:faq_3 en -"),
    ("unknown", "asdf qwer", "sms - active", "unknown not_understood+menu en -"),
    ("unknown in urdu", "ژژژ", "sms - active", "unknown not_understood+menu ur ur"),
    # opted out: silence, except START and HELP
    ("opted out: question", "jobs", "sms - opted_out", "answer - en -"),
    ("opted out: stop again", "STOP", "sms - opted_out", "opt_out - en -"),
    ("opted out: greeting", "hello??", "sms - opted_out", "menu - en -"),
    ("opted out: start", "START", "sms - opted_out", "opt_in opted_in en -"),
    ("opted out: shuru", "shuru karo", "sms ur opted_out", "opt_in opted_in ur -"),
    ("opted out: help answered", "HELP", "sms - opted_out", "help help_no_contact en -"),
    ("opted out: language stored", "URDU", "sms - opted_out", "language - ur ur"),
    ("blocked, writing again", "jobs", "telegram en blocked", "answer full:jobs en -"),
]


def _none(word: str) -> str | None:
    return None if word == "-" else word


def _expected_text(key: str, lang: Lang, catalog: Catalog) -> str:
    if key.startswith(("sms:", "full:")):
        field, answer_id = key.split(":")
        answer = catalog.answer(answer_id)
        return (answer.sms if field == "sms" else answer.full).get(lang)
    if key == "not_understood+menu":
        return f"{catalog.text('not_understood', lang)} {catalog.text('menu', lang)}"
    return catalog.text(key, lang)


@pytest.mark.parametrize(
    ("text", "who", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_decide(catalog: Catalog, matcher: Matcher, text: str, who: str, expected: str) -> None:
    channel, stored, status = who.split()
    intent, reply, lang, set_language = expected.split()
    inbound = Inbound(text, channel, _none(stored), status)  # type: ignore[arg-type]
    decision = decide(inbound, catalog, matcher)
    assert decision.intent == intent
    assert decision.language == lang
    assert decision.set_language == _none(set_language)
    if reply == "-":
        assert decision.reply is None
    else:
        assert decision.reply is not None
        assert decision.reply.text == _expected_text(reply, decision.language, catalog)


def test_help_fills_the_contact_line(catalog: Catalog, matcher: Matcher) -> None:
    decision = decide(Inbound("help", "sms"), catalog, matcher, contact_line=CONTACT)
    assert decision.reply == Reply(f"Dhanote IT Park info. Call {CONTACT}. STOP to opt out.")
    urdu = decide(Inbound("مدد", "sms"), catalog, matcher, contact_line=CONTACT)
    assert urdu.reply == Reply(f"مدد: {CONTACT}")


def test_answer_fields(catalog: Catalog, matcher: Matcher) -> None:
    decision = decide(Inbound("jbos", "sms"), catalog, matcher)
    assert (decision.answer_id, decision.matched) == ("jobs", "fuzzy")
    assert decision.reply is not None
    assert decision.reply.buttons == ()


def test_telegram_answer_has_a_menu_button(catalog: Catalog, matcher: Matcher) -> None:
    en = decide(Inbound("jobs", "telegram"), catalog, matcher)
    ur = decide(Inbound("نوکری", "telegram"), catalog, matcher)
    assert en.reply is not None
    assert en.reply.buttons == ((Button("« Menu", "menu"),),)
    assert ur.reply is not None
    assert ur.reply.buttons == ((Button("« مینو", "menu"),),)


def test_telegram_menu_has_topic_buttons(catalog: Catalog, matcher: Matcher) -> None:
    decision = decide(Inbound("menu", "telegram"), catalog, matcher)
    assert decision.reply is not None
    assert decision.reply.buttons == (
        (Button("Jobs", "a:jobs"), Button("Training", "a:training")),
        (Button("IT Park", "a:it_park"),),
    )
    urdu = decide(Inbound("menu", "telegram", "ur"), catalog, matcher)
    assert urdu.reply is not None
    assert urdu.reply.buttons[0][0] == Button("نوکریاں", "a:jobs")


def test_telegram_unknown_shows_the_menu_buttons(catalog: Catalog, matcher: Matcher) -> None:
    decision = decide(Inbound("qwertyuiop", "telegram"), catalog, matcher)
    assert decision.intent == "unknown"
    assert decision.reply is not None
    assert len(decision.reply.buttons) == 2


def test_sms_menu_has_no_buttons(catalog: Catalog, matcher: Matcher) -> None:
    decision = decide(Inbound("menu", "sms"), catalog, matcher)
    assert decision.reply == Reply(SYSTEM["menu"].en)


def test_telegram_button_press(catalog: Catalog, matcher: Matcher) -> None:
    decision = decide(Inbound(answer_callback("faq_1"), "telegram"), catalog, matcher)
    assert (decision.intent, decision.answer_id) == ("answer", "faq_1")
    ghost = decide(Inbound("a:nothing_here", "telegram"), catalog, matcher)
    assert ghost.intent == "unknown"


def test_telegram_start_command_welcomes(catalog: Catalog, matcher: Matcher) -> None:
    decision = decide(Inbound("/start", "telegram", None, "opted_out"), catalog, matcher)
    assert decision.intent == "opt_in"
    assert decision.reply is not None
    assert decision.reply.text == SYSTEM["welcome"].en
    assert decision.reply.buttons


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("/help", "help"),
        ("/help@DhanoteBot", "help"),
        ("/menu@DhanoteBot please", "menu"),
        ("/lang", "language"),
        ("/startup", "unknown"),  # not /start
        ("/jobs", "answer"),
        ("/start@DhanoteBot", "opt_in"),
    ],
)
def test_telegram_commands(catalog: Catalog, matcher: Matcher, text: str, intent: str) -> None:
    assert decide(Inbound(text, "telegram"), catalog, matcher).intent == intent


def test_matcher_from_another_catalog_never_answers_with_a_ghost(catalog: Catalog) -> None:
    smaller = build_catalog("other", ANSWERS[1:], SYSTEM)
    decision = decide(Inbound("jobs", "sms"), smaller, Matcher.from_catalog(catalog))
    assert (decision.intent, decision.answer_id) == ("unknown", None)


def test_render_sms_cuts_to_the_budget() -> None:
    long = Reply("word " * 100, ((Button("x", "y"),),))
    text = render_sms(long, 1)
    assert count_segments(text).segments == 1
    assert text.endswith("...")
    assert render_sms(Reply("short"), 2) == "short"


_CATALOG = sample_catalog()
_MATCHER = Matcher.from_catalog(_CATALOG)


@given(
    st.text(max_size=2000),
    st.sampled_from(["sms", "telegram"]),
    st.sampled_from([None, "en", "ur"]),
    st.sampled_from(["active", "opted_out", "blocked", "invalid"]),
)
def test_any_text_gets_a_decision(
    text: str, channel: Channel, stored: Lang | None, status: ContactStatus
) -> None:
    decision = decide(Inbound(text, channel, stored, status), _CATALOG, _MATCHER)
    assert decision.intent in INTENTS
    assert decision.language in ("en", "ur")
    if decision.reply is None:
        assert status == "opted_out"
        assert decision.intent not in ("opt_in", "help")
    else:
        assert decision.reply.text
        assert count_segments(render_sms(decision.reply, 2)).segments <= 2
