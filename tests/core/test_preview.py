"""Announcement previews: SMS segments and cost per language, GSM-7 fixes, sending time."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.preview import (
    fix_gsm,
    human_duration,
    name_chars,
    render_preview,
    send_duration,
    sms_cost,
)
from bot.core.segments import SegmentInfo, count_segments, is_gsm7

# 100 characters with one curly apostrophe: UCS-2 needs 2 segments, GSM-7 only 1.
EN = (
    "Dhanote IT Park’s free DigiSkills course starts Monday 10:00. "
    "Reply TRAINING for details. STOP=stop."
)
UR = (
    "دھنوٹ آئی ٹی پارک میں مفت ڈیجی اسکلز کورس پیر کو صبح دس بجے شروع ہوگا۔ "
    "تفصیل کے لیے تربیت لکھیں۔"
)
PRICE = Decimal("0.85")


def test_curly_quote_forces_ucs2_and_is_named() -> None:
    assert len(EN) == 100
    cost = sms_cost({"en": EN}, {"en": 1000}, PRICE).lang("en")
    assert cost.segments == SegmentInfo("UCS-2", 100, 2, ("’",))
    assert cost.gsm_if_replaced == SegmentInfo("GSM-7", 100, 1)
    assert cost.unreplaceable == ()
    assert cost.cost == Decimal("1700.00")
    assert cost.cost_if_replaced == Decimal("850.00")


def test_fixed_text_is_gsm7_with_fewer_segments() -> None:
    fixed = fix_gsm(EN)
    assert fixed == EN.replace("’", "'")
    assert is_gsm7(fixed)
    assert count_segments(fixed).segments < count_segments(EN).segments


def test_urdu_is_ucs2_and_cannot_be_replaced() -> None:
    cost = sms_cost({"en": EN, "ur": UR}, {"en": 0, "ur": 10}, PRICE).lang("ur")
    assert cost.segments.encoding == "UCS-2"
    assert cost.segments.segments == 2
    assert cost.gsm_if_replaced is None
    assert cost.cost_if_replaced is None
    assert "د" in cost.unreplaceable


def test_gsm7_text_has_nothing_to_replace() -> None:
    cost = sms_cost({"en": "Reply JOBS for jobs."}, {"en": 5}, PRICE).lang("en")
    assert cost.segments == SegmentInfo("GSM-7", 20, 1)
    assert (cost.gsm_if_replaced, cost.unreplaceable, cost.cost_if_replaced) == (None, (), None)


def test_urdu_readers_without_urdu_text_get_english() -> None:
    cost = sms_cost({"en": EN}, {"en": 1, "ur": 3}, PRICE)
    assert [c.lang for c in cost.langs] == ["en", "ur"]
    assert cost.lang("ur").segments == cost.lang("en").segments
    assert cost.total_segments == 8


COSTS = [
    # (label, recipients en/ur, price, total segments, total cost)
    ("en 2 x 1000 + ur 2 x 500", {"en": 1000, "ur": 500}, "0.85", 3000, "2550.00"),
    ("nobody", {"en": 0, "ur": 0}, "0.85", 0, "0.00"),
    ("half a paisa rounds up", {"en": 1, "ur": 0}, "0.0025", 2, "0.01"),
    ("exact sum, rounded once", {"en": 3, "ur": 3}, "0.3333", 12, "4.00"),
    ("free", {"en": 10, "ur": 10}, "0", 40, "0.00"),
]


@pytest.mark.parametrize(
    ("recipients", "price", "segments", "total"), [c[1:] for c in COSTS], ids=[c[0] for c in COSTS]
)
def test_cost_arithmetic(recipients: dict[str, int], price: str, segments: int, total: str) -> None:
    cost = sms_cost({"en": EN, "ur": UR}, recipients, Decimal(price))  # type: ignore[arg-type]
    assert cost.total_segments == segments
    assert cost.total_cost == Decimal(total)
    assert isinstance(cost.total_cost, Decimal)
    assert cost.total_cost.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("texts", "recipients", "price", "message"),
    [
        ({"en": "hi"}, {"en": 1}, "-1", "price per segment must not be negative"),
        ({"en": "hi"}, {"en": -1}, "1", "must not be negative"),
        ({"ur": "سلام"}, {"en": 2}, "1", "no en or English text"),
    ],
    ids=["negative price", "negative recipients", "no text for recipients"],
)
def test_cost_rejects(
    texts: dict[str, str], recipients: dict[str, int], price: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        sms_cost(texts, recipients, Decimal(price))  # type: ignore[arg-type]


FIXES = [
    ("curly single quotes", "‘It’s’", "'It's'"),
    ("curly double quotes", "“Apply now”", '"Apply now"'),
    ("guillemets", "«new»", '"new"'),
    ("en and em dash", "9–5 — daily", "9-5 - daily"),
    ("minus sign", "−5", "-5"),
    ("ellipsis", "More…", "More..."),
    ("no-break space", "Rs\u00a0500", "Rs 500"),
    ("narrow no-break and thin space", "10\u202f000\u2009PKR", "10 000 PKR"),
    ("zero-width space dropped", "IT\u200bPark", "ITPark"),
    ("bullet", "• jobs", "- jobs"),
    ("accent outside GSM-7 dropped", "Café Ñandú", "Café Ñandu"),
    ("GSM-7 accents kept", "é à ü Ñ Ç", "é à ü Ñ Ç"),
    ("extension chars kept", "{€5}", "{€5}"),
    ("urdu unchanged", "نوکری", "نوکری"),
    ("emoji unchanged", "Jobs 🎉", "Jobs 🎉"),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in FIXES], ids=[c[0] for c in FIXES])
def test_fix_gsm(text: str, expected: str) -> None:
    assert fix_gsm(text) == expected


@given(st.text())
def test_fix_gsm_is_idempotent_and_only_removes_ucs2_causes(text: str) -> None:
    fixed = fix_gsm(text)
    assert fix_gsm(fixed) == fixed
    assert set(count_segments(fixed).non_gsm) <= set(count_segments(text).non_gsm)


@given(st.text(alphabet=st.characters(codec="ascii").filter(is_gsm7)))
def test_fix_gsm_leaves_gsm7_alone(text: str) -> None:
    assert fix_gsm(text) == text


DURATIONS = [
    ("10,000 telegram at 30/s", {"telegram": 10_000}, {"telegram": 30.0}, 1, "5 min 33 s"),
    ("sms counts segments", {"sms": 1000}, {"sms": 10.0}, 2, "3 min 20 s"),
    ("channels run side by side", {"telegram": 10_000, "sms": 1000},
     {"telegram": 30.0, "sms": 10.0}, 2, "5 min 33 s"),
    ("long", {"sms": 100_000}, {"sms": 10.0}, 1, "2 h 46 min"),
    ("nobody", {"telegram": 0, "sms": 0}, {}, 1, "under 1 s"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("recipients", "rates", "segments", "text"),
    [c[1:] for c in DURATIONS],
    ids=[c[0] for c in DURATIONS],
)
def test_send_duration(
    recipients: dict[str, int], rates: dict[str, float], segments: float, text: str
) -> None:
    assert human_duration(send_duration(recipients, rates, segments)) == text


def test_telegram_duration_is_about_five_and_a_half_minutes() -> None:
    duration = send_duration({"telegram": 10_000}, {"telegram": 30})
    assert duration == timedelta(seconds=333.333)


def test_send_duration_needs_a_rate() -> None:
    with pytest.raises(ValueError, match="no sending rate for 'sms'"):
        send_duration({"sms": 10}, {"telegram": 30})


def test_name_chars() -> None:
    assert name_chars(("’", "\u00a0")) == "’, no-break space"
    assert name_chars(tuple("دھنوٹ")) == "Urdu script"
    assert name_chars(tuple("abcdefgh"), limit=3) == "a, b, c and 5 more"


def test_render_preview() -> None:
    cost = sms_cost({"en": EN, "ur": UR}, {"en": 1000, "ur": 500}, PRICE)
    duration = send_duration({"telegram": 10_000, "sms": 1500}, {"telegram": 30, "sms": 10}, 2)
    pkt = ZoneInfo("Asia/Karachi")
    lines = render_preview(
        cost,
        {"telegram": 10_000, "sms": 1500},
        duration,
        when="every Monday at 10:00 PKT",
        next_times=[datetime(2026, 6, 8, 10, tzinfo=pkt), datetime(2026, 6, 15, 10, tzinfo=pkt)],
    )
    assert lines == [
        "Recipients: 10,000 Telegram, 1,500 SMS",
        "SMS en: 2 segments (UCS-2) x 1,000 people",
        "  UCS-2 because of: ’",
        "  With plain characters: 1 segment (GSM-7), saves PKR 850.00",
        "SMS ur: 2 segments (UCS-2) x 500 people",
        "  UCS-2 because of: Urdu script (cannot be GSM-7)",
        "SMS cost: PKR 2,550.00 (3,000 segments at PKR 0.85)",
        "Sending time: about 5 min 33 s",
        "When: every Monday at 10:00 PKT",
        "Next: Mon 8 Jun 2026 10:00 PKT, Mon 15 Jun 2026 10:00 PKT",
    ]
    assert all(len(line) <= 80 for line in lines)


def test_render_preview_offers_no_fix_that_saves_nothing() -> None:
    text = "…" * 70  # UCS-2: 1 segment; as "..." 210 septets: 2 segments
    cost = sms_cost({"en": text}, {"en": 10}, PRICE)
    assert cost.lang("en").gsm_if_replaced == SegmentInfo("GSM-7", 210, 2)
    lines = render_preview(cost, {"sms": 10}, timedelta(seconds=1))
    assert "  UCS-2 because of: …" in lines
    assert not any("plain characters" in line for line in lines)


def test_render_preview_names_invisible_characters() -> None:
    cost = sms_cost({"en": "Fee:\u00a0Rs 500"}, {"en": 1}, PRICE)
    lines = render_preview(cost, {"sms": 1}, timedelta(0))
    assert "  UCS-2 because of: no-break space" in lines
    assert "Sending time: under 1 s" in lines


def test_render_preview_separates_fixable_from_stuck_characters() -> None:
    cost = sms_cost({"en": "It’s on 🎉"}, {"en": 1}, PRICE)
    lines = render_preview(cost, {"sms": 1}, timedelta(0))
    assert lines[1:4] == [
        "SMS en: 1 segment (UCS-2) x 1 person",
        "  UCS-2 because of: ’, 🎉",
        "  Cannot be GSM-7: 🎉",
    ]
