"""What residents actually text, and what they should get back, against the real content.

Shared by ``tests/core/test_resident_messages.py`` (correctness) and the bench drivers
(``bench.bench_matching`` for speed; ``bench.bench_sms`` and ``bench.bench_telegram`` draw
their load from it), so both run the same messages. Each row says what a resident would
expect, not what the code happens to do.

``ADDED`` are answers a coordinator could add with ``outreach answers add`` for what the
article does not say (fees, admission, the address, the contact line), with obviously made-up
TEST values; ``ADDED_ROWS`` are the residents' questions from issue 11 they answer.
"""

from __future__ import annotations

from typing import NamedTuple

from bot.core.added import AddedAnswer
from bot.core.catalog import Lang
from bot.core.decision import Channel, Intent


class Row(NamedTuple):
    label: str
    text: str
    intent: Intent
    answer_id: str | None = None
    lang: Lang = "en"  # the language of the reply
    channel: Channel = "sms"
    stored: Lang | None = None  # the subscriber's stored language


ROWS: list[Row] = [
    # English keywords
    Row("jobs", "jobs", "answer", "jobs"),
    Row("JOBS shouted", "JOBS", "answer", "jobs"),
    Row("job singular with ?", "Job?", "answer", "jobs"),
    Row("jobs in a question", "any jobs in dhanote?", "answer", "jobs"),
    Row("IT jobs", "IT jobs", "answer", "jobs"),
    Row("training", "training", "answer", "workforce"),
    Row("training in multan", "Training courses in Multan", "answer", "workforce"),
    Row("courses", "courses", "answer", "workforce"),
    Row("park", "PARK", "answer", "it_park"),
    Row("dhanote it park", "Dhanote IT Park", "answer", "it_park"),
    Row("facilities", "facilities", "answer", "facilities"),
    Row("internet", "internet", "answer", "infrastructure"),
    Row("startup", "startup", "answer", "startups"),
    Row("kaam chahiye", "kaam chahiye", "answer", "jobs", lang="ur-Latn"),
    Row("karobar shuru karna hai", "karobar shuru karna hai", "answer", "startups", lang="ur-Latn"),
    Row("urdu kaam", "کام", "answer", "jobs", "ur"),
    Row("seed funding", "seed funding", "answer", "seed_funding"),
    Row("grants", "grants", "answer", "seed_funding"),
    Row("women", "women", "answer", "women"),
    Row("freelancing", "freelancing", "answer", "job_freelancing"),
    Row("fiverr", "Fiverr", "answer", "job_freelancing"),
    Row("data entry", "data entry", "answer", "job_data_entry"),
    Row("seo", "SEO", "answer", "job_seo_content"),
    Row("app testing", "app testing", "answer", "job_app_testing"),
    Row("it support", "IT support", "answer", "job_it_support"),
    Row("digiskills", "digiskills", "answer", "digiskills"),
    Row("navttc", "NAVTTC", "answer", "navttc_tevta"),
    Row("bootcamp", "bootcamp", "answer", "bootcamps"),
    Row("e-rozgaar", "e-Rozgaar", "answer", "e_rozgaar"),
    Row("ignite", "ignite", "answer", "ignite"),
    Row("stza", "STZA", "answer", "stza"),
    Row("mentorship", "mentorship", "answer", "mentorship"),
    Row("hackathon", "hackathon", "answer", "hackathons"),
    Row("government", "government", "answer", "government"),
    Row("culture", "culture", "answer", "culture"),
    Row("history", "history", "answer", "journey"),
    Row("model", "model", "answer", "model"),
    Row(
        "web development and freelancing",
        "web development freelancing",
        "answer",
        "job_freelancing",
    ),
    Row("mobile app testing jobs", "mobile app testing jobs", "answer", "job_app_testing"),
    # Roman Urdu
    Row("naukri", "naukri", "answer", "jobs", lang="ur-Latn"),
    Row("naukri chahiye", "Naukri chahiye", "answer", "jobs", lang="ur-Latn"),
    Row("naukri kahan", "naukri kahan milegi?", "answer", "jobs", lang="ur-Latn"),
    Row("nokri spelling", "nokri", "answer", "jobs", lang="ur-Latn"),
    Row("rozgar", "rozgar", "answer", "jobs", lang="ur-Latn"),
    Row("dakhla", "dakhla kaise milega", "answer", "workforce", lang="ur-Latn"),
    Row("tarbiyat", "tarbiyat", "answer", "workforce", lang="ur-Latn"),
    Row("khawateen", "khawateen ke liye kya hai", "answer", "women", lang="ur-Latn"),
    Row("kisan", "kisan", "answer", "culture", lang="ur-Latn"),
    Row("sarmaya", "sarmaya", "answer", "seed_funding", lang="ur-Latn"),
    Row("sarkari program", "sarkari program", "answer", "government", lang="ur-Latn"),
    Row("coding sikhna", "coding sikhna hai", "answer", "bootcamps", lang="ur-Latn"),
    # Urdu script: replies in Urdu
    Row("urdu naukri", "نوکری", "answer", "jobs", "ur"),
    Row("urdu naukriyan question", "نوکریاں کہاں ہیں؟", "answer", "jobs", "ur"),
    Row("urdu tarbiyat", "تربیت", "answer", "workforce", "ur"),
    Row("urdu dakhla", "داخلہ", "answer", "workforce", "ur"),
    Row("urdu khawateen", "خواتین", "answer", "women", "ur"),
    Row("urdu park", "پارک", "answer", "it_park", "ur"),
    Row("urdu freelancing", "فری لانسنگ", "answer", "job_freelancing", "ur"),
    Row("urdu internet", "انٹرنیٹ", "answer", "infrastructure", "ur"),
    Row("urdu hukumat", "حکومت", "answer", "government", "ur"),
    Row("urdu data entry", "ڈیٹا انٹری", "answer", "job_data_entry", "ur"),
    Row("arabic kaf in course", "كورس", "answer", "workforce", "ur"),
    Row("arabic kaf and yeh", "نوكري", "answer", "jobs", "ur"),
    # Typos
    Row("jbos", "jbos", "answer", "jobs"),
    Row("naukry", "naukry", "answer", "jobs"),
    Row("traning", "traning", "answer", "workforce"),
    Row("freelanceing", "freelanceing", "answer", "job_freelancing"),
    Row("frelancing", "frelancing", "answer", "job_freelancing"),
    Row("internat", "internat", "answer", "infrastructure"),
    Row("facilites", "facilites", "answer", "facilities"),
    Row("hackaton", "hackaton", "answer", "hackathons"),
    Row("mentorshp", "mentorshp", "answer", "mentorship"),
    Row("goverment", "goverment", "answer", "government"),
    Row("stratup", "stratup", "answer", "startups"),
    # Case and punctuation
    Row("mixed case and bangs", "JoBs!!!", "answer", "jobs"),
    Row("dots around", "...naukri...", "answer", "jobs", lang="ur-Latn"),
    Row("hyphen and question", "Seed-Funding?", "answer", "seed_funding"),
    # FAQ n, in every spelling and digit
    Row("faq3", "faq3", "answer", "faq_3"),
    Row("FAQ 3", "FAQ 3", "answer", "faq_3"),
    Row("FAQ urdu digit", "FAQ ۳", "answer", "faq_3"),
    Row("faq#5", "faq#5", "answer", "faq_5"),
    Row("F.A.Q 7", "F.A.Q 7", "answer", "faq_7"),
    Row("faq 7", "faq 7", "answer", "faq_7"),
    Row("faq 1", "Faq 1", "answer", "faq_1"),
    Row("faq 9 out of range", "faq 9", "menu"),
    Row("faq 0", "faq 0", "menu"),
    Row("faq alone", "FAQ", "menu"),
    Row("urdu sawal 4", "سوال ۴", "answer", "faq_4", "ur"),
    Row("bare digit", "3", "answer", "faq_3"),
    Row("bare urdu digit", "۶", "answer", "faq_6", "ur"),
    Row("bare arabic-indic digit", "٢", "answer", "faq_2", "ur"),
    # Compliance, in English, Roman Urdu and Urdu script
    Row("STOP", "STOP", "opt_out"),
    Row("Stop. Thank you", "Stop. Thank you", "opt_out"),
    Row("stop please", "stop please", "opt_out"),
    Row("please stop", "please stop", "opt_out"),
    Row("pls stop sending msgs", "pls stop sending msgs", "opt_out"),
    Row("STOP!!!", "STOP!!!", "opt_out"),
    Row("unsubscribe", "Unsubscribe", "opt_out"),
    Row("band karo", "band karo", "opt_out", lang="ur-Latn"),
    Row("mujhe band karo", "mujhe band karo", "opt_out", lang="ur-Latn"),
    Row("sms mat bhejo", "sms mat bhejo", "opt_out", lang="ur-Latn"),
    Row("urdu band", "بند", "opt_out", lang="ur"),
    Row("urdu band karein", "بند کریں", "opt_out", lang="ur"),
    Row("START", "START", "opt_in"),
    Row("shuru", "shuru", "opt_in", lang="ur-Latn"),
    Row("urdu shuru karein", "شروع کریں", "opt_in", lang="ur"),
    Row("HELP", "HELP", "help"),
    Row("madad", "madad", "help", lang="ur-Latn"),
    Row("urdu madad", "مدد", "help", lang="ur"),
    Row("help me", "help me", "help"),
    Row("help with a topic is the topic", "help jobs", "answer", "jobs"),
    Row("start a startup is no opt-in", "how do I start a startup", "answer", "startups"),
    # Language words
    Row("URDU", "URDU", "language", lang="ur"),
    Row("ENGLISH from urdu", "ENGLISH", "language", lang="en", stored="ur"),
    Row("urdu script urdu", "اردو", "language", lang="ur"),
    Row("urdu script english", "انگریزی", "language", lang="en", stored="ur"),
    Row("LANG toggles", "LANG", "language", lang="ur", stored="en"),
    Row("urdu mein", "urdu mein", "language", lang="ur"),
    # Menu and greetings
    Row("menu", "menu", "menu"),
    Row("zero", "0", "menu"),
    Row("hi", "hi", "menu"),
    Row("salam", "Assalam o Alaikum", "menu"),
    Row("urdu salam alaikum", "السلام علیکم", "menu", lang="ur"),
    # Questions only the search understands
    Row("women benefit", "how can women benefit", "answer", "faq_7"),
    Row("freelancing viable", "is freelancing viable", "answer", "faq_5"),
    Row("freelancing career", "is freelancing a good career?", "answer", "faq_5"),
    Row("youth from multan", "can youth from multan participate", "answer", "faq_4"),
    Row("government programs", "are there government programs in dhanote", "answer", "faq_3"),
    Row("park facilities", "what facilities does the park offer", "answer", "faq_6"),
    Row("how different", "how is dhanote different from other hubs", "answer", "faq_2"),
    Row("role of dhanote", "what is dhanote's role in pakistan's IT ecosystem", "answer", "faq_1"),
    Row("online earning", "online earning", "answer", "faq_5"),
    # Stored language and Telegram
    Row("stored urdu, latin keyword", "jobs", "answer", "jobs", "ur", stored="ur"),
    Row("telegram keyword", "naukri", "answer", "jobs", channel="telegram", lang="ur-Latn"),
    Row("telegram start command", "/start", "opt_in", channel="telegram"),
    Row("telegram topic button", "a:women", "answer", "women", channel="telegram"),
    Row("telegram menu", "/menu", "menu", channel="telegram"),
    # Nothing to understand
    Row("keyboard mash", "asdfghjkl", "unknown"),
    Row("three letters", "xyz", "unknown"),
    # Thanks, ok, a thumbs-up: courtesy (no SMS; a short reply on Telegram), never unanswered
    Row("ok", "ok", "courtesy"),
    Row("thanks", "thanks", "courtesy"),
    Row("thank you so much", "Thank you so much!", "courtesy"),
    Row("shukriya", "shukriya", "courtesy", lang="ur-Latn"),
    Row("meherbani", "meherbani", "courtesy", lang="ur-Latn"),
    Row("theek hai", "theek hai", "courtesy", lang="ur-Latn"),
    Row("urdu thanks", "شکریہ", "courtesy", lang="ur"),
    Row("urdu ok", "ٹھیک ہے", "courtesy", lang="ur"),
    Row("thumbs up", "👍", "courtesy"),
    Row("folded hands", "🙏🏽", "courtesy"),
    Row("telegram thanks", "thanks", "courtesy", channel="telegram"),
    # Greetings: the menu (what they can ask)
    Row("salam alone", "salam", "menu"),
    Row("question marks", "???", "unknown"),
    Row("a number", "123456", "unknown"),
    Row("emoji", "lol 😂", "unknown"),
    Row("two mashes", "qwerty uiop", "unknown"),
    Row("empty", "", "unknown"),
    # A person: asked for ("staff"), or what the article does not say and no coordinator has
    # answered yet ("no_answer": fees, dates, address, applying; ADDED_ROWS once answered)
    Row("agent", "agent please", "staff"),
    Row("talk to someone", "I want to talk to someone", "staff"),
    Row("human", "human", "staff"),
    Row("insaan se baat", "insaan se baat karni hai", "staff", lang="ur-Latn"),
    Row("kisi se baat", "kisi se baat karao", "staff", lang="ur-Latn"),
    Row("staff in urdu", "عملہ", "staff", lang="ur"),
    Row("fis, no added answer has it", "fis kitni hai", "no_answer", lang="ur-Latn"),
    Row("staff misspelt", "stafff", "staff"),
    # Issue 11: every example it names, as written. The article has the answer (women's
    # programs for girls, jobs for rozgaar and the loanword جاب, training for ٹریننگ, the
    # inclusive jobs for the differently-abled, solar workspaces, farmers and artisans), or a
    # person answers (fees, dates, address, applying, contact, internships, scholarships).
    Row("i11 fees kitni hai", "fees kitni hai", "no_answer", lang="ur-Latn"),
    Row("i11 admission kab hai", "admission kab hai", "no_answer", lang="ur-Latn"),
    Row("i11 how do I apply", "How do I apply?", "no_answer"),
    Row("i11 contact number", "contact number", "no_answer"),
    Row("i11 rabta", "rabta", "staff", lang="ur-Latn"),
    Row("i11 location", "location", "no_answer"),
    Row("i11 it park kahan hai", "IT park kahan hai?", "no_answer", lang="ur-Latn"),
    Row("i11 dakhla kab in urdu", "داخلہ کب ہے", "no_answer", lang="ur"),
    Row(
        "i11 larkiyon ke liye course",
        "larkiyon ke liye koi course hai?",
        "answer",
        "women",
        "ur-Latn",
    ),
    Row("i11 girls ke liye course", "girls ke liye course", "answer", "women", "ur-Latn"),
    Row("i11 training loanword", "ٹریننگ", "answer", "workforce", "ur"),
    Row("i11 job loanword", "جاب", "answer", "jobs", "ur"),
    Row("i11 mazoor in urdu", "معذور", "answer", "jobs", "ur"),
    Row("i11 disabled", "disabled", "answer", "jobs"),
    Row("i11 internship", "internship", "no_answer"),
    Row("i11 scholarship", "scholarship", "no_answer"),
    Row("i11 rozgaar", "rozgaar", "answer", "jobs", "ur-Latn"),
    Row("i11 solar", "solar", "answer", "infrastructure"),
    Row("i11 farmers", "farmers", "answer", "culture"),
    Row("i11 artisans", "artisans", "answer", "culture"),
    Row("i11 differently abled", "differently abled", "answer", "jobs"),
    Row("i11 staff", "staff", "staff"),
    Row("i11 insaan se baat", "insaan se baat", "staff", lang="ur-Latn"),
    Row("i11 rabta in urdu", "رابطہ", "staff", lang="ur"),
    Row("i11 agent", "agent", "staff"),
    Row("i11 talk to someone", "talk to someone", "staff"),
    # Roman Urdu: chosen with ROMAN, and what tells a message in it
    Row("ROMAN", "ROMAN", "language", lang="ur-Latn"),
    Row("roman urdu", "roman urdu", "language", lang="ur-Latn", stored="en"),
    Row("roman urdu mein", "Roman Urdu mein", "language", lang="ur-Latn", stored="ur"),
    Row("LANG from roman", "LANG", "language", lang="en", stored="ur-Latn"),
    Row("stored roman, english keyword", "jobs", "answer", "jobs", "ur-Latn", stored="ur-Latn"),
    Row("roman on telegram", "naukri kahan hai", "answer", "jobs", "ur-Latn", channel="telegram"),
    Row("e-rozgaar names a program", "e-Rozgaar kya hai", "answer", "e_rozgaar", "ur-Latn"),
    Row("girls in urdu", "لڑکیوں کے لیے کورس", "answer", "women", "ur"),
    Row("scholarship in roman", "scholarship milegi?", "no_answer", lang="ur-Latn"),
]


# Made-up TEST values only: the article has no fees, dates, address or contact line.
ADDED: tuple[AddedAnswer, ...] = (
    AddedAnswer(
        "fees",
        ("fees", "fee", "fees kitni hai", "fees kitni", "fees kya hai", "فیس", "فیس کتنی ہے"),
        "TEST fees: PKR 1234 (test value)",
        "ٹیسٹ فیس: 1234 روپے",
        "TEST fees: 1234 rupay (test value)",
    ),
    AddedAnswer(
        "admission",
        ("admission", "admissions", "admission kab hai", "dakhla kab", "داخلہ کب ہے", "داخلہ کب"),
        "TEST admission: 1 Jan 2099 (test value)",
        "ٹیسٹ داخلہ: 1 جنوری 2099",
    ),
    AddedAnswer(
        "apply",
        ("apply", "how do i apply", "how to apply", "apply kaise karen", "درخواست"),
        "TEST apply: form at the TEST desk (test value)",
        "ٹیسٹ درخواست: ٹیسٹ ڈیسک پر فارم",
    ),
    AddedAnswer(
        "address",
        ("address", "location", "it park kahan hai", "park kahan hai", "پتہ"),
        "TEST address: 1 Test Road (test value)",
        "ٹیسٹ پتہ: 1 ٹیسٹ روڈ",
        telegram_en="TEST address: 1 Test Road, Test Town (test value). A longer Telegram text.",
    ),
    AddedAnswer(
        "contact",
        ("contact", "contact number", "phone number"),
        "TEST contact: 0000-0000000 (test value)",
        "ٹیسٹ رابطہ: 0000-0000000",
    ),
)

ADDED_ROWS: list[Row] = [
    Row("fees kitni hai", "fees kitni hai", "answer", "fees", "ur-Latn"),
    Row("Fees kitni hai?", "Fees kitni hai?", "answer", "fees", "ur-Latn"),
    Row("what are the fees", "what are the fees?", "answer", "fees"),
    Row("urdu fees", "فیس کتنی ہے؟", "answer", "fees", "ur"),
    Row("admission kab hai", "admission kab hai", "answer", "admission", "ur-Latn"),
    Row("urdu admission", "داخلہ کب ہے", "answer", "admission", "ur"),
    Row("how do i apply", "How do I apply?", "answer", "apply"),
    Row("contact number", "contact number", "answer", "contact"),
    Row("location", "location", "answer", "address"),
    Row("it park kahan hai", "IT park kahan hai?", "answer", "address", "ur-Latn"),
    Row("address on telegram", "address", "answer", "address", channel="telegram"),
]
