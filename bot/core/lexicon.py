"""Fixed word lists the matcher needs, in normalised form (see :func:`bot.core.normalize`).

These are not content: coordinators edit answers and their keywords in ``content/*.yaml``;
the words here are the control vocabulary (compliance, language, menu), the filler and stop
words that carry no topic, in English, Roman Urdu and Urdu script, and the words that tell a
message in Roman Urdu (:func:`writes_roman_urdu`).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.catalog import Lang


def _words(*chunks: str) -> frozenset[str]:
    return frozenset(" ".join(chunks).split())


def _phrases(*items: str) -> frozenset[tuple[str, ...]]:
    return frozenset(tuple(item.split()) for item in items)


# Opt-out words that end the conversation whenever they open a message ("Stop. Thank you",
# "stop sending", "band karo"). Carriers expect STOP to be honoured liberally, and a false
# opt-out is visible at once and undone with START, while a missed one keeps texting someone
# who asked us not to.
OPT_OUT_LEADING = frozenset({"stop", "stopall", "unsubscribe", "cancel", "band", "bund", "بند"})

# Every opt-out word and phrase. END and QUIT open ordinary questions ("end date of the
# bootcamp?"), so they, like the misspellings, count only alone or with polite filler.
OPT_OUT = _phrases(
    *OPT_OUT_LEADING,
    "end",
    "quit",
    "stp",
    "stopp",
    "unsubscrib",
    "unsubcribe",
    "unsubscibe",
    "band karo",
    "bund karo",
    "band kar do",
    "band kar dein",
    "band kar den",
    "band karen",
    "band karein",
    "bnd karo",
    "mat bhejo",
    "mat bhejein",
    "mat bhejen",
    "بند کرو",
    "بند کریں",
    "بند کر دیں",
    "بند کر دو",
    "مت بھیجو",
    "مت بھیجیں",
)

OPT_IN = _phrases(
    "start",
    "yes",
    "unstop",
    "shuru",
    "shuru karo",
    "shuru karen",
    "shuru karein",
    "chalu karo",
    "chalu",
    "شروع",
    "شروع کرو",
    "شروع کریں",
)

HELP = _phrases("help", "info", "madad", "مدد", "madad karo", "مدد کریں")

# Words that may surround a compliance word without changing what the message asks for.
POLITE = _words(
    "please pls plz plzz kindly thanks thank you thx shukriya shukria meherbani me mujhe ok okay",
    "sending send messages message msgs msg sms texts now ab ji jee bhai sir i want to again",
    "dobara chahiye chaiye chahye مجھے براہ کرم پلیز اب جی شکریہ میسج میسجز ایس ایم ایس",
    "دوبارہ چاہیے",
)

# A compliance message is short: longer texts that merely mention "stop" are questions.
COMPLIANCE_MAX_TOKENS = 6

# Language words: the language asked for, or None to switch to the other one. "roman" wins
# over "urdu" in the same message: "roman urdu" is Roman Urdu.
LANGUAGE_WORDS: dict[str, Lang | None] = {
    "roman": "ur-Latn",
    "رومن": "ur-Latn",
    "urdu": "ur",
    "اردو": "ur",
    "english": "en",
    "angrezi": "en",
    "angraizi": "en",
    "inglish": "en",
    "انگریزی": "en",
    "lang": None,
    "language": None,
    "zuban": None,
    "zaban": None,
    "زبان": None,
}
LANGUAGE_FILLER = POLITE | _words(
    "in mein main change switch set to badlo badal do karo karein karen میں بدلیں بدلو کریں",
    "کرو",
)

# Words that are Roman Urdu and not also English ("hai", "kya", "kahan", "ke", "liye",
# "naukri", "larkiyon"): a message in Latin letters with them is answered in Roman Urdu. Words
# that are English too ("main", "me", "to", "is", "in", "or", "the", "do", "par") are left out.
ROMAN_URDU = _words(
    "hai hain hy hoga hogi hota hoti hote tha thi thay kya kia kyaa kahan kahaan kidhar kab",
    "kyun kyon kaun kon konsa konsi kitna kitni kitne kaise kese kaisay ka ki ke ko se mein",
    "mujhe muje mera meri mere hum hamein aap apka apki apko tum yeh wo woh aur bhi nahi nahin",
    "koi kuch liye lye wala wali wale sakta sakti sakte milega milegi milta milti karna karni",
    "karne karen karein kren karo kar chahiye chaiye chahye batao btao bataen bataein bataye",
    "batain maloomat malumat baray baare mutaliq ji jee bhai shukriya shukria meherbani",
    "naukri naukriyan naukriyon nokri nokriyan rozgar rozgaar kaam dakhla dakhila tarbiyat",
    "taleem khawateen khawatin aurat auraten auraton larki larkiyan larkiyon larkion larkio",
    "ladki ladkiyan ladkiyon kisan sarmaya sarkar sarkari hukumat karobar saqafat tareekh",
    "sahulat rehnumai sikhna seekhna insaan insan baat rabta raabta banday kisi",
    "bund shuru madad bhejo bhejein dobara abhi yahan wahan",
)


def writes_roman_urdu(tokens: Sequence[str]) -> bool:
    """True when normalised ``tokens`` (a message in Latin letters) hold a Roman Urdu word; a
    word after a lone "e" names a program ("e-Rozgaar") and does not count."""
    return any(t in ROMAN_URDU and (i == 0 or tokens[i - 1] != "e") for i, t in enumerate(tokens))


# Menu words, greetings included: someone who says hello wants to know what they can ask.
MENU_WORDS = _words(
    "menu menyu mainu مینو 0 options hi hello hey helo hy salam salaam slam aoa assalam",
    "asalam assalamualaikum assalamoalaikum aslam سلام السلام",
)
MENU_FILLER = POLITE | _words(
    "show main dikhao dikhaen dikhayen bhejo the o u alaikum alaikom alaykum walaikum",
    "علیکم دکھائیں",
)

# Thanks and acknowledgements: a message of only these (and filler) asks nothing, so it gets
# no reply by SMS and a short one on Telegram, never the not-understood menu.
COURTESY_WORDS = _words(
    "thanks thank thx thnx thanx tnx ty shukriya shukria shukrya shukran meherbani mehrbani",
    "meharbani ok okay okey okk oky k kk theek thik thek teek acha achha accha achaa great",
    "nice good fine done noted jazakallah jazak شکریہ مہربانی ٹھیک اچھا جزاک",
)
COURTESY_FILLER = POLITE | _words(
    "you u so very much bohat bahut bht buhat boht lot a hai he h ji jee g bhai sir for the",
    "your reply answer help information info it got khair allah ہے بہت جی آپ کا اللہ خیر",
)

# Words with no topic of their own: ignored by the answer search, and never the reason a
# keyword match is distrusted. English, Roman Urdu (several spellings) and Urdu script.
STOPWORDS = _words(
    # English
    "a an the is are was were be been am do does did can could will would should shall may",
    "might i me my we our you your he she it its they them their this that these those there",
    "here what which who whom whose how when where why of in on at to for from by with about",
    "as into and or but if so not no yes any some all more most much many very also just than",
    "then too get got give tell know want need like please pls plz kindly thanks thank hi",
    "hello dear sir madam ok okay help info information detail details about regarding",
    # Roman Urdu
    "kya kia kyaa hai hain hy hay he ho hoga hogi hota hoti hote tha thi the ka ki ke ko se",
    "mein main me mai mera meri mere mujhe muje hum ham hamein ap aap apka apki tum ye yeh wo",
    "woh is us in un aur or bhi to tu hi na nahi nahin par pe ne koi kuch kaise kese kaisay",
    "kahan kahaan kidhar kab kyun kyon kon kaun konsa konsi kitna kitni kitne liye lye wala",
    "wali wale sakta sakti sakte milega milegi milta milti mil karna karni karne karen karein",
    "kren karo kar chahiye chaiye chahye batao btao bataen bataein bataye batain maloomat",
    "malumat baray baare bare mutaliq ji jee bhai shukriya",
    # Urdu script
    "کیا ہے ہیں تھا تھی تھے ہو ہوگا ہوگی کا کی کے کو سے میں مجھے ہم آپ یہ وہ اور بھی تو ہی",
    "نہ نہیں پر نے کوئی کچھ کیسے کہاں کب کیوں کون کتنا کتنی کتنے لیے والا والی والے سکتا",
    "سکتی سکتے ملے گا ملے گی کرنا کریں کرو چاہیے بتائیں بتاؤ معلومات بارے متعلق جی",
)

# Places every answer is about: naming one does not change which answer fits.
PLACES = _words(
    "dhanote dhanot dhanoat multan bahawalpur punjab south pakistan دھنوٹ ڈھنوٹ ملتان",
    "بہاولپور پنجاب پاکستان",
)

# Words the conversation handles before any answer keyword: a keyword equal to one of them
# could never be reached, so the content loader refuses it.
RESERVED_KEYWORDS: frozenset[str] = frozenset(
    {" ".join(phrase) for phrase in OPT_OUT | OPT_IN | HELP}
    | set(LANGUAGE_WORDS)
    | MENU_WORDS
    | COURTESY_WORDS
    | {"faq", "no"}
)
