"""decide(): intents to replies, languages, opted-out rules, SMS vs Telegram."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.catalog import AnswerKind, Catalog, Lang, build_catalog
from bot.core.conversation import answer_callback, decide, hand_over, render_sms
from bot.core.decision import INTENTS, Button, Channel, ContactStatus, Inbound, Reply
from bot.core.keywords import Matcher
from bot.core.menus import ShowList, answer_buttons, language_reply, list_reply, parse_callback
from bot.core.normalize import normalize
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
    (
        "roman urdu: roman urdu, stores it",
        "naukri chahiye",
        "sms - active",
        "answer sms:jobs ur-Latn ur-Latn",
    ),
    ("roman urdu, urdu stored", "naukri chahiye", "sms ur active", "answer sms:jobs ur-Latn -"),
    ("roman urdu, english stored", "jobs kahan hain", "sms en active", "answer sms:jobs ur-Latn -"),
    ("stored roman, english text", "jobs", "sms ur-Latn active", "answer sms:jobs ur-Latn -"),
    (
        "stored roman, no roman sms: english",
        "women",
        "sms ur-Latn active",
        "answer sms:women ur-Latn -",
    ),
    (
        "roman, no roman sms: english",
        "training ke liye",
        "sms - active",
        "answer sms:training ur-Latn ur-Latn",
    ),
    (
        "roman on telegram: english full",
        "naukri",
        "telegram - active",
        "answer full:jobs ur-Latn ur-Latn",
    ),
    ("roman stop", "band karo", "sms - active", "opt_out opted_out ur-Latn ur-Latn"),
    ("english is not roman", "where are the jobs", "sms - active", "answer sms:jobs en -"),
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
    ("ROMAN", "ROMAN", "sms - active", "language language_switched ur-Latn ur-Latn"),
    (
        "roman urdu is not urdu",
        "roman urdu",
        "sms en active",
        "language language_switched ur-Latn ur-Latn",
    ),
    (
        "roman urdu mein",
        "Roman Urdu mein",
        "sms ur active",
        "language language_switched ur-Latn ur-Latn",
    ),
    (
        "roman in urdu script",
        "رومن اردو",
        "sms - active",
        "language language_switched ur-Latn ur-Latn",
    ),
    ("urdu mein is urdu script", "urdu mein", "sms - active", "language language_switched ur ur"),
    ("lang toggles roman -> en", "LANG", "sms ur-Latn active", "language language_switched en en"),
    ("english from roman", "english", "sms ur-Latn active", "language language_switched en en"),
    (
        "telegram roman button",
        "lang:ur-Latn",
        "telegram en active",
        "language language_switched ur-Latn ur-Latn",
    ),
    ("menu", "menu", "sms - active", "menu menu en -"),
    ("faq", "FAQ ۳", "sms - active", "answer sms:faq_3 en -"),
    ("unknown", "asdf qwer", "sms - active", "unknown not_understood en -"),
    ("unknown in urdu", "ژژژ", "sms - active", "unknown not_understood ur ur"),
    # a person: asked for, or a question only a person can answer (no answer has the topic)
    ("staff", "STAFF", "sms - active", "staff handed_over en -"),
    ("insaan se baat", "insaan se baat karni hai", "sms ur active", "staff handed_over ur-Latn -"),
    ("rabta in urdu", "رابطہ", "sms - active", "staff handed_over ur ur"),
    ("fees", "fees kitni hai?", "telegram en active", "no_answer handed_over ur-Latn -"),
    ("fees in english", "what are the fees?", "telegram en active", "no_answer handed_over en -"),
    ("dakhla kab", "داخلہ کب ہے", "sms ur active", "no_answer handed_over ur -"),
    ("fees, office closed", "fees", "sms/closed - active", "no_answer handed_over_closed en -"),
    ("opted out: fees", "fees", "sms - opted_out", "no_answer - en -"),
    ("staff, office closed", "staff", "sms/closed - active", "staff handed_over_closed en -"),
    ("opted out: staff", "staff", "sms - opted_out", "staff - en -"),
    # opted out: silence, except START and HELP
    ("opted out: question", "jobs", "sms - opted_out", "answer - en -"),
    ("opted out: stop again", "STOP", "sms - opted_out", "opt_out - en -"),
    ("opted out: greeting", "hello??", "sms - opted_out", "menu - en -"),
    ("opted out: start", "START", "sms - opted_out", "opt_in opted_in en -"),
    ("opted out: shuru", "shuru karo", "sms ur opted_out", "opt_in opted_in ur-Latn -"),
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
    return catalog.text(key, lang)


@pytest.mark.parametrize(
    ("text", "who", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_decide(catalog: Catalog, matcher: Matcher, text: str, who: str, expected: str) -> None:
    channel, stored, status = who.split()
    intent, reply, lang, set_language = expected.split()
    channel, _, closed = channel.partition("/")
    inbound = Inbound(text, channel, _none(stored), status, office_open=not closed)  # type: ignore[arg-type]
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


def test_a_second_miss_is_handed_over_in_the_residents_language(catalog: Catalog) -> None:
    miss = decide(Inbound("ژژژ", "sms"), catalog, Matcher.from_catalog(catalog))

    handed = hand_over(miss, catalog, office_open=False)

    assert (handed.intent, handed.matched, handed.language) == ("staff", "missed", "ur")
    assert handed.reply == Reply(catalog.text("handed_over_closed", "ur"))
    assert handed.set_language == miss.set_language


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
        ("/jobs", "menu"),  # the jobs list; the word "jobs" is the topic
        ("/jobs@DhanoteBot", "menu"),
        ("/faq", "menu"),
        ("/faq 3", "answer"),  # with words after it, a command is the word
        ("/programs", "menu"),
        ("/language", "language"),
        ("/subscribe", "menu"),
        ("/stop", "opt_out"),
        ("/start@DhanoteBot", "opt_in"),
    ],
)
def test_telegram_commands(catalog: Catalog, matcher: Matcher, text: str, intent: str) -> None:
    assert decide(Inbound(text, "telegram"), catalog, matcher).intent == intent


def test_matcher_from_another_catalog_never_answers_with_a_ghost(catalog: Catalog) -> None:
    smaller = build_catalog("other", ANSWERS[1:], SYSTEM)
    decision = decide(Inbound("jobs", "sms"), smaller, Matcher.from_catalog(catalog))
    assert (decision.intent, decision.answer_id) == ("unknown", None)


@pytest.mark.parametrize("text", sorted({case[1] for case in CASES}))
def test_a_text_read_again_gets_its_matchers_own_match(catalog: Catalog, text: str) -> None:
    # decide() keeps the matches of recent texts: per matcher, and the same as a fresh read.
    full = Matcher.from_catalog(catalog)
    smaller = Matcher.from_catalog(build_catalog("other", ANSWERS[1:], SYSTEM))
    for _ in range(2):
        for matcher in (full, smaller):
            decision = decide(Inbound(text, "sms"), catalog, matcher)
            match = matcher.match(normalize(text))
            assert (decision.intent, decision.answer_id, decision.matched) == (
                match.intent,
                match.answer_id,
                match.stage,
            )


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
    st.sampled_from([None, "en", "ur", "ur-Latn"]),
    st.sampled_from(["active", "opted_out", "blocked", "invalid"]),
)
def test_any_text_gets_a_decision(
    text: str, channel: Channel, stored: Lang | None, status: ContactStatus
) -> None:
    decision = decide(Inbound(text, channel, stored, status), _CATALOG, _MATCHER)
    assert decision.intent in INTENTS
    assert decision.language in ("en", "ur", "ur-Latn")
    if decision.reply is None:
        assert (
            status == "opted_out"
            or decision.action is not None
            or (decision.intent == "courtesy" and channel == "sms")
        )
        assert decision.intent not in ("opt_in", "help")
        assert not decision.opt_in
    else:
        assert decision.reply.text
        assert count_segments(render_sms(decision.reply, 2)).segments <= 2


# --- Telegram commands, deep links and buttons ---------------------------------------------


@pytest.mark.parametrize(
    ("command", "kind"),
    [("/faq", "faq"), ("/programs", "program"), ("/jobs", "job"), ("/FAQ@DhanoteBot", "faq")],
)
@pytest.mark.parametrize("stored", ["en", "ur"])
def test_list_commands_show_the_first_page(
    catalog: Catalog, matcher: Matcher, command: str, kind: AnswerKind, stored: Lang
) -> None:
    decision = decide(Inbound(command, "telegram", stored), catalog, matcher)
    assert (decision.intent, decision.matched, decision.set_language) == ("menu", "command", None)
    assert decision.reply == list_reply(catalog, kind, 0, stored)


@pytest.mark.parametrize(
    "text", ["jobs", "Jobs", "JOBS please", "نوکری"], ids=["jobs", "Jobs", "please", "urdu"]
)
def test_the_word_jobs_still_answers_the_topic(
    catalog: Catalog, matcher: Matcher, text: str
) -> None:
    decision = decide(Inbound(text, "telegram"), catalog, matcher)
    assert (decision.intent, decision.answer_id) == ("answer", "jobs")


def test_language_command_shows_the_buttons_and_stores_nothing(
    catalog: Catalog, matcher: Matcher
) -> None:
    stored_languages: tuple[Lang | None, ...] = ("en", "ur", None)
    for stored in stored_languages:
        decision = decide(Inbound("/language", "telegram", stored), catalog, matcher)
        lang: Lang = stored or "en"
        assert (decision.intent, decision.set_language, decision.language) == (
            "language",
            None,
            lang,
        )
        assert decision.reply == language_reply(catalog, lang)
    # Only the word LANG toggles.
    assert decide(Inbound("/lang", "telegram", "en"), catalog, matcher).set_language == "ur"


# (label, text, stored status, expected: intent, answer id, source, reply)
DEEP_LINKS = [
    ("answer id opens it", "/start faq_3", "active", "answer", "faq_3", None, "full:faq_3"),
    ("topic id opens it", "/start jobs", "active", "answer", "jobs", None, "full:jobs"),
    ("opted out: opens it", "/start faq_3", "opted_out", "answer", "faq_3", None, "full:faq_3"),
    ("blocked: opens it", "/start faq_3", "blocked", "answer", "faq_3", None, "full:faq_3"),
    ("source", "/start fb_ad_2026", "active", "opt_in", None, "fb_ad_2026", "welcome"),
    ("source with dash", "/start poster-Multan", "active", "opt_in", None, "poster-Multan",
     "welcome"),
    ("source, 64 characters", "/start " + "s" * 64, "active", "opt_in", None, "s" * 64,
     "welcome"),
    ("source, opted out", "/start fb_ad_2026", "opted_out", "opt_in", None, "fb_ad_2026",
     "welcome"),
    ("addressed to the bot", "/start@DhanoteBot faq_1", "active", "answer", "faq_1", None,
     "full:faq_1"),
    ("answer id, other case", "/start FAQ_3", "active", "opt_in", None, "FAQ_3", "welcome"),
    ("no payload", "/start", "active", "opt_in", None, None, "welcome"),
    ("garbage: two words", "/start hello world", "active", "opt_in", None, None, "welcome"),
    ("garbage: markup", "/start <b>hi</b>", "active", "opt_in", None, None, "welcome"),
    ("garbage: too long", "/start " + "s" * 65, "active", "opt_in", None, None, "welcome"),
    ("garbage: urdu", "/start نوکری", "active", "opt_in", None, None, "welcome"),
    ("garbage: colon", "/start a:jobs", "active", "opt_in", None, None, "welcome"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "status", "intent", "answer_id", "source", "reply"),
    [d[1:] for d in DEEP_LINKS],
    ids=[d[0] for d in DEEP_LINKS],
)
def test_start_deep_links(
    catalog: Catalog,
    matcher: Matcher,
    text: str,
    status: ContactStatus,
    intent: str,
    answer_id: str | None,
    source: str | None,
    reply: str,
) -> None:
    decision = decide(Inbound(text, "telegram", None, status), catalog, matcher)
    assert (decision.intent, decision.answer_id, decision.source) == (intent, answer_id, source)
    assert decision.opt_in  # every /start makes the contact active again
    assert decision.action is None
    assert decision.reply is not None
    assert decision.reply.text == _expected_text(reply, decision.language, catalog)
    assert decision.reply.buttons  # the menu under the welcome, « Menu under an answer


def test_only_start_is_an_opt_in(catalog: Catalog, matcher: Matcher) -> None:
    for text in ("START", "/help", "/faq", "a:faq_1", "jobs", "lang:ur", "sub:done"):
        assert not decide(Inbound(text, "telegram"), catalog, matcher).opt_in, text


# (label, callback data, stored language, expected: intent, language, set_language, reply)
CALLBACKS = [
    ("answer", "a:faq_1", "en", "answer", "en", "-", "full:faq_1"),
    ("answer in urdu", "a:jobs", "ur", "answer", "ur", "-", "full:jobs"),
    ("menu", "menu", "en", "menu", "en", "-", "menu"),
    ("list page", "l:faq:0", "en", "menu", "en", "-", "list:faq:0"),
    ("list page clamps", "l:program:9", "ur", "menu", "ur", "-", "list:program:0"),
    ("set urdu", "lang:ur", "en", "language", "ur", "ur", "language_switched"),
    ("set english", "lang:en", "ur", "language", "en", "en", "language_switched"),
    ("set urdu, new", "lang:ur", "-", "language", "ur", "ur", "language_switched"),
    ("set urdu again", "lang:ur", "ur", "language", "ur", "ur", "language_switched"),
    ("stale answer", "a:removed_answer", "en", "unknown", "en", "-", "not_understood"),
]


@pytest.mark.parametrize(
    ("data", "stored", "expected"),
    [(c[1], c[2], " ".join(c[3:])) for c in CALLBACKS],
    ids=[c[0] for c in CALLBACKS],
)
def test_callbacks(
    catalog: Catalog, matcher: Matcher, data: str, stored: str, expected: str
) -> None:
    intent, lang, set_language, reply = expected.split()
    decision = decide(Inbound(data, "telegram", _none(stored)), catalog, matcher)  # type: ignore[arg-type]
    assert (decision.intent, decision.language, decision.set_language) == (
        intent,
        lang,
        _none(set_language),
    )
    assert decision.reply is not None
    if reply.startswith("list:"):
        action = parse_callback(f"l:{reply.removeprefix('list:')}")
        assert isinstance(action, ShowList)
        assert decision.reply == list_reply(catalog, action.kind, action.page, decision.language)
    else:
        assert decision.reply.text == _expected_text(reply, decision.language, catalog)


def test_answer_from_a_list_has_a_back_button(catalog: Catalog, matcher: Matcher) -> None:
    decision = decide(Inbound("a:faq_2", "telegram"), catalog, matcher)
    faq = catalog.answer("faq_2")
    assert decision.reply is not None
    assert decision.reply.buttons == answer_buttons(catalog, faq, "en")
    assert decision.reply.buttons == ((Button("« Back", "l:faq:0"), Button("« Menu", "menu")),)


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("/subscribe", "subscribe"),
        ("/subscribe@DhanoteBot", "subscribe"),
        ("sub:t:jobs", "sub:t:jobs"),
        ("sub:c:multan", "sub:c:multan"),
        ("sub:done", "sub:done"),
    ],
)
def test_subscribe_is_left_to_the_caller(
    catalog: Catalog, matcher: Matcher, text: str, action: str
) -> None:
    decision = decide(Inbound(text, "telegram", "ur"), catalog, matcher)
    assert (decision.intent, decision.action, decision.reply) == ("menu", action, None)
    assert decision.language == "ur"
    silent = decide(Inbound(text, "telegram", "ur", "opted_out"), catalog, matcher)
    assert (silent.action, silent.reply) == (None, None)


@pytest.mark.parametrize("text", ["/faq", "/language", "l:faq:0", "a:jobs", "menu"])
def test_opted_out_get_no_menus(catalog: Catalog, matcher: Matcher, text: str) -> None:
    decision = decide(Inbound(text, "telegram", "en", "opted_out"), catalog, matcher)
    assert decision.reply is None
    assert not decision.opt_in


def test_opted_out_language_button_still_stores_the_language(
    catalog: Catalog, matcher: Matcher
) -> None:
    decision = decide(Inbound("lang:ur", "telegram", "en", "opted_out"), catalog, matcher)
    assert (decision.reply, decision.set_language) == (None, "ur")


@pytest.mark.parametrize("text", ["l:faq:0", "lang:ur", "sub:done", "/faq", "/start faq_3"])
def test_sms_has_no_buttons_commands_or_deep_links(
    catalog: Catalog, matcher: Matcher, text: str
) -> None:
    decision = decide(Inbound(text, "sms"), catalog, matcher)
    assert decision.reply is not None
    assert decision.reply.buttons == ()
    assert (decision.action, decision.source, decision.opt_in) == (None, None, False)
    assert decision.set_language is None
