"""Telegram menus: the callback-data scheme and the button replies built on it.

Every inline button carries callback data of at most 64 bytes of UTF-8 (Telegram's limit).
The scheme, all ASCII:

====================  ===================================================  ==============
data                  meaning                                              handled by
====================  ===================================================  ==============
``menu``              the topic menu                                       ``decide``
``a:<answer id>``     one answer, in full                                  ``decide``
``l:<kind>:<page>``   a page (0-based) of the answers of one kind:         ``decide``
                      ``faq``, ``program``, ``job`` or ``topic``
``lang:<en|ur>``      set the language                                     ``decide``
``sub:t:<interest>``  follow or unfollow an interest (an announcement      the caller
                      topic tag)
``sub:c:<city>``      set the subscriber's city                            the caller
``sub:done``          finish ``/subscribe``                                the caller
====================  ===================================================  ==============

The ``sub:*`` buttons need the subscriber's stored interests, so
:func:`bot.core.conversation.decide` hands them back as ``Decision.action`` and the caller
answers with :func:`subscribe_reply` / :func:`subscribed_text`.

:func:`parse_callback` turns data back into a :class:`CallbackAction` (None for anything
else); :func:`callback_data` is its inverse and raises ``ValueError`` past 64 bytes. The reply
builders never raise for a loaded catalog: the content loader keeps every id short enough,
and an answer, interest or city whose data would not fit is left out rather than sent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import get_args

from bot.core.catalog import CONTENT_KINDS, Answer, AnswerKind, Catalog, Choice, Lang
from bot.core.decision import Button, Reply
from bot.core.telegram_text import CALLBACK_DATA_LIMIT, layout_buttons

__all__ = [
    "LIST_KINDS",
    "MENU_CALLBACK",
    "PER_PAGE",
    "TITLE_MAX",
    "CallbackAction",
    "SetLanguage",
    "ShowAnswer",
    "ShowList",
    "ShowMenu",
    "SubscribeAction",
    "answer_buttons",
    "answer_callback",
    "callback_data",
    "callback_size",
    "commands_for",
    "language_reply",
    "list_pages",
    "list_reply",
    "parse_callback",
    "shorten",
    "subscribe_reply",
    "subscribed_text",
    "topic_menu_buttons",
]

LIST_KINDS: tuple[AnswerKind, ...] = CONTENT_KINDS
MENU_CALLBACK = "menu"
PER_PAGE = 6  # answers per list page; with the navigation rows a page fits a phone screen
TITLE_MAX = 60  # characters of a title shown on a list button before it is shortened
TICK = "✓ "

_HEADINGS: dict[AnswerKind, str] = {
    "faq": "faq_heading",
    "program": "programs_heading",
    "job": "jobs_heading",
    "topic": "topics_heading",
}
_TOPICS_PER_ROW = 2
_INTERESTS_PER_ROW = 2
_CITIES_PER_ROW = 4
_ID = re.compile(r"[a-z][a-z0-9_]*")
_PAGE = re.compile(r"[0-9]{1,4}")
_SUMMARY_FIELD = re.compile(r"\{(topics|city)\}")
_LIST_SEPARATOR = {"en": ", ", "ur": "، ", "ur-Latn": ", "}


# --- Callback actions -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShowMenu:
    """``menu``: the topic menu."""


@dataclass(frozen=True, slots=True)
class ShowAnswer:
    """``a:<answer id>``: one answer in full."""

    answer_id: str


@dataclass(frozen=True, slots=True)
class ShowList:
    """``l:<kind>:<page>``: one page (0-based) of the answers of ``kind``."""

    kind: AnswerKind
    page: int


@dataclass(frozen=True, slots=True)
class SetLanguage:
    """``lang:<en|ur|ur-Latn>``: reply in ``lang`` from now on."""

    lang: Lang


@dataclass(frozen=True, slots=True)
class SubscribeAction:
    """A ``sub:*`` button, exactly one of: ``sub:t:<interest id>`` (``interest``: follow it,
    or stop following it), ``sub:c:<city id>`` (``city``: the subscriber's city) or
    ``sub:done`` (``done``: finished choosing). Raises ``ValueError`` otherwise."""

    interest: str | None = None
    city: str | None = None
    done: bool = False

    def __post_init__(self) -> None:
        if (self.interest is not None) + (self.city is not None) + self.done != 1:
            raise ValueError("a SubscribeAction is one of: an interest, a city, or done")


CallbackAction = ShowMenu | ShowAnswer | ShowList | SetLanguage | SubscribeAction


def parse_callback(data: object) -> CallbackAction | None:
    """The action of a button's callback data, or None for anything not in the scheme.

    Syntax only: an id is not looked up in any catalog. Never raises, whatever ``data`` is.
    """
    if not isinstance(data, str) or not data.isascii() or len(data) > CALLBACK_DATA_LIMIT:
        return None
    if data == MENU_CALLBACK:
        return ShowMenu()
    if data == "sub:done":
        return SubscribeAction(done=True)
    head, _, rest = data.partition(":")
    if head == "a" and _ID.fullmatch(rest):
        return ShowAnswer(rest)
    if head == "l":
        kind_name, _, page = rest.partition(":")
        for kind in LIST_KINDS:
            if kind_name == kind and _PAGE.fullmatch(page):
                return ShowList(kind, int(page))
    elif head == "lang":
        for lang in get_args(Lang):
            if rest == lang:
                return SetLanguage(lang)
    elif head == "sub":
        what, _, item = rest.partition(":")
        if what == "t" and _ID.fullmatch(item):
            return SubscribeAction(interest=item)
        if what == "c" and _ID.fullmatch(item):
            return SubscribeAction(city=item)
    return None


def callback_data(action: CallbackAction) -> str:
    """The callback data of ``action``; :func:`parse_callback` reads it back.

    Raises ``ValueError`` when it would be longer than Telegram's 64 bytes.
    """
    data = _encode(action)
    size = len(data.encode("utf-8"))
    if size > CALLBACK_DATA_LIMIT:
        raise ValueError(f"callback data {data[:20]!r}… is {size} bytes (at most 64)")
    return data


def callback_size(action: CallbackAction) -> int:
    """How many bytes of UTF-8 the callback data of ``action`` has (it fits at 64 or less)."""
    return len(_encode(action).encode("utf-8"))


def _encode(action: CallbackAction) -> str:
    match action:
        case ShowMenu():
            data = MENU_CALLBACK
        case ShowAnswer(answer_id):
            data = f"a:{answer_id}"
        case ShowList(kind, page):
            data = f"l:{kind}:{page}"
        case SetLanguage(lang):
            data = f"lang:{lang}"
        case SubscribeAction(interest=str(interest_id)):
            data = f"sub:t:{interest_id}"
        case SubscribeAction(city=str(city_id)):
            data = f"sub:c:{city_id}"
        case SubscribeAction():
            data = "sub:done"
    return data


def answer_callback(answer_id: str) -> str:
    """The callback data of an answer's button (``a:<answer id>``)."""
    return callback_data(ShowAnswer(answer_id))


def _fits(action: CallbackAction) -> bool:
    return callback_size(action) <= CALLBACK_DATA_LIMIT


# --- Replies ------------------------------------------------------------------------------------


def topic_menu_buttons(catalog: Catalog, lang: Lang) -> tuple[tuple[Button, ...], ...]:
    """The topic menu: one button per topic (its short ``button`` label), two a row."""
    buttons = [
        Button(shorten(a.button_label(lang)), answer_callback(a.id))
        for a in catalog.of_kind("topic")
        if _fits(ShowAnswer(a.id))
    ]
    return _rows(buttons, _TOPICS_PER_ROW)


def list_pages(catalog: Catalog, kind: AnswerKind, *, per_page: int = PER_PAGE) -> int:
    """How many pages the list of ``kind`` has (1 for an empty list)."""
    if per_page < 1:
        raise ValueError(f"per_page must be at least 1, not {per_page}")
    return max(1, -(-len(_listed(catalog, kind)) // per_page))


def list_reply(
    catalog: Catalog, kind: AnswerKind, page: int, lang: Lang, *, per_page: int = PER_PAGE
) -> Reply:
    """Page ``page`` (0-based; clamped into range) of the answers of ``kind``.

    The text is the list's heading (with "(page/pages)" when there is more than one page);
    the buttons are one per answer (FAQs numbered "1. ", "2. ", …; long titles shortened
    with "…"), a row with « Prev / Next » when there are other pages, and a Menu button.
    Raises ``ValueError`` for ``per_page`` < 1.
    """
    pages = list_pages(catalog, kind, per_page=per_page)
    page = min(max(page, 0), pages - 1)
    shown = _listed(catalog, kind)[page * per_page : (page + 1) * per_page]
    rows: list[tuple[Button, ...]] = [
        (Button(_item_label(a, lang), answer_callback(a.id)),) for a in shown
    ]
    nav = []
    if page > 0:
        nav.append(Button(catalog.label("previous", lang), callback_data(ShowList(kind, page - 1))))
    if page < pages - 1:
        nav.append(Button(catalog.label("next", lang), callback_data(ShowList(kind, page + 1))))
    if nav:
        rows.append(tuple(nav))
    rows.append((_menu_button(catalog, lang),))
    text = catalog.label(_HEADINGS[kind], lang)
    if pages > 1:
        text = f"{text} ({page + 1}/{pages})"
    return Reply(text, layout_buttons(tuple(rows)))


def answer_buttons(
    catalog: Catalog, answer: Answer, lang: Lang, *, per_page: int = PER_PAGE
) -> tuple[tuple[Button, ...], ...]:
    """The buttons under an answer: « Back to the list page it is on (not for topics, which
    the menu lists, nor coordinators' added answers, which no list shows), and « Menu."""
    menu = _menu_button(catalog, lang)
    listed = _listed(catalog, answer.kind)
    if answer.kind in ("topic", "added") or answer not in listed:
        return ((menu,),)
    page = listed.index(answer) // per_page
    back = Button(catalog.label("back", lang), callback_data(ShowList(answer.kind, page)))
    return ((back, menu),)


def language_reply(catalog: Catalog, lang: Lang) -> Reply:
    """The language prompt (in ``lang``) with the buttons [English] [اردو] [Roman Urdu]."""
    buttons = (
        Button(catalog.label("english", lang), callback_data(SetLanguage("en"))),
        Button(catalog.label("urdu", lang), callback_data(SetLanguage("ur"))),
        Button(catalog.label("roman_urdu", lang), callback_data(SetLanguage("ur-Latn"))),
    )
    return Reply(catalog.label("language_prompt", lang), (buttons,))


def subscribe_reply(
    catalog: Catalog, lang: Lang, interests: frozenset[str], city: str | None
) -> Reply:
    """The /subscribe screen: the heading, a button per interest ("✓ " on those followed),
    the city buttons ("✓ " on ``city``) and Done. Unknown ids in ``interests`` or ``city``
    are ignored."""
    topic_buttons = [
        Button(_ticked(choice, lang, choice.id in interests), callback_data(toggle))
        for choice in catalog.interests
        if _fits(toggle := SubscribeAction(interest=choice.id))
    ]
    city_buttons = [
        Button(_ticked(choice, lang, choice.id == city), callback_data(pick))
        for choice in catalog.cities
        if _fits(pick := SubscribeAction(city=choice.id))
    ]
    rows = (
        *_rows(topic_buttons, _INTERESTS_PER_ROW),
        *_rows(city_buttons, _CITIES_PER_ROW),
        (Button(catalog.label("done", lang), callback_data(SubscribeAction(done=True))),),
    )
    return Reply(catalog.label("subscribe_heading", lang), layout_buttons(rows))


def subscribed_text(
    catalog: Catalog, lang: Lang, interests: frozenset[str], city: str | None
) -> str:
    """The ``subscribed_summary`` label with ``{topics}`` (the followed interests in catalog
    order) and ``{city}`` filled in; the ``none`` label stands for no topic or no city."""
    none = catalog.label("none", lang)
    topics = _LIST_SEPARATOR[lang].join(
        c.label.get(lang) for c in catalog.interests if c.id in interests
    )
    city_label = next((c.label.get(lang) for c in catalog.cities if c.id == city), none)
    values = {"topics": topics or none, "city": city_label}
    return _SUMMARY_FIELD.sub(
        lambda m: values[m.group(1)], catalog.label("subscribed_summary", lang)
    )


def commands_for(catalog: Catalog, lang: Lang) -> list[tuple[str, str]]:
    """``(command, description)`` pairs for Telegram's ``set_my_commands`` in ``lang``."""
    return [(c.name, c.description.get(lang)) for c in catalog.commands]


def shorten(text: str, limit: int = TITLE_MAX) -> str:
    """``text`` if it has at most ``limit`` characters, else cut at a word and ended with "…"
    (at most ``limit`` characters in all)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-&") + "…"


def _listed(catalog: Catalog, kind: AnswerKind) -> tuple[Answer, ...]:
    return tuple(a for a in catalog.of_kind(kind) if _fits(ShowAnswer(a.id)))


def _item_label(answer: Answer, lang: Lang) -> str:
    label = shorten(answer.button_label(lang))
    return f"{answer.number}. {label}" if answer.kind == "faq" and answer.number else label


def _menu_button(catalog: Catalog, lang: Lang) -> Button:
    return Button(catalog.label("menu", lang), callback_data(ShowMenu()))


def _ticked(choice: Choice, lang: Lang, ticked: bool) -> str:
    return f"{TICK}{choice.label.get(lang)}" if ticked else choice.label.get(lang)


def _rows(buttons: Sequence[Button], per_row: int) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row))
