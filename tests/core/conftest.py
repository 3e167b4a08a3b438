"""A small catalog built in code, so the core's tests do not depend on content/*.yaml."""

from __future__ import annotations

import pytest

from bot.core.catalog import SYSTEM_KEYS, Answer, AnswerKind, Catalog, LocalText, build_catalog
from bot.core.keywords import Matcher
from bot.core.normalize import normalize

SYSTEM = {
    "welcome": LocalText(
        "Welcome to Dhanote IT Park.",
        "دھنوٹ آئی ٹی پارک میں خوش آمدید۔",
        "Dhanote IT Park mein khush aamdeed.",
    ),
    "menu": LocalText(
        "Reply JOBS, TRAINING, WOMEN or FAQ 1-3.",
        "نوکری، تربیت یا سوال 1-3 لکھیں۔",
        "JOBS, TRAINING, WOMEN ya FAQ 1-3 likhein.",
    ),
    "help": LocalText(
        "Dhanote IT Park info. Call {contact}. STOP to opt out.",
        "مدد: {contact}",
        "Dhanote IT Park maloomat. {contact} par call karein. Band: STOP.",
    ),
    "help_no_contact": LocalText(
        "Dhanote IT Park info. STOP to opt out.",
        "مدد۔ بند کے لیے بند",
        "Dhanote IT Park maloomat. Band karne ke liye STOP.",
    ),
    "opted_out": LocalText(
        "You will get no more messages. START to resume.",
        "پیغامات بند۔",
        "Ab koi paigham nahi aaye ga. Dobara: START.",
    ),
    "opted_in": LocalText(
        "You are subscribed again.", "پیغامات دوبارہ شروع۔", "Aap dobara rukn hain."
    ),
    "not_understood": LocalText(
        "Sorry, we did not understand.", "معاف کیجیے، سمجھ نہیں آئی۔", "Maazrat, samajh nahi aaya."
    ),
    "language_switched": LocalText("Language: English.", "زبان: اردو۔", "Zuban: Roman Urdu."),
    "handed_over": LocalText(
        "A person will answer you here.", "ایک فرد یہیں جواب دے گا۔", "Ek fard yahin jawab de ga."
    ),
    "handed_over_closed": LocalText(
        "The office is closed; a person will answer in office hours.",
        "دفتر بند ہے؛ ایک فرد دفتری اوقات میں جواب دے گا۔",
        "Daftar band hai; ek fard daftari auqaat mein jawab de ga.",
    ),
    "courtesy": LocalText("Glad to help!", "خوشی ہوئی!", "Khushi hui!"),
    "cost_guard": LocalText("Replies pause for {minutes} min.", "جواب {minutes} منٹ رکے ہیں۔"),
    "loop_guard": LocalText("Same text again: {minutes} min.", "وہی پیغام: {minutes} منٹ۔"),
    "opted_out_telegram": LocalText("No more messages. Send /start.", "پیغامات بند۔ /start"),
    "button_expired": LocalText(
        "This button has expired.", "یہ بٹن پرانا ہے۔", "Yeh button purana hai."
    ),
}
STAFF = ("staff", "insaan se baat", "رابطہ")
UNTIL_ANSWERED = ("fees", "داخلہ کب")
assert set(SYSTEM) == set(SYSTEM_KEYS)


def _answer(
    answer_id: str,
    kind: AnswerKind,
    title: tuple[str, str],
    sms: tuple[str, str] | tuple[str, str, str],
    keywords: tuple[str, ...] = (),
    number: int | None = None,
) -> Answer:
    return Answer(
        id=answer_id,
        kind=kind,
        title=LocalText(*title),
        sms=LocalText(*sms),
        full=LocalText(f"FULL: {sms[0]}", f"مکمل: {sms[1]}"),
        keywords=tuple(normalize(k) for k in keywords),
        number=number,
    )


ANSWERS = (
    _answer(
        "jobs",
        "topic",
        ("Jobs", "نوکریاں"),
        (
            "IT support, SEO, app testing and data entry jobs.",
            "آئی ٹی سپورٹ اور ڈیٹا انٹری کی نوکریاں۔",
            "IT support, SEO, app testing aur data entry ki naukriyan.",
        ),
        ("jobs", "job", "naukri", "naukriyan", "rozgar", "نوکری", "نوکریاں", "employment"),
    ),
    _answer(
        "training",
        "topic",
        ("Training", "تربیت"),
        ("DigiSkills, NAVTTC and TEVTA courses in coding.", "ڈیجی اسکلز اور ٹیوٹا کورسز۔"),
        ("training", "courses", "tarbiyat", "تربیت", "digital skills"),
    ),
    _answer(
        "it_park",
        "topic",
        ("IT Park", "آئی ٹی پارک"),
        ("Fiber internet, solar workspaces, 24/7 coworking.", "فائبر انٹرنیٹ اور کو ورکنگ۔"),
        ("it park", "dhanote it park", "coworking", "پارک"),
    ),
    _answer(
        "freelancing",
        "program",
        ("Freelancing", "فری لانسنگ"),
        ("Freelancing bootcamps for Upwork and Fiverr.", "فری لانسنگ بوٹ کیمپ۔"),
        ("freelancing", "freelance", "fiverr", "upwork", "فری لانسنگ"),
    ),
    _answer(
        "women",
        "program",
        ("Women in tech", "خواتین"),
        (
            "Special programs for women-led ventures.",
            "خواتین کے لیے خصوصی پروگرام۔",
            "Khawateen ke karobar ke liye khusoosi programs.",
        ),
        ("women", "khawateen", "خواتین"),
    ),
    _answer(
        "seed_funding",
        "program",
        ("Seed funding", "سیڈ فنڈنگ"),
        ("Seed funding access for local startups.", "مقامی اسٹارٹ اپس کے لیے فنڈنگ۔"),
        ("seed funding", "funding", "grant"),
    ),
    _answer(
        "faq_1",
        "faq",
        ("What is Dhanote's role?", "دھنوٹ کا کردار کیا ہے؟"),
        ("A growing digital town with training and workspaces.", "ایک ابھرتا ڈیجیٹل قصبہ۔"),
        number=1,
    ),
    _answer(
        "faq_2",
        "faq",
        ("Is freelancing a viable career?", "کیا فری لانسنگ اچھا پیشہ ہے؟"),
        ("Yes. Many residents earn through freelancing.", "جی ہاں، بہت سے لوگ کماتے ہیں۔"),
        number=2,
    ),
    _answer(
        "faq_3",
        "faq",
        ("How can women benefit?", "خواتین کیسے فائدہ اٹھا سکتی ہیں؟"),
        ("Women are trained and supported through IT programs.", "خواتین کو تربیت دی جاتی ہے۔"),
        number=3,
    ),
)


def sample_catalog() -> Catalog:
    """Six answers (topics and programs) with keywords in three forms, three FAQs. Every
    system text and the SMS of ``jobs`` and ``women`` have Roman Urdu; the rest do not."""
    return build_catalog(
        "test",
        ANSWERS,
        SYSTEM,
        staff_keywords=tuple(normalize(k) for k in STAFF),
        until_answered=tuple(normalize(k) for k in UNTIL_ANSWERED),
    )


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return sample_catalog()


@pytest.fixture(scope="session")
def matcher(catalog: Catalog) -> Matcher:
    return Matcher.from_catalog(catalog)
