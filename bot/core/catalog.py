"""The content the bot answers from, as frozen objects.

``bot.content`` builds a :class:`Catalog` from ``content/*.yaml``; everything in ``bot.core``
receives it ready-made and never sees a path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

# The reply languages: English, Urdu in its own script, and Roman Urdu (Urdu in Latin letters,
# GSM-7 like English, so an SMS of it costs half or less of one in Urdu script).
Lang = Literal["en", "ur", "ur-Latn"]
LANGS: tuple[Lang, ...] = ("en", "ur", "ur-Latn")
# The languages every text of the content has; Roman Urdu is required only of the SMS and
# system texts (one GSM-7 segment each), elsewhere it falls back to English.
TEXT_LANGS: tuple[Lang, ...] = ("en", "ur")

# "added": a coordinator's answer from the database (``outreach answers add``); the others
# come from content/ and are listed in the Telegram menus.
AnswerKind = Literal["topic", "faq", "program", "job", "added"]
CONTENT_KINDS: tuple[AnswerKind, ...] = ("topic", "faq", "program", "job")


@dataclass(frozen=True, slots=True)
class LocalText:
    """One text in English and (optionally) Urdu and Roman Urdu; English is the fallback."""

    en: str
    ur: str | None = None
    ur_latn: str | None = None

    def get(self, lang: Lang) -> str:
        if lang == "ur" and self.ur:
            return self.ur
        if lang == "ur-Latn" and self.ur_latn:
            return self.ur_latn
        return self.en

    def has(self, lang: Lang) -> bool:
        """True when the text exists in ``lang`` itself (not by falling back to English)."""
        return bool(self.en if lang == "en" else self.ur if lang == "ur" else self.ur_latn)

    def present(self) -> tuple[Lang, ...]:
        """The languages the text exists in, in :data:`LANGS` order."""
        return tuple(lang for lang in LANGS if self.has(lang))


@dataclass(frozen=True, slots=True)
class Answer:
    """Something a resident can ask about.

    ``sms`` is the short form (one GSM-7 segment where it can be), ``full`` the longer
    Telegram text. ``keywords`` holds every exact keyword and alias in every language, already
    normalised with :func:`bot.core.normalize.normalize`.
    """

    id: str
    kind: AnswerKind
    title: LocalText
    sms: LocalText
    full: LocalText
    keywords: tuple[str, ...] = ()
    number: int | None = None  # FAQ number (1-based) for kind == "faq"
    button: LocalText | None = None  # a short label for Telegram buttons; else the title

    def button_label(self, lang: Lang) -> str:
        """The label of this answer's Telegram button: ``button`` when set, else the title."""
        return (self.button or self.title).get(lang)


@dataclass(frozen=True, slots=True)
class Command:
    """A Telegram bot command for ``set_my_commands``: ``name`` without the slash."""

    name: str
    description: LocalText


@dataclass(frozen=True, slots=True)
class Choice:
    """Something a subscriber picks with a button (an interest, a city): an id and its label."""

    id: str
    label: LocalText


@dataclass(frozen=True, slots=True)
class Catalog:
    """All content, validated. ``version`` is a short hash of the source files.

    ``commands``, ``interests``, ``cities`` and ``labels`` are Telegram's: the command menu,
    the announcement topics a subscriber can follow (their ids are the topic tags), the
    cities to pick from, and the button and heading texts (see :meth:`label`).
    """

    version: str
    answers: tuple[Answer, ...]
    system: Mapping[str, LocalText]
    by_id: Mapping[str, Answer] = field(default_factory=dict)
    commands: tuple[Command, ...] = ()
    interests: tuple[Choice, ...] = ()
    cities: tuple[Choice, ...] = ()
    labels: Mapping[str, LocalText] = field(default_factory=dict)
    # Words with which a resident asks for a person (normalised): "staff", "insaan se baat".
    # No added answer may take one.
    staff_keywords: tuple[str, ...] = ()
    # Topics the content does not cover (normalised): "fees", "address". A person answers
    # them, until coordinators add an answer with the word: that answer then wins.
    until_answered: tuple[str, ...] = ()

    def answer(self, answer_id: str) -> Answer:
        return self.by_id[answer_id]

    def faq(self, number: int) -> Answer | None:
        for a in self.answers:
            if a.kind == "faq" and a.number == number:
                return a
        return None

    def of_kind(self, kind: AnswerKind) -> tuple[Answer, ...]:
        return tuple(a for a in self.answers if a.kind == kind)

    def text(self, key: str, lang: Lang) -> str:
        return self.system[key].get(lang)

    def label(self, key: str, lang: Lang) -> str:
        """The Telegram UI text ``key`` (one of :data:`LABEL_KEYS`) in ``lang``.

        Falls back to :data:`DEFAULT_LABELS` for a catalog built without labels (the loaded
        content always has them all); raises ``KeyError`` for a key that is neither.
        """
        text = self.labels.get(key) or DEFAULT_LABELS[key]
        return text.get(lang)


def build_catalog(
    version: str,
    answers: tuple[Answer, ...],
    system: Mapping[str, LocalText],
    *,
    commands: tuple[Command, ...] = (),
    interests: tuple[Choice, ...] = (),
    cities: tuple[Choice, ...] = (),
    labels: Mapping[str, LocalText] | None = None,
    staff_keywords: tuple[str, ...] = (),
    until_answered: tuple[str, ...] = (),
) -> Catalog:
    """Assemble a Catalog with its id index."""
    return Catalog(
        version=version,
        answers=answers,
        system=dict(system),
        by_id={a.id: a for a in answers},
        commands=commands,
        interests=interests,
        cities=cities,
        labels=dict(labels or {}),
        staff_keywords=staff_keywords,
        until_answered=until_answered,
    )


# Keys every content set must define in ``system``.
SYSTEM_KEYS: tuple[str, ...] = (
    "welcome",  # first contact / Telegram /start
    "menu",  # the short topic menu (also the fallback reply)
    "help",  # HELP / INFO; may contain {contact} which is filled from settings
    "help_no_contact",  # HELP when no contact line is configured
    "opted_out",  # confirmation after STOP
    "opted_in",  # confirmation after START
    "not_understood",  # when nothing matched: offers a person (STAFF) and the MENU
    "handed_over",  # a person will answer (the park's office is open)
    "handed_over_closed",  # a person will answer in office hours (the office is closed now)
    "language_switched",  # after LANG / URDU / ENGLISH
    "courtesy",  # thanks, ok, a thumbs-up: on Telegram only (SMS gets no reply)
    "cost_guard",  # the one notice when the cost guard holds a number; has {minutes}
    "loop_guard",  # the one notice when the loop guard holds a number; has {minutes}
    "opted_out_telegram",  # confirmation after /stop on Telegram (names /start)
    "button_expired",  # a press of a button the bot no longer knows; the menu follows
)

# Keys every content set must define in ``labels`` (the Telegram buttons and headings).
LABEL_KEYS: tuple[str, ...] = (
    "menu",  # button back to the topic menu
    "back",  # button back from an answer to the list it is in
    "next",  # next page of a list
    "previous",  # previous page of a list
    "done",  # finishes /subscribe
    "none",  # stands for "no topics" / "no city" in subscribed_summary
    "faq_heading",  # above the FAQ list
    "programs_heading",  # above the programs list
    "jobs_heading",  # above the jobs list
    "topics_heading",  # above the topics list
    "subscribe_heading",  # above the /subscribe buttons
    "subscribed_summary",  # after /subscribe; must contain {topics} and {city}
    "language_prompt",  # above the language buttons
    "english",  # the English button
    "urdu",  # the Urdu button
    "roman_urdu",  # the Roman Urdu button
    "share_phone",  # the request_contact button
    "phone_linked",  # after a shared phone number was linked
    "phone_not_own",  # after someone shared a contact that is not their own
)
# Labels whose text goes on a button: one line, at most BUTTON_LABEL_MAX characters.
BUTTON_LABEL_KEYS: frozenset[str] = frozenset(
    {"menu", "back", "next", "previous", "done", "english", "urdu", "roman_urdu", "share_phone"}
)
BUTTON_LABEL_MAX = 32

# What :meth:`Catalog.label` says for a catalog built without labels (tests, tools); the
# content's ``labels`` replace these.
DEFAULT_LABELS: Mapping[str, LocalText] = {
    "menu": LocalText("« Menu", "« مینو"),
    "back": LocalText("« Back", "« واپس"),
    "next": LocalText("Next »", "اگلا »"),
    "previous": LocalText("« Prev", "« پچھلا"),
    "done": LocalText("Done", "مکمل"),
    "none": LocalText("none", "کوئی نہیں"),
    "faq_heading": LocalText("Frequently asked questions", "اکثر پوچھے جانے والے سوالات"),
    "programs_heading": LocalText("Programs", "پروگرام"),
    "jobs_heading": LocalText("Jobs", "نوکریاں"),
    "topics_heading": LocalText("Topics", "موضوعات"),
    "subscribe_heading": LocalText(
        "Tap the topics you want news about, then pick your city.",
        "جن موضوعات کی خبریں چاہییں ان پر ٹیپ کریں، پھر اپنا شہر چنیں۔",
    ),
    "subscribed_summary": LocalText(
        "You follow: {topics}. City: {city}.", "آپ کے موضوعات: {topics}۔ شہر: {city}۔"
    ),
    "language_prompt": LocalText("Choose your language.", "اپنی زبان چنیں۔"),
    "english": LocalText("English", "English"),
    "urdu": LocalText("اردو", "اردو"),
    "roman_urdu": LocalText("Roman Urdu", "Roman Urdu"),
    "share_phone": LocalText("Share my phone number", "میرا فون نمبر بھیجیں"),
    "phone_linked": LocalText(
        "Your phone number is now linked to this chat.",
        "آپ کا فون نمبر اب اس چیٹ سے منسلک ہو گیا ہے۔",
    ),
    "phone_not_own": LocalText(
        "Only your own phone number can be linked.",
        "صرف آپ کا اپنا فون نمبر ہی منسلک کیا جا سکتا ہے۔",
    ),
}
