"""The fields of a content file, one reader each: every reader records what is wrong with its
node as a :class:`~bot.content._yaml_nodes.Problem` (file, line, key) and returns None for it.

:mod:`bot.content.load` walks the files and checks what spans them; what one node may hold
(an id, a kind, a text per language, an SMS in one segment, keywords, commands, choices,
labels) is checked here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.content import _yaml_nodes as yn
from bot.core.catalog import (
    BUTTON_LABEL_KEYS,
    BUTTON_LABEL_MAX,
    CONTENT_KINDS,
    Answer,
    AnswerKind,
    Choice,
    Command,
    LocalText,
)
from bot.core.lexicon import RESERVED_KEYWORDS
from bot.core.menus import SubscribeAction, callback_size
from bot.core.normalize import normalize
from bot.core.segments import GSM_SINGLE, count_segments
from bot.core.telegram_text import CALLBACK_DATA_LIMIT

_ANSWER_ID = re.compile(r"[a-z][a-z0-9_]{0,40}")
KINDS: tuple[AnswerKind, ...] = CONTENT_KINDS  # "added" answers come from the database
_ANSWER_KEYS = ("id", "kind", "number", "title", "button", "sms", "full", "keywords")
_REQUIRED_ANSWER_KEYS = ("id", "kind", "title", "sms", "full")
_TELEGRAM_MAX = 4096
_CONTACT = "{contact}"
_MINUTES = "{minutes}"
# The system texts that have a placeholder, and which.
_PLACEHOLDERS = {"help": _CONTACT, "cost_guard": _MINUTES, "loop_guard": _MINUTES}
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")  # Telegram's rule for a command name
_COMMANDS_MAX = 100
_DESCRIPTION_MAX = 256
_CHOICE_ID = re.compile(r"[a-z][a-z0-9_]*")
ROMAN = "ur-Latn"  # the key of a Roman Urdu text
_LABEL_PLACEHOLDERS = {"subscribed_summary": ("{topics}", "{city}")}


@dataclass(frozen=True, slots=True)
class Entry:
    """One answer entry as read, valid or not, and where it is (for the cross-file checks).

    ``key`` is its id, or ``answers[i]`` when the id is unusable; ``line`` is the line of the
    entry and ``number_line`` of its ``number:``; ``answer`` is None when the entry has
    problems of its own.
    """

    key: str
    answer_id: str | None
    kind: AnswerKind | None
    number: int | None
    number_line: int
    file: yn.SourceFile
    line: int
    keyword_lines: Mapping[str, int]
    answer: Answer | None


def entry(src: yn.SourceFile, node: yn.Node, label: str) -> Entry | None:
    """Check one answer entry, recording its problems; None when it is not even a mapping."""
    found = yn.mapping(src, node, label)
    if found is None:
        return None
    answer_id = _answer_id(src, found.get("id"), label)
    key = answer_id or label
    yn.check_keys(src, found, node.line, key, required=_REQUIRED_ANSWER_KEYS, allowed=_ANSWER_KEYS)
    kind = _kind(src, found.get("kind"), key)
    number = _number(src, found.get("number"), node.line, key, kind)
    title = _title(src, found.get("title"), f"{key}.title")
    button = _one_line(src, found.get("button"), f"{key}.button", BUTTON_LABEL_MAX)
    sms = _sms(src, found.get("sms"), f"{key}.sms")
    full = _full(src, found.get("full"), f"{key}.full")
    keyword_lines = keyword_list(src, found.get("keywords"), f"{key}.keywords")
    answer = None
    if answer_id and kind and title and sms and full and (kind != "faq" or number is not None):
        keywords = tuple(keyword_lines)
        answer = Answer(answer_id, kind, title, sms, full, keywords, number, button)
    number_line = found["number"].line if "number" in found else node.line
    return Entry(key, answer_id, kind, number, number_line, src, node.line, keyword_lines, answer)


def _answer_id(src: yn.SourceFile, node: yn.Node | None, label: str) -> str | None:
    if node is None:
        return None  # reported as a missing key
    value = yn.text(src, node, f"{label}.id")
    problem = None if value is None else answer_id_problem(value)
    if problem is None:
        return value
    src.problem(node.line, f"{label}.id", problem)
    return None


def answer_id_problem(value: str) -> str | None:
    """Why ``value`` cannot be an answer id (it goes into Telegram callback data), or None."""
    if _ANSWER_ID.fullmatch(value):
        return None
    return (
        f"id '{value}' does not match ^[a-z][a-z0-9_]{{0,40}}$ "
        "(lowercase letters, digits and _, starting with a letter)"
    )


def _kind(src: yn.SourceFile, node: yn.Node | None, key: str) -> AnswerKind | None:
    if node is None:
        return None
    for kind in KINDS:
        if node.value == kind:
            return kind
    expected = ", ".join(KINDS)
    src.problem(node.line, f"{key}.kind", f"expected one of {expected}, got {node.value!r}")
    return None


def _number(
    src: yn.SourceFile, node: yn.Node | None, entry_line: int, key: str, kind: AnswerKind | None
) -> int | None:
    if kind != "faq":
        if node is not None and kind is not None:
            src.problem(node.line, f"{key}.number", "only FAQ entries (kind: faq) have a number")
        return None
    if node is None:
        src.problem(entry_line, f"{key}.number", "missing (every FAQ needs its number)")
        return None
    value = node.value
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        src.problem(node.line, f"{key}.number", f"expected a whole number from 1, got {value!r}")
        return None
    return value


def _title(src: yn.SourceFile, node: yn.Node | None, key: str) -> LocalText | None:
    text = yn.local_text(src, node, key)
    if node is not None and text is not None:
        for lang in text.present():
            if "\n" in text.get(lang):
                src.problem(yn.line_of(node, lang), f"{key}.{lang}", "a title must be one line")
    return text


def _sms(src: yn.SourceFile, node: yn.Node | None, key: str) -> LocalText | None:
    text = yn.local_text(src, node, key)
    if node is not None and text is not None:
        _check_gsm_texts(src, node, key, text)
    return text


def _check_gsm_texts(src: yn.SourceFile, node: yn.Node, key: str, text: LocalText) -> None:
    """English and Roman Urdu (required here) are each one GSM-7 segment."""
    _check_one_sms(src, yn.line_of(node, "en"), f"{key}.en", text.en)
    if text.ur_latn is None:
        src.problem(
            node.line, f"{key}.{ROMAN}", f"missing (the Roman Urdu SMS text, key '{ROMAN}')"
        )
    else:
        _check_one_sms(src, yn.line_of(node, ROMAN), f"{key}.{ROMAN}", text.ur_latn)


def _full(src: yn.SourceFile, node: yn.Node | None, key: str) -> LocalText | None:
    text = yn.local_text(src, node, key)
    if node is not None and text is not None:
        for lang in text.present():
            problem = telegram_problem(text.get(lang))
            if problem is not None:
                src.problem(yn.line_of(node, lang), f"{key}.{lang}", problem)
    return text


def telegram_problem(text: str) -> str | None:
    """Why ``text`` cannot be one Telegram message, or None."""
    if len(text) > _TELEGRAM_MAX:
        return f"longer than one Telegram message ({len(text)} > {_TELEGRAM_MAX} characters)"
    return None


def one_sms_problem(text: str) -> str | None:
    """Why ``text`` does not go out as one GSM-7 segment (as English and Roman Urdu SMS texts
    must), or None."""
    info = count_segments(text)
    if info.encoding != "GSM-7":
        shown = ", ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in info.non_gsm)
        return f"not GSM-7: {shown} would make the SMS UCS-2; use plain ASCII quotes and hyphens"
    if info.units > GSM_SINGLE:
        return f"longer than {GSM_SINGLE} GSM-7 characters ({info.units})"
    return None


def _check_one_sms(src: yn.SourceFile, line: int, key: str, text: str) -> None:
    problem = one_sms_problem(text)
    if problem is not None:
        src.problem(line, key, problem)


def keyword_list(src: yn.SourceFile, node: yn.Node | None, key: str) -> dict[str, int]:
    """Normalised keyword -> line, in the order written (repeats within one answer merge)."""
    if node is None or node.value is None:
        return {}
    if not isinstance(node.value, list):
        src.problem(node.line, key, f"expected a list, got {yn.describe(node.value)}")
        return {}
    found: dict[str, int] = {}
    for item in node.value:
        keyword = _keyword(src, item, key)
        if keyword is not None:
            found.setdefault(keyword, item.line)
    return found


def _keyword(src: yn.SourceFile, node: yn.Node, key: str) -> str | None:
    if not isinstance(node.value, str):
        src.problem(node.line, key, f"a keyword must be text, got {yn.describe(node.value)}")
        return None
    keyword, problem = checked_keyword(node.value)
    if problem is not None:
        src.problem(node.line, key, problem)
    return keyword


def checked_keyword(raw: str) -> tuple[str | None, str | None]:
    """(the normalised keyword, None), or (None, why ``raw`` cannot be a keyword)."""
    keyword = normalize(raw)
    if not keyword:
        return None, f"keyword {raw!r} has no letters or digits"
    if keyword in RESERVED_KEYWORDS:
        return None, f"'{raw}' is a reserved compliance/command word and cannot be a keyword"
    return keyword, None


def system_text(src: yn.SourceFile, node: yn.Node, key: str, name: str) -> LocalText | None:
    """A system text: one GSM-7 segment in English and in Roman Urdu; its placeholder
    (``{contact}`` in ``help``, ``{minutes}`` in the guard notices) exactly once, and no other
    braces."""
    text = yn.local_text(src, node, key)
    if text is None:
        return None
    _check_gsm_texts(src, node, key, text)
    wanted = _PLACEHOLDERS.get(name)
    for lang in text.present():
        value, line = text.get(lang), yn.line_of(node, lang)
        found = [p for p in (_CONTACT, _MINUTES) if p in value]
        rest = value.replace(_CONTACT, "").replace(_MINUTES, "")
        if "{" in rest or "}" in rest:
            src.problem(line, f"{key}.{lang}", f"braces are only allowed in {_CONTACT}, {_MINUTES}")
        elif wanted is not None and value.count(wanted) != 1:
            src.problem(line, f"{key}.{lang}", f"must contain {wanted} exactly once")
        elif any(p != wanted for p in found):
            where = {p: ", ".join(k for k, v in _PLACEHOLDERS.items() if v == p) for p in found}
            bad = next(p for p in found if p != wanted)
            src.problem(line, f"{key}.{lang}", f"{bad} is only filled in for {where[bad]}")
    return text


# --- Telegram: commands, interests, cities, labels ----------------------------------------------


def commands(src: yn.SourceFile, node: yn.Node) -> tuple[Command, ...]:
    """``name: {en, ur}`` pairs, in order: names by Telegram's rule, descriptions one line."""
    found = yn.mapping(src, node, "commands")
    if found is None:
        return ()
    if not found:
        src.problem(node.line, "commands", "at least one command is needed")
    elif len(found) > _COMMANDS_MAX:
        src.problem(node.line, "commands", f"at most {_COMMANDS_MAX} commands ({len(found)})")
    commands = []
    for name, child in found.items():
        key = f"commands.{name}"
        if not _COMMAND.fullmatch(name):
            src.problem(
                child.line,
                key,
                f"command name '{name}' must be 1-32 lowercase letters, digits or _ "
                "(no slash, as Telegram requires)",
            )
            continue
        description = _one_line(src, child, key, _DESCRIPTION_MAX)
        if description is not None:
            commands.append(Command(name, description))
    return tuple(commands)


def interests(src: yn.SourceFile, node: yn.Node) -> tuple[Choice, ...]:
    """A list of ``{id, en, ur}``: unique ids that fit ``sub:t:<id>``, one-line labels."""
    entries = yn.items(src, node, "interests")
    if entries is None:
        return ()
    if not entries:
        src.problem(node.line, "interests", "at least one interest is needed")
    choices: list[Choice] = []
    first_line: dict[str, int] = {}
    for index, item in enumerate(entries):
        label = f"interests[{index}]"
        found = yn.mapping(src, item, label)
        if found is None:
            continue
        id_node = found.get("id")
        choice_id = None if id_node is None else yn.text(src, id_node, f"{label}.id")
        if id_node is None:
            src.problem(item.line, f"{label}.id", "missing")
        elif choice_id is not None:
            first = first_line.setdefault(choice_id, id_node.line)
            if first != id_node.line:
                message = f"duplicate id '{choice_id}' (also on line {first})"
                src.problem(id_node.line, f"{label}.id", message)
                choice_id = None
            elif not _choice_id(
                src, choice_id, id_node.line, f"{label}.id", SubscribeAction(interest=choice_id)
            ):
                choice_id = None
        key = f"interests.{choice_id}" if choice_id else label
        text = _one_line(src, item, key, BUTTON_LABEL_MAX, extra=("id",))
        if choice_id is not None and text is not None:
            choices.append(Choice(choice_id, text))
    return tuple(choices)


def cities(src: yn.SourceFile, node: yn.Node) -> tuple[Choice, ...]:
    """``id: {en, ur}`` pairs, in order: ids that fit ``sub:c:<id>``, one-line labels."""
    found = yn.mapping(src, node, "cities")
    if found is None:
        return ()
    if not found:
        src.problem(node.line, "cities", "at least one city is needed")
    choices = []
    for city_id, child in found.items():
        key = f"cities.{city_id}"
        valid = _choice_id(src, city_id, child.line, key, SubscribeAction(city=city_id))
        text = _one_line(src, child, key, BUTTON_LABEL_MAX)
        if valid and text is not None:
            choices.append(Choice(city_id, text))
    return tuple(choices)


def _choice_id(
    src: yn.SourceFile, value: str, line: int, key: str, button: SubscribeAction
) -> bool:
    """True for a valid interest or city id: lowercase, and short enough for the data of its
    ``button`` (``sub:t:<id>`` / ``sub:c:<id>``)."""
    if not _CHOICE_ID.fullmatch(value):
        message = f"id '{value}' must be lowercase letters, digits and _, starting with a letter"
    elif (size := callback_size(button)) > CALLBACK_DATA_LIMIT:
        message = f"id '{value}' is too long for its button data ({size} > 64 bytes)"
    else:
        return True
    src.problem(line, key, message)
    return False


def label(src: yn.SourceFile, node: yn.Node, key: str, name: str) -> LocalText | None:
    """A label: one short line on a button; placeholders only where they are filled in."""
    if name in BUTTON_LABEL_KEYS:
        text = _one_line(src, node, key, BUTTON_LABEL_MAX)
    else:
        text = yn.local_text(src, node, key)
    if text is None:
        return None
    expected = _LABEL_PLACEHOLDERS.get(name, ())
    for lang in text.present():
        value, line = text.get(lang), yn.line_of(node, lang)
        missing = [p for p in expected if value.count(p) != 1]
        rest = value
        for placeholder in expected:
            rest = rest.replace(placeholder, "")
        if missing:
            src.problem(line, f"{key}.{lang}", f"must contain {' and '.join(missing)} once")
        elif "{" in rest or "}" in rest:
            allowed = " and ".join(expected) if expected else "nothing here"
            src.problem(line, f"{key}.{lang}", f"braces: only {allowed} is filled in")
        elif len(value) > _TELEGRAM_MAX:
            src.problem(line, f"{key}.{lang}", f"longer than {_TELEGRAM_MAX} characters")
    return text


def _one_line(
    src: yn.SourceFile,
    node: yn.Node | None,
    key: str,
    limit: int,
    *,
    extra: tuple[str, ...] = (),
) -> LocalText | None:
    """A text in every language, each one line of at most ``limit`` characters."""
    text = yn.local_text(src, node, key, extra=extra)
    if node is None or text is None:
        return None
    for lang in text.present():
        value, line = text.get(lang), yn.line_of(node, lang)
        if "\n" in value:
            src.problem(line, f"{key}.{lang}", "must be one line")
        elif len(value) > limit:
            src.problem(line, f"{key}.{lang}", f"longer than {limit} characters ({len(value)})")
    return text
