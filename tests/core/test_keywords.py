"""Every matching stage, on the small in-test catalog (see conftest.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.catalog import Catalog
from bot.core.decision import INTENTS
from bot.core.keywords import MAX_CHARS, Match, Matcher, compliance
from bot.core.normalize import normalize
from tests.core.conftest import sample_catalog

# (label, message, intent, stage, answer id, language asked for)
CASES: list[tuple[str, str, str, str, str | None, str | None]] = [
    # compliance: opt-out, every form
    ("STOP", "STOP", "opt_out", "compliance", None, None),
    ("stop lower", "stop", "opt_out", "compliance", None, None),
    ("Stop. Thank you", "Stop. Thank you", "opt_out", "compliance", None, None),
    ("stop please", "stop please", "opt_out", "compliance", None, None),
    ("STOP!!!", "STOP!!!", "opt_out", "compliance", None, None),
    ("stop leading a sentence", "stop sending me messages", "opt_out", "compliance", None, None),
    ("stop watch: first word rule", "stop watch", "opt_out", "compliance", None, None),
    ("please stop", "please stop", "opt_out", "compliance", None, None),
    ("pls stop sending", "pls stop sending", "opt_out", "compliance", None, None),
    ("STOPALL", "STOPALL", "opt_out", "compliance", None, None),
    ("UNSUBSCRIBE me", "UNSUBSCRIBE me", "opt_out", "compliance", None, None),
    ("CANCEL", "Cancel", "opt_out", "compliance", None, None),
    ("END alone", "END", "opt_out", "compliance", None, None),
    ("QUIT alone", "quit", "opt_out", "compliance", None, None),
    ("stp misspelling", "stp", "opt_out", "compliance", None, None),
    ("band", "band", "opt_out", "compliance", None, None),
    ("band karo", "Band karo", "opt_out", "compliance", None, None),
    ("bund karo", "bund karo", "opt_out", "compliance", None, None),
    ("band kar do", "band kar do", "opt_out", "compliance", None, None),
    ("mujhe band karo", "mujhe band karo", "opt_out", "compliance", None, None),
    ("please band karo", "please band karo", "opt_out", "compliance", None, None),
    ("sms mat bhejo", "sms mat bhejo", "opt_out", "compliance", None, None),
    ("urdu band", "بند", "opt_out", "compliance", None, None),
    ("urdu band karo", "بند کرو", "opt_out", "compliance", None, None),
    ("urdu band karein", "بند کریں", "opt_out", "compliance", None, None),
    ("urdu mat bhejo", "مجھے مت بھیجو", "opt_out", "compliance", None, None),
    # compliance: opt-in and help, alone or with politeness only
    ("START", "START", "opt_in", "compliance", None, None),
    ("start again", "start again", "opt_in", "compliance", None, None),
    ("YES", "Yes", "opt_in", "compliance", None, None),
    ("yes? is exact, not fuzzy", "yes?", "opt_in", "compliance", None, None),
    ("UNSTOP", "unstop", "opt_in", "compliance", None, None),
    ("shuru", "shuru", "opt_in", "compliance", None, None),
    ("shuru karo", "shuru karo", "opt_in", "compliance", None, None),
    ("chalu karo", "chalu karo", "opt_in", "compliance", None, None),
    ("urdu shuru", "شروع", "opt_in", "compliance", None, None),
    ("urdu shuru karein", "شروع کریں", "opt_in", "compliance", None, None),
    ("HELP", "HELP", "help", "compliance", None, None),
    ("help me please", "help me please", "help", "compliance", None, None),
    ("INFO", "info", "help", "compliance", None, None),
    ("madad", "madad", "help", "compliance", None, None),
    ("madad chahiye", "madad chahiye", "help", "compliance", None, None),
    ("urdu madad", "مدد", "help", "compliance", None, None),
    # compliance words inside questions are not compliance
    ("start a startup", "how do I start a startup", "unknown", "fallback", None, None),
    ("end date is a question", "end date of the course", "answer", "search", "training", None),
    ("help jobs is a question", "help jobs", "answer", "keyword", "jobs", None),
    ("info about jobs", "info about jobs", "answer", "keyword", "jobs", None),
    ("7 tokens is too long", "pls pls pls pls pls pls stop", "unknown", "fallback", None, None),
    # language words
    ("URDU", "URDU", "language", "keyword", None, "ur"),
    ("ENGLISH", "English", "language", "keyword", None, "en"),
    ("LANG toggles", "LANG", "language", "keyword", None, None),
    ("language toggles", "language", "language", "keyword", None, None),
    ("urdu mein", "urdu mein", "language", "keyword", None, "ur"),
    ("switch to english", "switch to english please", "language", "keyword", None, "en"),
    ("urdu script urdu", "اردو", "language", "keyword", None, "ur"),
    ("urdu script english", "انگریزی", "language", "keyword", None, "en"),
    ("urdu script zaban", "زبان", "language", "keyword", None, None),
    ("english course is a topic", "english course", "answer", "search", "training", None),
    # menu words and greetings
    ("MENU", "MENU", "menu", "keyword", None, None),
    ("menyu", "menyu", "menu", "keyword", None, None),
    ("urdu menu", "مینو", "menu", "keyword", None, None),
    ("zero", "0", "menu", "keyword", None, None),
    ("urdu zero", "۰", "menu", "keyword", None, None),
    ("menu please", "menu please", "menu", "keyword", None, None),
    ("hi is a greeting", "hi", "menu", "keyword", None, None),
    ("salam", "Assalam o Alaikum", "menu", "keyword", None, None),
    ("urdu salam", "السلام علیکم", "menu", "keyword", None, None),
    # exact keywords and titles
    ("keyword", "jobs", "answer", "keyword", "jobs", None),
    ("roman urdu keyword", "NAUKRI", "answer", "keyword", "jobs", None),
    ("urdu keyword", "نوکری", "answer", "keyword", "jobs", None),
    ("arabic letters folded", "نوكري", "answer", "keyword", "jobs", None),
    ("multi-word keyword", "seed funding", "answer", "keyword", "seed_funding", None),
    ("title", "Women in tech", "answer", "keyword", "women", None),
    ("plural meets singular", "course", "answer", "keyword", "training", None),
    # FAQ n
    ("faq3", "faq3", "answer", "faq", "faq_3", None),
    ("FAQ 3", "FAQ 3", "answer", "faq", "faq_3", None),
    ("faq#3", "faq#3", "answer", "faq", "faq_3", None),
    ("F.A.Q 3", "F.A.Q 3", "answer", "faq", "faq_3", None),
    ("faq urdu digit", "FAQ ۳", "answer", "faq", "faq_3", None),
    ("faq no 2", "faq no. 2", "answer", "faq", "faq_2", None),
    ("urdu sawal", "سوال ۲", "answer", "faq", "faq_2", None),
    ("urdu sawal number", "سوال نمبر 1", "answer", "faq", "faq_1", None),
    ("question 1", "Question 1?", "answer", "faq", "faq_1", None),
    ("bare digit", "3", "answer", "faq", "faq_3", None),
    ("bare urdu digit", "۲", "answer", "faq", "faq_2", None),
    ("faq out of range -> menu", "faq 9", "menu", "faq", None, None),
    ("faq 0 -> menu", "faq 0", "menu", "faq", None, None),
    ("faq alone -> menu", "FAQ", "menu", "faq", None, None),
    ("bare number out of range", "9", "unknown", "fallback", None, None),
    ("a year is not a faq", "2024", "unknown", "fallback", None, None),
    ("a phone number is not a faq", "03001234567", "unknown", "fallback", None, None),
    # keyword inside a message
    ("jobs kahan hain", "jobs kahan hain", "answer", "keyword", "jobs", None),
    ("naukri chahiye", "naukri chahiye", "answer", "keyword", "jobs", None),
    ("place names ignored", "job in Multan?", "answer", "keyword", "jobs", None),
    ("two keywords same answer", "training courses", "answer", "keyword", "training", None),
    ("urdu sentence", "نوکری کہاں ملے گی؟", "answer", "keyword", "jobs", None),
    ("longest phrase wins", "dhanote it park", "answer", "keyword", "it_park", None),
    # fuzzy
    ("jbos", "jbos", "answer", "fuzzy", "jobs", None),
    ("naukry", "naukry", "answer", "fuzzy", "jobs", None),
    ("traning", "traning", "answer", "fuzzy", "training", None),
    ("typo in a sentence", "naukry kahan hai", "answer", "fuzzy", "jobs", None),
    ("typo in a phrase", "seed fundng", "answer", "fuzzy", "seed_funding", None),
    ("upwrok", "upwrok", "answer", "fuzzy", "freelancing", None),
    ("langauge", "langauge", "language", "fuzzy", None, None),
    ("menuu", "menuu", "menu", "fuzzy", None, None),
    ("englsh", "englsh", "language", "fuzzy", None, "en"),
    ("freelanceing stems to the keyword", "freelanceing", "answer", "keyword", "freelancing", None),
    ("ok is courtesy, not a fuzzy menu", "ok", "courtesy", "keyword", None, None),
    ("thanks", "thanks", "courtesy", "keyword", None, None),
    ("thank you very much", "Thank you very much!", "courtesy", "keyword", None, None),
    ("shukriya bhai", "shukriya bhai", "courtesy", "keyword", None, None),
    ("meherbani", "meherbani", "courtesy", "keyword", None, None),
    ("theek hai", "theek hai", "courtesy", "keyword", None, None),
    ("ok ji", "ok ji", "courtesy", "keyword", None, None),
    ("jazakallah khair", "JazakAllah khair", "courtesy", "keyword", None, None),
    ("urdu thanks", "شکریہ", "courtesy", "keyword", None, None),
    ("urdu many thanks", "بہت شکریہ", "courtesy", "keyword", None, None),
    ("urdu ok", "ٹھیک ہے", "courtesy", "keyword", None, None),
    ("thanks with a question is the question", "thanks, jobs?", "answer", "keyword", "jobs", None),
    ("ok then stop is stop", "ok stop", "opt_out", "compliance", None, None),
    ("stop thanks is stop", "stop thanks", "opt_out", "compliance", None, None),
    ("salam is the menu", "salam", "menu", "keyword", None, None),
    ("assalam o alaikum is the menu", "assalam o alaikum", "menu", "keyword", None, None),
    ("urdu salam is the menu", "السلام علیکم", "menu", "keyword", None, None),
    ("no is not fuzzy", "no", "unknown", "fallback", None, None),
    ("short word not fuzzy", "jbo", "unknown", "fallback", None, None),
    ("first letter must match", "bobs", "unknown", "fallback", None, None),
    ("roman urdu spelling", "nokri", "answer", "fuzzy", "jobs", None),
    ("short control words not fuzzy", "loan", "unknown", "fallback", None, None),
    ("compliance words never corrected", "start training", "answer", "keyword", "training", None),
    # search
    ("search for a faq", "is freelancing viable", "answer", "search", "faq_2", None),
    ("search beats a keyword", "can women benefit from it", "answer", "search", "faq_3", None),
    ("exact faq title", "How can women benefit?", "answer", "keyword", "faq_3", None),
    ("search in urdu", "فائدہ اٹھا سکتی", "answer", "search", "faq_3", None),
    # nothing
    ("empty", "", "unknown", "fallback", None, None),
    ("punctuation only", "?!...", "unknown", "fallback", None, None),
    ("gibberish", "asdkjh qwe zxcv", "unknown", "fallback", None, None),
    ("stop words only", "what is the", "unknown", "fallback", None, None),
]


@pytest.mark.parametrize(
    ("text", "intent", "stage", "answer_id", "language"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_match(
    matcher: Matcher,
    text: str,
    intent: str,
    stage: str,
    answer_id: str | None,
    language: str | None,
) -> None:
    assert matcher.match(normalize(text)) == Match(intent, stage, answer_id, language)  # type: ignore[arg-type]


def test_labels_are_unique() -> None:
    labels = [c[0] for c in CASES]
    assert len(labels) == len(set(labels))


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        ((), None),
        (("jobs",), None),
        (("please", "please"), None),
        (("thank", "you", "stop"), "opt_out"),
        (("band", "karo", "start"), "opt_out"),
        (("start", "stop"), None),
    ],
    ids=["nothing", "no compliance word", "only filler", "filler first", "leading band", "mixed"],
)
def test_compliance(tokens: tuple[str, ...], expected: str | None) -> None:
    assert compliance(tokens) == expected


def test_faq_numbers(matcher: Matcher) -> None:
    assert matcher.faq_numbers == (1, 2, 3)


def test_only_the_start_of_a_long_message_counts(matcher: Matcher) -> None:
    assert matcher.match("x " * MAX_CHARS + "jobs").intent == "unknown"
    assert matcher.match("jobs " + "x " * MAX_CHARS).answer_id == "jobs"


def test_empty_catalog_matches_only_control_words() -> None:
    empty = Matcher.from_catalog(Catalog("empty", (), {}))
    assert empty.match("jobs").intent == "unknown"
    assert empty.match("stop").intent == "opt_out"
    assert empty.match("3").intent == "unknown"


_MATCHER = Matcher.from_catalog(sample_catalog())


@given(st.text(max_size=2000))
def test_any_text_gives_a_match(text: str) -> None:
    for candidate in (text, normalize(text)):
        found = _MATCHER.match(candidate)
        assert found.intent in INTENTS
        assert (found.answer_id is not None) == (found.intent == "answer")
