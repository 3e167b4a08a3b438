"""The shipped content, and how ``load_catalog`` reports broken content (file, line, what)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.content.load import ContentError, load_catalog, summarize
from bot.core.catalog import BUTTON_LABEL_KEYS, LABEL_KEYS, LANGS, SYSTEM_KEYS, Catalog
from bot.core.menus import SubscribeAction, callback_data
from bot.core.normalize import normalize
from bot.core.segments import count_segments

CONTENT = Path(__file__).resolve().parents[2] / "content"

# What the bot fills in: the contact line in HELP, the minutes in the guard notices.
_PLACEHOLDER = re.compile(r"\{(contact|minutes)\}")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(CONTENT)


def _texts(catalog: Catalog) -> Iterator[tuple[str, str]]:
    """(where, text) for every text of every answer and system key, in every language."""
    for answer in catalog.answers:
        for name in ("title", "sms", "full"):
            text = getattr(answer, name)
            for lang in LANGS:
                yield f"{answer.id}.{name}.{lang}", text.get(lang)
    for key, text in catalog.system.items():
        for lang in LANGS:
            yield f"system.{key}.{lang}", text.get(lang)


def _raw_content() -> str:
    """Every content file as written, comments included."""
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(CONTENT.glob("*.yaml")))


def _all_keywords(catalog: Catalog) -> dict[str, str]:
    return {keyword: a.id for a in catalog.answers for keyword in a.keywords}


# --- The shipped content ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "count"),
    [("topic", 9), ("faq", 7), ("program", 11), ("job", 5)],
    ids=["topics", "faqs", "programs", "jobs"],
)
def test_shipped_content_has_every_answer_of_each_kind(
    catalog: Catalog, kind: str, count: int
) -> None:
    assert len([a for a in catalog.answers if a.kind == kind]) == count


def test_shipped_answers_have_the_agreed_ids(catalog: Catalog) -> None:
    assert {a.id for a in catalog.answers} == {
        *("journey", "workforce", "infrastructure", "it_park", "startups", "government"),
        *("jobs", "model", "culture"),
        *(f"faq_{n}" for n in range(1, 8)),
        *("digiskills", "navttc_tevta", "bootcamps", "e_rozgaar", "ignite", "stza"),
        *("mentorship", "seed_funding", "hackathons", "women", "facilities"),
        *("job_it_support", "job_seo_content", "job_app_testing", "job_data_entry"),
        "job_freelancing",
    }


def test_faqs_are_numbered_one_to_seven(catalog: Catalog) -> None:
    for number in range(1, 8):
        faq = catalog.faq(number)
        assert faq is not None
        assert faq.id == f"faq_{number}"
    assert catalog.faq(8) is None


def test_every_text_has_english_and_urdu(catalog: Catalog) -> None:
    assert set(catalog.system) == set(SYSTEM_KEYS)
    for where, text in _texts(catalog):
        assert text, where
        assert text.strip() == text, where
    for answer in catalog.answers:
        for text in (answer.title, answer.sms, answer.full):
            assert re.search("[\u0600-\u06ff]", text.ur or ""), f"{answer.id}: no Urdu script"


def test_every_english_sms_fits_one_gsm7_segment(catalog: Catalog) -> None:
    sms = [(a.id, a.sms.en) for a in catalog.answers]
    sms += [(key, text.en) for key, text in catalog.system.items()]
    for where, text in sms:
        # Plain printable ASCII is GSM-7 with one septet per character (no [ ] { } ^ ~ | \).
        assert text.isascii(), where
        assert not re.search(r"[\[\]{}^~|\\]", _PLACEHOLDER.sub("", text)), where
        assert len(text) <= 160, f"{where}: {len(text)} characters"


def test_every_sms_and_system_text_has_roman_urdu_in_one_gsm7_segment(catalog: Catalog) -> None:
    texts = [(a.id, a.sms) for a in catalog.answers] + list(catalog.system.items())
    for where, text in texts:
        roman = text.ur_latn or ""
        assert roman and roman.strip() == roman, where
        info = count_segments(roman)
        assert (info.encoding, info.segments) == ("GSM-7", 1), where
        assert roman != text.en, f"{where}: Roman Urdu is the English copied"
        # The words people text back (STOP, MENU, JOBS, ...) stay as they are; ROMAN is the
        # language the text is in already.
        capitals = set(re.findall(r"\b[A-Z]{3,}\b", text.en)) - {"ROMAN"}
        assert capitals <= set(re.findall(r"\b[A-Z]{3,}\b", roman)), where


def test_every_urdu_sms_fits_two_ucs2_segments(catalog: Catalog) -> None:
    for answer in catalog.answers:
        assert len(answer.sms.ur or "") <= 134, answer.id


@pytest.mark.parametrize(
    "phrase",
    ["hypothetical", "Digital Ranker", "Dubai", "Admin Post", "Read More", "anchor", "Google"],
)
def test_no_web_page_debris_or_hypothetical_quote(phrase: str) -> None:
    assert phrase.casefold() not in _raw_content().casefold()


def test_the_hypothetical_ignite_quote_is_not_used() -> None:
    assert "luxury" not in _raw_content().casefold()


def test_no_phone_numbers() -> None:
    for candidate in re.findall(r"\+?\d[\d\s-]*\d", _raw_content()):
        assert sum(ch.isdigit() for ch in candidate) < 7, candidate


@pytest.mark.parametrize("link", ["http", "www.", ".pk/", ".com"])
def test_no_links(link: str) -> None:
    assert link not in _raw_content().casefold()


def test_keywords_are_normalised_distinct_and_not_compliance_words(catalog: Catalog) -> None:
    seen: dict[str, str] = {}
    for answer in catalog.answers:
        for keyword in answer.keywords:
            assert keyword == normalize(keyword)
            assert seen.setdefault(keyword, answer.id) == answer.id, keyword
            assert keyword not in {"stop", "start", "help", "urdu", "english", "menu", "faq"}
        if answer.kind != "faq":  # English, Roman Urdu and Urdu script, common spellings
            assert 4 <= len(answer.keywords) <= 28, answer.id


@pytest.mark.parametrize(
    ("typed", "answer_id"),
    [
        ("jobs", "jobs"),
        ("Naukri", "jobs"),
        ("نوکری", "jobs"),
        ("training", "workforce"),
        ("dakhla", "workforce"),
        ("تربیت", "workforce"),
        ("internet", "infrastructure"),
        ("fiber", "infrastructure"),
        ("khawateen", "women"),
        ("خواتین", "women"),
        ("fiverr", "job_freelancing"),
        ("فری لانسنگ", "job_freelancing"),
        ("IT Park", "it_park"),
        ("پارک", "it_park"),
        ("startup", "startups"),
        ("funding", "seed_funding"),
        ("e-Rozgaar", "e_rozgaar"),
        ("DigiSkills", "digiskills"),
    ],
    ids=lambda value: str(value),
)
def test_what_people_text_reaches_the_right_answer(
    catalog: Catalog, typed: str, answer_id: str
) -> None:
    assert _all_keywords(catalog)[normalize(typed)] == answer_id


_BUILT_IN = {"FAQ", "URDU", "ENGLISH", "ROMAN", "STOP", "START", "MENU", "HELP"}


def test_words_the_texts_tell_people_to_text_are_keywords(catalog: Catalog) -> None:
    keywords = _all_keywords(catalog)
    english = [a.sms.en for a in catalog.answers] + [t.en for t in catalog.system.values()]
    offered = {
        word
        for text in english
        for clause in re.findall(r"\btext:? ([^.]*)", text, flags=re.IGNORECASE)
        for word in re.findall(r"\b[A-Z][A-Z-]+\b", clause)
    }
    assert {"PARK", "TRAINING", "JOBS", "FREELANCE", "WOMEN", "STARTUP", "STAFF"} <= offered
    for word in offered - _BUILT_IN:
        assert normalize(word) in keywords or normalize(word) in catalog.staff_keywords, word


@pytest.mark.parametrize("word", ["پارک", "تربیت", "نوکری", "فری لانسنگ", "خواتین", "اسٹارٹ اپ"])
def test_urdu_menu_offers_real_keywords(catalog: Catalog, word: str) -> None:
    assert word in catalog.text("menu", "ur")
    assert normalize(word) in _all_keywords(catalog)


def test_system_texts_do_what_they_say(catalog: Catalog) -> None:
    for lang in LANGS:
        assert catalog.text("help", lang).count("{contact}") == 1
        assert "{" not in catalog.text("help_no_contact", lang)
        assert "START" in catalog.text("opted_out", lang)
        assert "/start" in catalog.text("opted_out_telegram", lang)
        for guard in ("cost_guard", "loop_guard"):
            assert catalog.text(guard, lang).count("{minutes}") == 1
        # Not understood offers a person, the menu and the way out, in the SMS budget.
        fallback = catalog.text("not_understood", lang)
        assert all(word in fallback for word in ("STAFF", "MENU", "STOP")), lang
        assert count_segments(fallback).segments <= 2, lang
        for key in ("handed_over", "handed_over_closed"):
            assert count_segments(catalog.text(key, lang)).segments <= 2, (key, lang)


def test_summary_counts_kinds_and_languages(catalog: Catalog) -> None:
    assert summarize(catalog) == {
        "version": catalog.version,
        "answers": 32,
        "kinds": {"topic": 9, "faq": 7, "program": 11, "job": 5},
        "languages": {"en": 32, "ur": 32, "ur-Latn": 32},
        "system": len(SYSTEM_KEYS),
        "commands": 9,
        "interests": 6,
        "cities": 4,
        "labels": len(LABEL_KEYS),
    }


# --- The shipped Telegram texts ------------------------------------------------------------------


def test_shipped_commands_are_the_agreed_menu_and_valid_for_telegram(catalog: Catalog) -> None:
    assert [c.name for c in catalog.commands] == [
        *("start", "menu", "faq", "programs", "jobs", "subscribe", "language", "stop", "help"),
    ]
    for command in catalog.commands:
        assert re.fullmatch("[a-z0-9_]{1,32}", command.name)
        for lang in LANGS:
            assert 1 <= len(command.description.get(lang)) <= 256, command.name
        assert re.search("[\u0600-\u06ff]", command.description.ur or ""), command.name


def test_shipped_interests_and_cities_have_the_agreed_ids(catalog: Catalog) -> None:
    assert [c.id for c in catalog.interests] == [
        *("training", "jobs", "freelancing", "startups", "women", "events"),
    ]
    assert [c.id for c in catalog.cities] == ["dhanote", "multan", "bahawalpur", "other"]
    for choice in catalog.interests:
        assert len(callback_data(SubscribeAction(interest=choice.id)).encode()) <= 64
    for choice in catalog.cities:
        assert len(callback_data(SubscribeAction(city=choice.id)).encode()) <= 64
    for choice in (*catalog.interests, *catalog.cities):
        assert re.search("[\u0600-\u06ff]", choice.label.ur or ""), choice.id
        assert all(len(choice.label.get(lang)) <= 32 for lang in LANGS), choice.id


def test_shipped_labels_are_all_there_in_both_languages(catalog: Catalog) -> None:
    assert set(catalog.labels) == set(LABEL_KEYS)
    for key, text in catalog.labels.items():
        for lang in LANGS:
            value = text.get(lang)
            assert value, key
            assert value.strip() == value, key
            if key in BUTTON_LABEL_KEYS:
                assert len(value) <= 32 and "\n" not in value, key
        # Language names are written in their own language; everything else is translated.
        if key not in ("english", "roman_urdu"):
            assert re.search("[\u0600-\u06ff]", text.ur or ""), key
    for lang in LANGS:
        summary = catalog.label("subscribed_summary", lang)
        assert summary.count("{topics}") == summary.count("{city}") == 1


def test_every_topic_has_a_short_button_label(catalog: Catalog) -> None:
    for topic in catalog.of_kind("topic"):
        assert topic.button is not None, topic.id
        for lang in LANGS:
            assert 1 <= len(topic.button.get(lang)) <= 32, topic.id
    assert catalog.answer("jobs").button_label("en") == "Jobs"
    assert catalog.answer("faq_1").button_label("en") == catalog.answer("faq_1").title.en


def test_version_is_a_short_hash_that_follows_the_files(tmp_path: Path) -> None:
    shutil.copytree(CONTENT, tmp_path, dirs_exist_ok=True)
    before = load_catalog(tmp_path).version
    assert re.fullmatch("[0-9a-f]{12}", before)
    assert load_catalog(tmp_path).version == before
    faqs = tmp_path / "faqs.yaml"
    faqs.write_text(faqs.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")
    assert load_catalog(tmp_path).version != before


# --- Broken content: every problem names the file, the line and what is wrong ---------------------

ANSWERS = """\
answers:
  - id: park
    kind: topic
    title: {en: The park, ur: پارک}
    sms: {en: The park is in Dhanote., ur: پارک ڈھنوٹ میں ہے۔, ur-Latn: Park Dhanote mein hai.}
    full: {en: Dhanote has the park., ur: ڈھنوٹ میں پارک ہے۔}
    keywords: [park, پارک]
  - id: faq_1
    kind: faq
    number: 1
    title: {en: About the park, ur: پارک کے بارے میں}
    sms: {en: A park., ur: ایک پارک۔, ur-Latn: Ek park.}
    full: {en: A park., ur: ایک پارک۔}
"""

# A backslash at the end of a line joins it with the next: one line of YAML.
SYSTEM = """\
system:
  welcome: {en: Welcome., ur: خوش آمدید۔, ur-Latn: Khush aamdeed.}
  menu: {en: Text PARK., ur: پارک لکھیں۔, ur-Latn: PARK likhein.}
  help: {en: "Text PARK. Contact {contact}", ur: "پارک لکھیں۔ رابطہ {contact}", \
ur-Latn: "PARK likhein. Rabta {contact}"}
  help_no_contact: {en: Text PARK., ur: پارک لکھیں۔, ur-Latn: PARK likhein.}
  opted_out: {en: Bye. Text START to come back., ur: خدا حافظ۔ START لکھیں۔, \
ur-Latn: Khuda hafiz. START likhein.}
  opted_in: {en: Welcome back., ur: خوش آمدید۔, ur-Latn: Dobara khush aamdeed.}
  not_understood: {en: Sorry., ur: معذرت۔, ur-Latn: Maazrat.}
  language_switched: {en: English it is., ur: اردو۔, ur-Latn: Roman Urdu.}
  handed_over: {en: A person will answer., ur: ایک فرد جواب دے گا۔, ur-Latn: Ek fard jawab de ga.}
  handed_over_closed: {en: A person answers in office hours., ur: دفتری اوقات میں جواب۔, \
ur-Latn: Daftari auqaat mein jawab.}
  courtesy: {en: Glad to help., ur: خوشی ہوئی۔, ur-Latn: Khushi hui.}
  cost_guard: {en: "Back in {minutes} min.", ur: "{minutes} منٹ بعد۔", \
ur-Latn: "{minutes} min baad."}
  loop_guard: {en: "Same text: {minutes} min.", ur: "وہی پیغام: {minutes} منٹ۔", \
ur-Latn: "Wohi paigham: {minutes} min."}
  opted_out_telegram: {en: Bye. Send /start to come back., ur: خدا حافظ۔ /start بھیجیں۔, \
ur-Latn: Khuda hafiz. /start bhejein.}
  button_expired: {en: This button has expired., ur: یہ بٹن پرانا ہے۔, \
ur-Latn: Yeh button purana hai.}
"""

# Line numbers matter: the table below names them.
TELEGRAM = """\
commands:
  start: {en: Welcome and the menu, ur: خوش آمدید اور مینو}
  help: {en: How to use this bot, ur: بوٹ کیسے استعمال کریں}
interests:
  - {id: training, en: Training, ur: تربیت}
  - {id: jobs, en: Jobs, ur: نوکریاں}
cities:
  dhanote: {en: Dhanote, ur: ڈھنوٹ}
  other: {en: Other, ur: کوئی اور}
labels:
  menu: {en: « Menu, ur: « مینو}
  back: {en: « Back, ur: « واپس}
  next: {en: Next », ur: اگلا »}
  previous: {en: « Prev, ur: « پچھلا}
  done: {en: Done, ur: مکمل}
  none: {en: none, ur: کوئی نہیں}
  faq_heading: {en: Questions, ur: سوالات}
  programs_heading: {en: Programs, ur: پروگرام}
  jobs_heading: {en: Kinds of work, ur: کام کی اقسام}
  topics_heading: {en: Topics, ur: موضوعات}
  subscribe_heading: {en: Tap topics then a city., ur: موضوعات پھر شہر چنیں۔}
  subscribed_summary: {en: "Topics: {topics}. City: {city}.", ur: "موضوعات: {topics}۔ شہر: {city}۔"}
  language_prompt: {en: Choose a language., ur: زبان چنیں۔}
  english: {en: English, ur: English}
  urdu: {en: اردو, ur: اردو}
  share_phone: {en: Share my phone number, ur: میرا فون نمبر شیئر کریں}
  phone_linked: {en: Your number is linked., ur: آپ کا نمبر منسلک ہو گیا۔}
  phone_not_own: {en: Only your own number can be linked., ur: صرف اپنا نمبر منسلک کریں۔}
  roman_urdu: {en: Roman Urdu, ur: Roman Urdu}
"""

OTHER = """\
answers:
  - id: other
    kind: program
    title: {en: Other, ur: دوسرا}
    sms: {en: Something else., ur: کچھ اور۔, ur-Latn: Kuch aur.}
    full: {en: Something else., ur: کچھ اور۔}
    keywords: [other]
"""


def _edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def _write(folder: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def _minimal() -> dict[str, str | bytes]:
    return {
        "answers.yaml": ANSWERS,
        "system.yaml": SYSTEM,
        "other.yaml": OTHER,
        "telegram.yaml": TELEGRAM,
    }


def test_the_minimal_content_used_below_is_valid(tmp_path: Path) -> None:
    _write(tmp_path, _minimal())
    catalog = load_catalog(tmp_path)
    assert len(catalog.answers) == 3
    assert [c.name for c in catalog.commands] == ["start", "help"]
    assert [c.id for c in catalog.interests] == ["training", "jobs"]
    assert [c.id for c in catalog.cities] == ["dhanote", "other"]
    assert catalog.label("done", "ur") == "مکمل"


def test_an_answer_may_have_a_button_label(tmp_path: Path) -> None:
    answers = _edit(
        ANSWERS, "    kind: topic\n", "    kind: topic\n    button: {en: Park, ur: پارک}\n"
    )
    _write(tmp_path, {**_minimal(), "answers.yaml": answers})
    catalog = load_catalog(tmp_path)
    assert catalog.answer("park").button_label("ur") == "پارک"
    assert catalog.answer("faq_1").button is None


@pytest.mark.parametrize(
    ("files", "file", "line", "fragments"),
    [
        pytest.param(
            {"answers.yaml": _edit(ANSWERS, "kind: topic", "kind: topic: x")},
            "answers.yaml",
            3,
            ["invalid YAML", "mapping values are not allowed"],
            id="malformed-yaml",
        ),
        pytest.param(
            {
                "answers.yaml": _edit(
                    ANSWERS, "    kind: topic\n", "    kind: topic\n    colour: red\n"
                )
            },
            "answers.yaml",
            4,
            ["park.colour: unknown key"],
            id="unknown-key",
        ),
        pytest.param(
            {"other.yaml": _edit(OTHER, "id: other", "id: park")},
            "other.yaml",
            2,
            ["park.id: duplicate id 'park'", "answers.yaml:2"],
            id="duplicate-id-across-files",
        ),
        pytest.param(
            {"other.yaml": _edit(OTHER, "[other]", "[other, PARK]")},
            "other.yaml",
            7,
            ["keyword 'park' is used by both 'park'", "answers.yaml:7", "and 'other'"],
            id="duplicate-keyword-across-answers",
        ),
        pytest.param(
            {"answers.yaml": _edit(ANSWERS, "{en: The park, ur: پارک}", "{en: The park}")},
            "answers.yaml",
            4,
            ["park.title.ur: missing"],
            id="missing-urdu",
        ),
        pytest.param(
            {
                "answers.yaml": _edit(
                    ANSWERS,
                    "{en: A park., ur: ایک پارک۔, ur-Latn: Ek park.}\n    full",
                    "{en: A park., ur-Latn: Ek park.}\n    full",
                )
            },
            "answers.yaml",
            12,
            ["faq_1.sms.ur: missing"],
            id="missing-urdu-sms",
        ),
        pytest.param(
            {
                "system.yaml": _edit(
                    SYSTEM,
                    "  language_switched: {en: English it is., ur: اردو۔, ur-Latn: Roman Urdu.}\n",
                    "",
                )
            },
            "system.yaml",
            1,
            ["system: missing system text(s): language_switched"],
            id="missing-system-key",
        ),
        pytest.param(
            {"system.yaml": _edit(SYSTEM, "Welcome back.", "Welcome back. " + "x" * 150)},
            "system.yaml",
            7,
            ["system.opted_in.en: longer than 160 GSM-7 characters (164)"],
            id="too-long-system-sms",
        ),
        pytest.param(
            {"answers.yaml": _edit(ANSWERS, "The park is in Dhanote., ur", "x" * 161 + ", ur")},
            "answers.yaml",
            5,
            ["park.sms.en: longer than 160 GSM-7 characters (161)"],
            id="too-long-sms",
        ),
        pytest.param(
            {"answers.yaml": _edit(ANSWERS, "The park is in Dhanote., ur", "It’s the park, ur")},
            "answers.yaml",
            5,
            ["park.sms.en: not GSM-7", "U+2019"],
            id="curly-quote-in-sms",
        ),
        pytest.param(
            {"answers.yaml": _edit(ANSWERS, "Park Dhanote mein hai.}", "x" * 161 + "}")},
            "answers.yaml",
            5,
            ["park.sms.ur-Latn: longer than 160 GSM-7 characters (161)"],
            id="too-long-roman-urdu-sms",
        ),
        pytest.param(
            {"answers.yaml": _edit(ANSWERS, "Park Dhanote mein hai.}", "Park’s in Dhanote.}")},
            "answers.yaml",
            5,
            ["park.sms.ur-Latn: not GSM-7", "U+2019"],
            id="curly-quote-in-roman-urdu-sms",
        ),
        pytest.param(
            {"answers.yaml": _edit(ANSWERS, ", ur-Latn: Ek park.}", "}")},
            "answers.yaml",
            12,
            ["faq_1.sms.ur-Latn: missing (the Roman Urdu SMS text"],
            id="missing-roman-urdu-sms",
        ),
        pytest.param(
            {"system.yaml": _edit(SYSTEM, "Dobara khush aamdeed.", "Dobara " + "x" * 160)},
            "system.yaml",
            7,
            ["system.opted_in.ur-Latn: longer than 160 GSM-7 characters (167)"],
            id="too-long-roman-urdu-system-text",
        ),
        pytest.param(
            {"system.yaml": _edit(SYSTEM, ", ur-Latn: Maazrat.}", "}")},
            "system.yaml",
            8,
            ["system.not_understood.ur-Latn: missing"],
            id="missing-roman-urdu-system-text",
        ),
        pytest.param(
            {"answers.yaml": _edit(ANSWERS, "[park, پارک]", "[park, Stop]")},
            "answers.yaml",
            7,
            ["park.keywords: 'Stop' is a reserved"],
            id="compliance-word-as-keyword",
        ),
        pytest.param(
            {"answers.yaml": _edit(ANSWERS, "[park, پارک]", "[park, بند]")},
            "answers.yaml",
            7,
            ["park.keywords: 'بند' is a reserved"],
            id="urdu-compliance-word-as-keyword",
        ),
        pytest.param(
            {"answers.yaml": _edit(ANSWERS, "[park, پارک]", "[park, yes]")},
            "answers.yaml",
            7,
            ["park.keywords: a keyword must be text", "quotes"],
            id="unquoted-yes-keyword",
        ),
        pytest.param(
            {"answers.yaml": _edit(ANSWERS, "id: park", "id: Park-1")},
            "answers.yaml",
            2,
            ["answers[0].id: id 'Park-1' does not match"],
            id="bad-id",
        ),
        pytest.param(
            {"answers.yaml": _edit(ANSWERS, "number: 1", "number: 2")},
            "answers.yaml",
            10,
            ["faq_1.number: FAQ numbers must run 1..1 without gaps (missing: 1)"],
            id="faq-number-gap",
        ),
        pytest.param(
            {
                "answers.yaml": _edit(
                    ANSWERS, "    kind: topic\n", "    kind: topic\n    number: 4\n"
                )
            },
            "answers.yaml",
            4,
            ["park.number: only FAQ entries"],
            id="number-on-a-topic",
        ),
        pytest.param(
            {"answers.yaml": _edit(ANSWERS, "kind: topic", "kind: news")},
            "answers.yaml",
            3,
            ["park.kind: expected one of topic, faq, program, job, got 'news'"],
            id="bad-kind",
        ),
        pytest.param(
            {"answers.yaml": _edit(ANSWERS, "    kind: faq\n", "    kind: faq\n    kind: faq\n")},
            "answers.yaml",
            10,
            ["kind: key repeated (first on line 9)"],
            id="repeated-key",
        ),
        pytest.param(
            {"system.yaml": _edit(SYSTEM, "Contact {contact}", "Contact us")},
            "system.yaml",
            4,
            ["system.help.en: must contain {contact} exactly once"],
            id="help-without-contact",
        ),
        pytest.param(
            {"answers.yaml": _edit(ANSWERS, "kind: topic", "kind: !news topic")},
            "answers.yaml",
            3,
            ["invalid YAML: could not determine a constructor for the tag '!news'"],
            id="unknown-yaml-tag",
        ),
        pytest.param(
            {"answers.yaml": _edit(ANSWERS, "number: 1", "number: !!int one")},
            "answers.yaml",
            10,
            ["invalid YAML: 'one' is not a valid tag:yaml.org,2002:int"],
            id="bad-explicit-tag",
        ),
        pytest.param(
            {"answers.yaml": _edit(ANSWERS, "kind: topic\n", "kind: topic\n    button: {en: x}\n")},
            "answers.yaml",
            4,
            ["park.button.ur: missing"],
            id="button-without-urdu",
        ),
        pytest.param(
            {
                "answers.yaml": _edit(
                    ANSWERS,
                    "kind: topic\n",
                    f"kind: topic\n    button: {{en: {'x' * 33}, ur: y}}\n",
                )
            },
            "answers.yaml",
            4,
            ["park.button.en: longer than 32 characters (33)"],
            id="button-too-long",
        ),
        pytest.param(
            {
                "telegram.yaml": _edit(
                    TELEGRAM, "Jobs, ur: نوکریاں}", "Jobs, ur: نوکریاں, colour: red}"
                )
            },
            "telegram.yaml",
            6,
            ["interests.jobs.colour: unknown key"],
            id="telegram-unknown-key",
        ),
        pytest.param(
            {"telegram.yaml": _edit(TELEGRAM, "this bot, ur: بوٹ کیسے استعمال کریں}", "this bot}")},
            "telegram.yaml",
            3,
            ["commands.help.ur: missing"],
            id="command-without-urdu",
        ),
        pytest.param(
            {"telegram.yaml": _edit(TELEGRAM, "  help:", "  Help:")},
            "telegram.yaml",
            3,
            ["commands.Help: command name 'Help' must be 1-32 lowercase letters"],
            id="bad-command-name",
        ),
        pytest.param(
            {"telegram.yaml": _edit(TELEGRAM, "  help:", "  /help:")},
            "telegram.yaml",
            3,
            ["commands./help: command name '/help'", "no slash"],
            id="command-name-with-slash",
        ),
        pytest.param(
            {"telegram.yaml": _edit(TELEGRAM, "  help:", f"  {'h' * 33}:")},
            "telegram.yaml",
            3,
            ["must be 1-32 lowercase letters"],
            id="command-name-too-long",
        ),
        pytest.param(
            {"telegram.yaml": _edit(TELEGRAM, "Welcome and the menu", "w" * 257)},
            "telegram.yaml",
            2,
            ["commands.start.en: longer than 256 characters (257)"],
            id="command-description-too-long",
        ),
        pytest.param(
            {"telegram.yaml": _edit(TELEGRAM, "id: jobs", "id: training")},
            "telegram.yaml",
            6,
            ["interests[1].id: duplicate id 'training' (also on line 5)"],
            id="duplicate-interest-id",
        ),
        pytest.param(
            {"telegram.yaml": _edit(TELEGRAM, "{id: jobs, ", "{")},
            "telegram.yaml",
            6,
            ["interests[1].id: missing"],
            id="interest-without-id",
        ),
        pytest.param(
            {"telegram.yaml": _edit(TELEGRAM, "id: jobs", "id: Jobs")},
            "telegram.yaml",
            6,
            ["interests[1].id: id 'Jobs' must be lowercase"],
            id="bad-interest-id",
        ),
        pytest.param(
            {"telegram.yaml": _edit(TELEGRAM, "id: jobs", f"id: {'j' * 59}")},
            "telegram.yaml",
            6,
            ["is too long for its button data (65 > 64 bytes)"],
            id="interest-id-too-long-for-callback-data",
        ),
        pytest.param(
            {"telegram.yaml": _edit(TELEGRAM, "  other:", f"  {'o' * 59}:")},
            "telegram.yaml",
            9,
            ["is too long for its button data (65 > 64 bytes)"],
            id="city-id-too-long-for-callback-data",
        ),
        pytest.param(
            {"telegram.yaml": _edit(TELEGRAM, "{en: Other, ur: کوئی اور}", "{en: Other}")},
            "telegram.yaml",
            9,
            ["cities.other.ur: missing"],
            id="city-without-urdu",
        ),
        pytest.param(
            {"telegram.yaml": _edit(TELEGRAM, "  urdu: {en: اردو, ur: اردو}\n", "")},
            "telegram.yaml",
            10,
            ["labels: missing label(s): urdu"],
            id="missing-label",
        ),
        pytest.param(
            {"telegram.yaml": _edit(TELEGRAM, "City: {city}.", "City.")},
            "telegram.yaml",
            22,
            ["labels.subscribed_summary.en: must contain {city} once"],
            id="summary-without-city",
        ),
        pytest.param(
            {"telegram.yaml": _edit(TELEGRAM, "{en: Done,", '{en: "Done {now}",')},
            "telegram.yaml",
            15,
            ["labels.done.en: braces"],
            id="placeholder-in-a-label",
        ),
        pytest.param(
            {"telegram.yaml": _edit(TELEGRAM, "« Menu", "« " + "m" * 31)},
            "telegram.yaml",
            11,
            ["labels.menu.en: longer than 32 characters (33)"],
            id="button-label-too-long",
        ),
        pytest.param(
            {"telegram.yaml": TELEGRAM + "  colour: {en: Red, ur: سرخ}\n"},
            "telegram.yaml",
            30,
            ["labels.colour: unknown key"],
            id="unknown-label",
        ),
        pytest.param(
            {"other.yaml": OTHER + "commands:\n  menu: {en: Menu, ur: مینو}\n"},
            "telegram.yaml",
            1,
            ["commands: defined twice (also at", "other.yaml:8"],
            id="commands-in-two-files",
        ),
        pytest.param(
            {
                "telegram.yaml": _edit(
                    TELEGRAM,
                    "  - {id: training, en: Training, ur: تربیت}\n"
                    "  - {id: jobs, en: Jobs, ur: نوکریاں}\n",
                    "    jobs\n\n",
                )
            },
            "telegram.yaml",
            4,
            ["expected a list, got text"],
            id="interests-not-a-list",
        ),
        pytest.param(
            {"empty.yaml": ""},
            "empty.yaml",
            1,
            ["the file is empty"],
            id="empty-file",
        ),
        pytest.param(
            {"latin1.yaml": b"answers:\n  - id: caf\xe9\n"},
            "latin1.yaml",
            2,
            ["not UTF-8"],
            id="not-utf8",
        ),
    ],
)
def test_broken_content_is_reported_with_file_and_line(
    tmp_path: Path,
    files: dict[str, str | bytes],
    file: str,
    line: int,
    fragments: list[str],
) -> None:
    _write(tmp_path, _minimal())
    _write(tmp_path, files)
    with pytest.raises(ContentError) as caught:
        load_catalog(tmp_path)
    assert len(caught.value.problems) == 1, str(caught.value)
    (message,) = str(caught.value).splitlines()
    assert message.startswith(f"{tmp_path / file}:{line}: "), message
    for fragment in fragments:
        assert fragment in message


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    answers = _edit(ANSWERS, "    kind: topic\n", "    kind: topic\n    colour: red\n")
    answers = _edit(answers, "[park, پارک]", "[park, stop]")
    _write(
        tmp_path,
        {
            "answers.yaml": answers,
            "system.yaml": _edit(SYSTEM, "Contact {contact}", ""),
            "telegram.yaml": TELEGRAM,
        },
    )
    with pytest.raises(ContentError) as caught:
        load_catalog(tmp_path)
    assert [(p.file, p.line, p.key) for p in caught.value.problems] == [
        (str(tmp_path / "answers.yaml"), 4, "park.colour"),
        (str(tmp_path / "answers.yaml"), 8, "park.keywords"),
        (str(tmp_path / "system.yaml"), 4, "system.help.en"),
    ]


def test_missing_telegram_blocks_are_named(tmp_path: Path) -> None:
    _write(tmp_path, {"answers.yaml": ANSWERS, "system.yaml": SYSTEM})
    with pytest.raises(ContentError) as caught:
        load_catalog(tmp_path)
    assert [(p.file, p.line, p.key) for p in caught.value.problems] == [
        (str(tmp_path), None, "labels"),
        (str(tmp_path), None, "commands"),
        (str(tmp_path), None, "interests"),
        (str(tmp_path), None, "cities"),
    ]
    assert "missing label(s): menu, back" in str(caught.value)


@pytest.mark.parametrize(
    ("subfolder", "message"),
    [("missing", "not a folder (or missing)"), ("", "no .yaml files in this folder")],
    ids=["missing-folder", "no-yaml-files"],
)
def test_an_unusable_folder_is_reported(tmp_path: Path, subfolder: str, message: str) -> None:
    (tmp_path / "notes.txt").write_text("not content", encoding="utf-8")
    folder = tmp_path / subfolder
    with pytest.raises(ContentError) as caught:
        load_catalog(folder)
    assert str(caught.value) == f"{folder}: {message}"
    assert caught.value.problems[0].line is None


# --- How residents ask for a person ------------------------------------------------------------


def test_shipped_staff_keywords_cover_the_three_ways_of_writing(catalog: Catalog) -> None:
    for word in ("staff", "agent", "talk to someone", "insaan se baat", "رابطہ", "عملہ"):
        assert normalize(word) in catalog.staff_keywords, word
    for word in ("fees", "fis", "فیس", "address", "پتہ", "contact number", "admission", "apply"):
        assert normalize(word) in catalog.until_answered, word
    assert set(catalog.staff_keywords).isdisjoint(_all_keywords(catalog))
    assert set(catalog.until_answered).isdisjoint(_all_keywords(catalog))
    assert set(catalog.until_answered).isdisjoint(catalog.staff_keywords)


def test_staff_keywords_are_checked_like_answer_keywords(tmp_path: Path) -> None:
    _write(tmp_path, _minimal())
    _write(tmp_path, {"staff.yaml": "staff:\n  keywords:\n    - staff\n    - park\n    - STOP\n"})
    with pytest.raises(ContentError) as caught:
        load_catalog(tmp_path)
    problems = sorted((p.file.rsplit("/", 1)[-1], p.line, p.key) for p in caught.value.problems)
    assert problems == [("staff.yaml", 4, "staff.keywords"), ("staff.yaml", 5, "staff.keywords")]
    text = str(caught.value)
    assert "'park' hands over to a person here but is also used by 'park'" in text
    assert "reserved" in text


def test_until_answered_is_checked_like_answer_keywords_and_apart_from_keywords(
    tmp_path: Path,
) -> None:
    _write(tmp_path, _minimal())
    staff = "staff:\n  keywords: [staff]\n  until_answered:\n    - fees\n    - park\n    - Staff\n"
    _write(tmp_path, {"staff.yaml": staff})
    with pytest.raises(ContentError) as caught:
        load_catalog(tmp_path)
    problems = sorted((p.line, p.key) for p in caught.value.problems)
    assert problems == [(5, "staff.until_answered"), (6, "staff.until_answered")]
    text = str(caught.value)
    assert "'park' hands over to a person here but is also used by 'park'" in text
    assert "'staff' is also in staff.keywords (line 2): put it in one" in text
    _write(tmp_path, {"staff.yaml": "staff:\n  keywords: [staff]\n  until_answered: [Fees]\n"})
    loaded = load_catalog(tmp_path)
    assert (loaded.staff_keywords, loaded.until_answered) == (("staff",), ("fees",))


def test_staff_is_defined_once(tmp_path: Path) -> None:
    _write(tmp_path, _minimal())
    _write(
        tmp_path,
        {
            "staff.yaml": "staff:\n  keywords: [staff]\n",
            "more.yaml": "staff:\n  keywords: [agent]\n",
        },
    )
    with pytest.raises(ContentError, match="staff: defined twice"):
        load_catalog(tmp_path)
    (tmp_path / "more.yaml").unlink()
    assert load_catalog(tmp_path).staff_keywords == ("staff",)
