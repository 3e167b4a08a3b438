"""What a coordinator sees before an announcement goes out: SMS segments and cost per language,
what replacing typographic characters would save, and how long sending takes.

Cost is exact :class:`~decimal.Decimal` arithmetic, rounded half-up to 2 places only at the
end, so the total is the rounded exact total (it may differ by a paisa from the sum of the
rounded per-language costs).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from bot.core.catalog import LANGS, Lang
from bot.core.rule_text import format_fire
from bot.core.segments import SegmentInfo, count_segments, is_gsm7

# Typographic characters with a plain GSM-7 stand-in (Twilio's "smart encoding" does the same).
_REPLACEMENTS = {
    **dict.fromkeys("‘’‚‛′`´", "'"),  # quotes, primes, accents
    **dict.fromkeys("“”„‟″«»", '"'),
    **dict.fromkeys("‐‑‒–—―−", "-"),  # hyphens, dashes, minus
    **dict.fromkeys([*map(chr, range(0x2000, 0x200B)), "\u00a0", "\u202f", "\u205f"], " "),
    **dict.fromkeys("\u200b\ufeff", ""),  # zero-width space, byte-order mark
    "…": "...",
    "•": "-",
    "×": "x",
    "÷": "/",
}
_CENT = Decimal("0.01")
_SMS = "sms"
_CHANNEL_LABELS = {"telegram": "Telegram", "sms": "SMS"}


def _plain(ch: str) -> str:
    if is_gsm7(ch):
        return ch
    if ch in _REPLACEMENTS:
        return _REPLACEMENTS[ch]
    # An accented Latin letter outside GSM-7 (á, ç, ō) loses its accent: á -> a.
    base = unicodedata.normalize("NFD", ch)[0]
    return base if base.isascii() and base.isalpha() and is_gsm7(base) else ch


def fix_gsm(text: str) -> str:
    """``text`` with typographic characters replaced by GSM-7 ones: curly quotes -> straight,
    dashes -> ``-``, ``…`` -> ``...``, no-break and other spaces -> `` ``, accents dropped where
    the letter is not GSM-7. Urdu, emoji and anything else without a stand-in stay as they are.
    GSM-7 text comes back unchanged; applying it twice changes nothing more.
    """
    return "".join(_plain(ch) for ch in text)


@dataclass(frozen=True, slots=True)
class LangCost:
    """One language version of an SMS announcement.

    ``segments`` describes one message. ``gsm_if_replaced`` is the count after :func:`fix_gsm`
    when that makes the text GSM-7, and None when it is already GSM-7 or cannot become GSM-7;
    ``unreplaceable`` then names what stays (Urdu letters, emoji).
    """

    lang: Lang
    recipients: int
    segments: SegmentInfo
    gsm_if_replaced: SegmentInfo | None
    unreplaceable: tuple[str, ...]
    total_segments: int
    cost: Decimal
    cost_if_replaced: Decimal | None


@dataclass(frozen=True, slots=True)
class SmsCost:
    """Per-language versions (in :data:`LANGS` order) with the totals over all of them."""

    langs: tuple[LangCost, ...]
    price_per_segment: Decimal
    total_segments: int
    total_cost: Decimal

    def lang(self, lang: Lang) -> LangCost:
        return next(c for c in self.langs if c.lang == lang)


def money(amount: Decimal) -> Decimal:
    """``amount`` to the cent (half up), as costs are shown."""
    return amount.quantize(_CENT, rounding=ROUND_HALF_UP)


def _lang_cost(lang: Lang, text: str, recipients: int, price: Decimal) -> LangCost:
    info = count_segments(text)
    fixed = count_segments(fix_gsm(text)) if info.encoding == "UCS-2" else None
    replaced = fixed if fixed is not None and fixed.encoding == "GSM-7" else None
    return LangCost(
        lang=lang,
        recipients=recipients,
        segments=info,
        gsm_if_replaced=replaced,
        unreplaceable=fixed.non_gsm if fixed is not None else (),
        total_segments=info.segments * recipients,
        cost=money(info.segments * recipients * price),
        cost_if_replaced=money(replaced.segments * recipients * price) if replaced else None,
    )


def sms_cost(
    text_by_lang: Mapping[Lang, str],
    recipients_by_lang: Mapping[Lang, int],
    price_per_segment: Decimal,
) -> SmsCost:
    """Segments and cost of sending each language version to its recipients.

    A language with recipients but no text of its own gets the English text (the fallback).
    ``ValueError`` for negative counts or price, or recipients with no text to send.
    """
    if price_per_segment < 0:
        raise ValueError(f"price per segment must not be negative, got {price_per_segment}")
    langs = [lang for lang in LANGS if lang in text_by_lang or recipients_by_lang.get(lang)]
    parts: list[LangCost] = []
    for lang in langs:
        recipients = recipients_by_lang.get(lang, 0)
        if recipients < 0:
            raise ValueError(f"recipients for {lang} must not be negative, got {recipients}")
        text = text_by_lang.get(lang) or text_by_lang.get("en")
        if text is None:
            raise ValueError(f"{recipients} {lang} recipients but no {lang} or English text")
        parts.append(_lang_cost(lang, text, recipients, price_per_segment))
    total = sum(p.total_segments for p in parts)
    return SmsCost(
        langs=tuple(parts),
        price_per_segment=price_per_segment,
        total_segments=total,
        total_cost=money(total * price_per_segment),
    )


def send_duration(
    recipients_by_channel: Mapping[str, int],
    rates_per_second: Mapping[str, float],
    segments_per_sms: float = 1,
) -> timedelta:
    """How long sending takes when every channel goes at its rate, all channels at once.

    The SMS rate counts segments (as providers' messages-per-second limits do), so SMS time is
    recipients x ``segments_per_sms`` / rate. ``ValueError`` for a channel with recipients and
    no positive rate.
    """
    longest = 0.0
    for channel, recipients in recipients_by_channel.items():
        if recipients <= 0:
            continue
        rate = rates_per_second.get(channel, 0.0)
        if rate <= 0:
            raise ValueError(f"no sending rate for {channel!r} (messages per second)")
        units = recipients * (segments_per_sms if channel == _SMS else 1)
        longest = max(longest, units / rate)
    return timedelta(seconds=round(longest, 3))


def human_duration(span: timedelta) -> str:
    """``"5 min 33 s"``, ``"2 h 5 min"``, ``"under 1 s"``."""
    seconds = int(span.total_seconds())
    if seconds < 1:
        return "under 1 s"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


_ARABIC_SCRIPT = (
    ("\u0600", "\u06ff"),
    ("\u0750", "\u077f"),
    ("\ufb50", "\ufdff"),
    ("\ufe70", "\ufefe"),
)


def _is_urdu(ch: str) -> bool:
    return any(lo <= ch <= hi for lo, hi in _ARABIC_SCRIPT)


def name_chars(chars: Sequence[str], limit: int = 6) -> str:
    """The characters that force UCS-2, readably: ``’ “ ”``, ``no-break space``, ``Urdu
    script``; at most ``limit`` items, then "and N more"."""
    items: list[str] = []
    for ch in chars:
        if _is_urdu(ch):
            item = "Urdu script"
        elif ch.isprintable() and not ch.isspace():
            item = ch
        else:
            item = unicodedata.name(ch, f"U+{ord(ch):04X}").lower()
        if item not in items:
            items.append(item)
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else many or one + 's'}"


def render_preview(
    cost: SmsCost,
    recipients_by_channel: Mapping[str, int],
    duration: timedelta,
    *,
    currency: str = "PKR",
    when: str | None = None,
    next_times: Sequence[datetime] = (),
) -> list[str]:
    """Short plain-text lines for the CLI and a Telegram message."""
    reach = ", ".join(
        f"{n:,} {_CHANNEL_LABELS.get(ch, ch)}" for ch, n in recipients_by_channel.items()
    )
    lines = [f"Recipients: {reach or 'none'}"]
    for part in cost.langs:
        info = part.segments
        line = f"SMS {part.lang}: {_count(info.segments, 'segment')} ({info.encoding})"
        lines.append(f"{line} x {_count(part.recipients, 'person', 'people')}")
        stuck = part.unreplaceable
        if info.non_gsm:
            note = " (cannot be GSM-7)" if set(stuck) == set(info.non_gsm) else ""
            lines.append(f"  UCS-2 because of: {name_chars(info.non_gsm)}{note}")
        replaced = part.gsm_if_replaced
        if replaced is not None and part.cost_if_replaced is not None:
            # Only worth saying when it saves: "..." for "…" can make a text longer.
            if replaced.segments < info.segments:
                saved = part.cost - part.cost_if_replaced
                lines.append(
                    f"  With plain characters: {_count(replaced.segments, 'segment')}"
                    f" (GSM-7), saves {currency} {saved:,.2f}"
                )
        elif stuck and set(stuck) != set(info.non_gsm):
            lines.append(f"  Cannot be GSM-7: {name_chars(stuck)}")
    lines.append(
        f"SMS cost: {currency} {cost.total_cost:,.2f} "
        f"({_count(cost.total_segments, 'segment')} at {currency} {cost.price_per_segment})"
    )
    about = "about " if duration >= timedelta(seconds=1) else ""
    lines.append(f"Sending time: {about}{human_duration(duration)}")
    if when:
        lines.append(f"When: {when}")
    if next_times:
        lines.append(f"Next: {', '.join(format_fire(t) for t in next_times)}")
    return lines
