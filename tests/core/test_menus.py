"""Telegram menus: the callback-data scheme and every reply built on it, within the limits."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.content.load import load_catalog
from bot.core.catalog import (
    DEFAULT_LABELS,
    LANGS,
    Answer,
    AnswerKind,
    Catalog,
    Choice,
    Command,
    Lang,
    LocalText,
    build_catalog,
)
from bot.core.decision import Button, Reply
from bot.core.menus import (
    LIST_KINDS,
    CallbackAction,
    SetLanguage,
    ShowAnswer,
    ShowList,
    ShowMenu,
    SubscribeAction,
    answer_buttons,
    callback_data,
    commands_for,
    language_reply,
    list_pages,
    list_reply,
    parse_callback,
    shorten,
    subscribe_reply,
    subscribed_text,
    topic_menu_buttons,
)
from bot.core.telegram_text import check_button
from tests.core.conftest import ANSWERS, SYSTEM

CONTENT = Path(__file__).resolve().parents[2] / "content"

# --- Catalogs -----------------------------------------------------------------------------------


def _program(n: int) -> Answer:
    # Long and longer titles, in both scripts, so shortening and paging are exercised.
    words = " ".join(["training"] * (n % 12 + 1))
    return Answer(
        id=f"program_number_{n:02d}",
        kind="program",
        title=LocalText(f"Program {n}: {words}", f"پروگرام {n}: " + " ".join(["تربیت"] * n)),
        sms=LocalText(f"Program {n}.", f"پروگرام {n}۔"),
        full=LocalText(f"Program {n} in full.", f"پروگرام {n} مکمل۔"),
    )


def _faq(n: int) -> Answer:
    return Answer(
        id=f"faq_{n}",
        kind="faq",
        title=LocalText(f"Question {n}?", f"سوال {n}؟"),
        sms=LocalText(f"Answer {n}.", f"جواب {n}۔"),
        full=LocalText(f"Answer {n} in full.", f"جواب {n} مکمل۔"),
        number=n,
    )


INTERESTS = (
    Choice("training", LocalText("Training", "تربیت")),
    Choice("jobs", LocalText("Jobs", "نوکریاں")),
    Choice("events", LocalText("Hackathons", "ہیکاتھون")),
)
CITIES = (
    Choice("dhanote", LocalText("Dhanote", "ڈھنوٹ")),
    Choice("multan", LocalText("Multan", "ملتان")),
    Choice("other", LocalText("Other", "کوئی اور")),
)
COMMANDS = (
    Command("start", LocalText("Welcome", "خوش آمدید")),
    Command("faq", LocalText("Questions", "سوالات")),
)

# Many programs (four pages), 13 FAQs (three pages), 3 topics (one page), no jobs.
BIG = build_catalog(
    "big",
    (
        *(a for a in ANSWERS if a.kind == "topic"),
        *(_program(n) for n in range(1, 22)),
        *(_faq(n) for n in range(1, 14)),
    ),
    SYSTEM,
    commands=COMMANDS,
    interests=INTERESTS,
    cities=CITIES,
    labels=DEFAULT_LABELS,
)
SMALL = build_catalog("small", ANSWERS, SYSTEM)  # no labels, interests, cities or commands


@pytest.fixture(scope="module")
def shipped() -> Catalog:
    return load_catalog(CONTENT)


def _catalogs(shipped: Catalog) -> Iterator[tuple[str, Catalog]]:
    yield "big", BIG
    yield "small", SMALL
    yield "shipped", shipped


def _buttons(reply: Reply) -> list[Button]:
    return [button for row in reply.buttons for button in row]


def _assert_telegram_accepts(rows: tuple[tuple[Button, ...], ...]) -> None:
    assert rows, "a menu without buttons"
    for row in rows:
        assert 1 <= len(row) <= 8
        for button in row:
            check_button(button)  # raises for an empty label or data outside 1-64 bytes
            assert len(button.data.encode("utf-8")) <= 64
            assert parse_callback(button.data) is not None, button.data


# --- parse_callback -----------------------------------------------------------------------------

VALID: list[tuple[str, CallbackAction]] = [
    ("menu", ShowMenu()),
    ("a:jobs", ShowAnswer("jobs")),
    ("a:faq_3", ShowAnswer("faq_3")),
    ("l:faq:0", ShowList("faq", 0)),
    ("l:program:3", ShowList("program", 3)),
    ("l:job:0", ShowList("job", 0)),
    ("l:topic:12", ShowList("topic", 12)),
    ("lang:en", SetLanguage("en")),
    ("lang:ur", SetLanguage("ur")),
    ("sub:t:events", SubscribeAction(interest="events")),
    ("sub:c:multan", SubscribeAction(city="multan")),
    ("sub:done", SubscribeAction(done=True)),
    ("a:" + "x" * 62, ShowAnswer("x" * 62)),  # exactly 64 bytes
]

GARBAGE: list[tuple[str, object]] = [
    ("empty", ""),
    ("menu with a space", "menu "),
    ("MENU in capitals", "MENU"),
    ("answer without id", "a:"),
    ("answer id in capitals", "a:Jobs"),
    ("answer id with a space", "a:jobs now"),
    ("answer id with a newline", "a:jobs\n"),
    ("answer id starting with a digit", "a:3faq"),
    ("list without page", "l:faq"),
    ("list with empty page", "l:faq:"),
    ("list with negative page", "l:faq:-1"),
    ("list with fractional page", "l:faq:1.5"),
    ("list with urdu digit", "l:faq:٣"),
    ("list with huge page", "l:faq:12345"),
    ("list of unknown kind", "l:news:0"),
    ("list of plural kind", "l:faqs:0"),
    ("list with extra part", "l:faq:0:1"),
    ("unknown language", "lang:fr"),
    ("empty language", "lang:"),
    ("subscribe without part", "sub:"),
    ("subscribe, unknown part", "sub:x:jobs"),
    ("toggle without id", "sub:t:"),
    ("city with bad id", "sub:c:Multan!"),
    ("done with extra", "sub:done:now"),
    ("unknown prefix", "x:jobs"),
    ("a command", "/start"),
    ("plain text", "jobs"),
    ("urdu text", "نوکری"),
    ("overlong, 65 bytes", "a:" + "x" * 63),
    ("overlong garbage", "a:" + "x" * 5000),
    ("non-ascii id", "a:jöbs"),
    ("None", None),
    ("bytes", b"menu"),
    ("a number", 64),
]


@pytest.mark.parametrize(("data", "action"), VALID, ids=[v[0][:20] for v in VALID])
def test_parse_callback_reads_the_scheme(data: str, action: CallbackAction) -> None:
    assert parse_callback(data) == action
    assert callback_data(action) == data


@pytest.mark.parametrize("data", [g[1] for g in GARBAGE], ids=[g[0] for g in GARBAGE])
def test_parse_callback_refuses_anything_else(data: object) -> None:
    assert parse_callback(data) is None


def test_callback_data_refuses_more_than_64_bytes() -> None:
    with pytest.raises(ValueError, match="65 bytes"):
        callback_data(ShowAnswer("x" * 63))
    with pytest.raises(ValueError, match="bytes"):
        callback_data(SubscribeAction(interest="t" * 59))


@pytest.mark.parametrize(
    "fields",
    [{}, {"interest": "jobs", "city": "multan"}, {"city": "multan", "done": True}],
    ids=["nothing", "interest-and-city", "city-and-done"],
)
def test_a_subscribe_action_is_exactly_one_thing(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="one of"):
        SubscribeAction(**fields)


@given(st.text(max_size=100))
def test_parse_callback_never_raises_and_reads_back(data: str) -> None:
    action = parse_callback(data)
    if action is not None:
        assert len(callback_data(action).encode("utf-8")) <= 64
        assert parse_callback(callback_data(action)) == action


# --- Every reply fits Telegram -------------------------------------------------------------------


def test_every_list_page_of_every_kind_fits_telegram(shipped: Catalog) -> None:
    for name, catalog in _catalogs(shipped):
        for kind in LIST_KINDS:
            for page in range(list_pages(catalog, kind)):
                for lang in LANGS:
                    reply = list_reply(catalog, kind, page, lang)
                    assert reply.text, (name, kind, page, lang)
                    _assert_telegram_accepts(reply.buttons)


def test_every_other_reply_fits_telegram(shipped: Catalog) -> None:
    for _, catalog in _catalogs(shipped):
        for lang in LANGS:
            _assert_telegram_accepts(topic_menu_buttons(catalog, lang))
            _assert_telegram_accepts(language_reply(catalog, lang).buttons)
            for answer in catalog.answers:
                _assert_telegram_accepts(answer_buttons(catalog, answer, lang))
            everything = frozenset(c.id for c in catalog.interests)
            for interests in (frozenset(), everything):
                city = catalog.cities[0].id if catalog.cities else None
                _assert_telegram_accepts(subscribe_reply(catalog, lang, interests, city).buttons)


@pytest.mark.parametrize("per_page", [1, 2, 5, 6, 7, 8, 100])
def test_paging_shows_every_answer_exactly_once(per_page: int) -> None:
    for kind in LIST_KINDS:
        for lang in LANGS:
            shown = [
                button.data
                for page in range(list_pages(BIG, kind, per_page=per_page))
                for button in _buttons(list_reply(BIG, kind, page, lang, per_page=per_page))
                if button.data.startswith("a:")
            ]
            assert shown == [f"a:{a.id}" for a in BIG.of_kind(kind)], (kind, per_page)


def test_every_shipped_answer_is_on_a_list_page(shipped: Catalog) -> None:
    for kind in LIST_KINDS:
        shown = {
            button.data
            for page in range(list_pages(shipped, kind))
            for button in _buttons(list_reply(shipped, kind, page, "en"))
        }
        assert {f"a:{a.id}" for a in shipped.of_kind(kind)} <= shown


# --- Lists -------------------------------------------------------------------------------------

# (label, kind, page asked, expected page shown, expected navigation data)
NAVIGATION = [
    ("first of four pages", "program", 0, 0, ["l:program:1"]),
    ("middle page", "program", 1, 1, ["l:program:0", "l:program:2"]),
    ("last page", "program", 3, 3, ["l:program:2"]),
    ("too far clamps to the last", "program", 99, 3, ["l:program:2"]),
    ("negative clamps to the first", "program", -4, 0, ["l:program:1"]),
    ("one page: no navigation", "topic", 0, 0, []),
    ("empty kind: menu only", "job", 0, 0, []),
]


@pytest.mark.parametrize(
    ("kind", "page", "shown", "nav"), [n[1:] for n in NAVIGATION], ids=[n[0] for n in NAVIGATION]
)
def test_list_navigation(kind: AnswerKind, page: int, shown: int, nav: list[str]) -> None:
    reply = list_reply(BIG, kind, page, "en")
    assert reply == list_reply(BIG, kind, shown, "en")
    data = [b.data for b in _buttons(reply)]
    assert [d for d in data if d.startswith("l:")] == nav
    assert reply.buttons[-1] == (Button("« Menu", "menu"),)
    if nav:
        assert [b.data for b in reply.buttons[-2]] == nav  # one row: « Prev / Next »
        labels = [b.label for b in reply.buttons[-2]]
        assert labels == [label for label in ("« Prev", "Next »") if label in labels]


def test_list_heading_counts_pages_only_when_there_are_several() -> None:
    assert list_reply(BIG, "program", 2, "en").text == "Programs (3/4)"
    assert list_reply(BIG, "topic", 0, "ur").text == DEFAULT_LABELS["topics_heading"].ur
    assert list_reply(BIG, "faq", 0, "en").text.startswith("Frequently asked questions")


def test_faq_buttons_are_numbered() -> None:
    labels = [b.label for b in _buttons(list_reply(BIG, "faq", 1, "en"))[:6]]
    assert labels == [f"{n}. Question {n}?" for n in range(7, 13)]
    urdu = _buttons(list_reply(BIG, "faq", 0, "ur"))[0]
    assert urdu == Button("1. سوال 1؟", "a:faq_1")


def test_list_buttons_use_the_short_button_label() -> None:
    answer = Answer(
        "jobs",
        "job",
        LocalText("A very long title about work", "کام"),
        LocalText("x", "x"),
        LocalText("x", "x"),
        button=LocalText("Work", "کام"),
    )
    catalog = build_catalog("b", (answer,), SYSTEM)
    assert _buttons(list_reply(catalog, "job", 0, "en"))[0] == Button("Work", "a:jobs")
    assert topic_menu_buttons(catalog, "en") == ()


def test_list_refuses_an_empty_page_size() -> None:
    with pytest.raises(ValueError, match="per_page"):
        list_reply(BIG, "faq", 0, "en", per_page=0)


SHORTEN = [
    ("short stays", "Jobs", 60, "Jobs"),
    ("exactly the limit stays", "x" * 60, 60, "x" * 60),
    (
        "cut at a word",
        "Youth Entrepreneurship in Dhanote, Multan & Bahawalpur",
        40,
        "Youth Entrepreneurship in Dhanote…",
    ),
    ("one long word is cut inside", "x" * 80, 60, "x" * 59 + "…"),
    ("trailing comma dropped", "Dhanote, Multan, Bahawalpur", 17, "Dhanote, Multan…"),
]


@pytest.mark.parametrize(
    ("text", "limit", "expected"), [s[1:] for s in SHORTEN], ids=[s[0] for s in SHORTEN]
)
def test_shorten(text: str, limit: int, expected: str) -> None:
    assert shorten(text, limit) == expected
    assert len(expected) <= limit


def test_long_titles_are_shortened_on_buttons_only() -> None:
    for lang in LANGS:
        for page in range(list_pages(BIG, "program")):
            for button in _buttons(list_reply(BIG, "program", page, lang)):
                assert len(button.label) <= 60
    long = BIG.answer("program_number_11")
    assert len(long.title.en) > 60  # the answer itself keeps its title


# --- Answers, language, topic menu ---------------------------------------------------------------


def test_answer_buttons_go_back_to_the_right_page() -> None:
    assert answer_buttons(BIG, BIG.answer("faq_8"), "en") == (
        (Button("« Back", "l:faq:1"), Button("« Menu", "menu")),
    )
    assert answer_buttons(BIG, BIG.answer("faq_1"), "ur") == (
        (Button("« واپس", "l:faq:0"), Button("« مینو", "menu")),
    )
    assert answer_buttons(BIG, BIG.answer("jobs"), "en") == ((Button("« Menu", "menu"),),)


def test_language_reply_offers_the_three_languages(shipped: Catalog) -> None:
    for lang in LANGS:
        reply = language_reply(shipped, lang)
        assert reply.text == shipped.label("language_prompt", lang)
        assert reply.buttons == (
            (
                Button("English", "lang:en"),
                Button("اردو", "lang:ur"),
                Button("Roman Urdu", "lang:ur-Latn"),
            ),
        )
        for button in reply.buttons[0]:
            assert parse_callback(button.data) == SetLanguage(button.data.split(":")[1])


def test_topic_menu_uses_short_labels(shipped: Catalog) -> None:
    labels = [b.label for row in topic_menu_buttons(shipped, "en") for b in row]
    assert labels[:3] == ["History", "Training", "Infrastructure"]
    assert all(len(label) <= 32 for label in labels)
    assert all(len(row) <= 2 for row in topic_menu_buttons(shipped, "ur"))


# --- Subscribe ---------------------------------------------------------------------------------

# (label, interests followed, city, lang, buttons expected with a tick)
TICKS: list[tuple[str, frozenset[str], str | None, Lang, set[str]]] = [
    ("nothing chosen", frozenset(), None, "en", set()),
    ("one topic", frozenset({"jobs"}), None, "en", {"sub:t:jobs"}),
    (
        "topics and city",
        frozenset({"jobs", "events"}),
        "multan",
        "ur",
        {
            "sub:t:jobs",
            "sub:t:events",
            "sub:c:multan",
        },
    ),
    ("unknown ids ignored", frozenset({"cooking"}), "lahore", "en", set()),
]


@pytest.mark.parametrize(
    ("interests", "city", "lang", "ticked"), [t[1:] for t in TICKS], ids=[t[0] for t in TICKS]
)
def test_subscribe_ticks(
    interests: frozenset[str], city: str | None, lang: Lang, ticked: set[str]
) -> None:
    reply = subscribe_reply(BIG, lang, interests, city)
    assert reply.text == BIG.label("subscribe_heading", lang)
    buttons = _buttons(reply)
    assert [b.data for b in buttons] == [
        *(f"sub:t:{c.id}" for c in INTERESTS),
        *(f"sub:c:{c.id}" for c in CITIES),
        "sub:done",
    ]
    assert {b.data for b in buttons if b.label.startswith("✓ ")} == ticked
    for button in buttons:
        choice = next((c for c in (*INTERESTS, *CITIES) if button.data.endswith(f":{c.id}")), None)
        if choice is not None:
            assert button.label.removeprefix("✓ ") == choice.label.get(lang)
    assert reply.buttons[-1] == (Button(BIG.label("done", lang), "sub:done"),)
    assert [b.data for b in reply.buttons[-2]] == [f"sub:c:{c.id}" for c in CITIES]


SUMMARIES = [
    ("both", frozenset({"events", "training"}), "multan", "en",
     "You follow: Training, Hackathons. City: Multan."),
    ("nothing", frozenset(), None, "en", "You follow: none. City: none."),
    ("urdu", frozenset({"jobs", "training"}), "dhanote", "ur",
     "آپ کے موضوعات: تربیت، نوکریاں۔ شہر: ڈھنوٹ۔"),
    ("unknown ids", frozenset({"cooking"}), "lahore", "en", "You follow: none. City: none."),
]  # fmt: skip


@pytest.mark.parametrize(
    ("interests", "city", "lang", "expected"),
    [s[1:] for s in SUMMARIES],
    ids=[s[0] for s in SUMMARIES],
)
def test_subscribed_text(
    interests: frozenset[str], city: str | None, lang: Lang, expected: str
) -> None:
    assert subscribed_text(BIG, lang, interests, city) == expected


def test_subscribed_text_fills_placeholders_once(shipped: Catalog) -> None:
    # A label that itself looks like a placeholder is not filled in again.
    catalog = build_catalog(
        "x",
        (),
        SYSTEM,
        interests=(Choice("odd", LocalText("{city}", "{city}")),),
        cities=CITIES,
    )
    assert subscribed_text(catalog, "en", frozenset({"odd"}), "multan") == (
        "You follow: {city}. City: Multan."
    )
    text = subscribed_text(shipped, "en", frozenset({"jobs"}), "bahawalpur")
    assert "Jobs" in text and "Bahawalpur" in text and "{" not in text


# --- Commands ---------------------------------------------------------------------------------


def test_commands_for_both_languages_follow_telegram_rules(shipped: Catalog) -> None:
    for catalog in (shipped, BIG):
        for lang in LANGS:
            commands = commands_for(catalog, lang)
            assert 1 <= len(commands) <= 100
            assert len({name for name, _ in commands}) == len(commands)
            for name, description in commands:
                assert re.fullmatch("[a-z0-9_]{1,32}", name)
                assert 1 <= len(description) <= 256
    assert commands_for(BIG, "ur") == [("start", "خوش آمدید"), ("faq", "سوالات")]
    assert commands_for(SMALL, "en") == []


def test_labels_fall_back_to_the_defaults() -> None:
    assert SMALL.label("next", "en") == "Next »"
    assert SMALL.label("menu", "ur") == "« مینو"
    with pytest.raises(KeyError):
        SMALL.label("no_such_label", "en")
