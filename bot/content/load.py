"""Load the coordinators' content (``content/*.yaml``) into a validated, frozen Catalog.

:func:`load_catalog` reads every ``*.yaml`` / ``*.yml`` file of a folder and returns a
:class:`~bot.core.catalog.Catalog` the rest of the bot can trust: every text in English and
Urdu, ids that fit Telegram callback data, keywords normalised and owned by exactly one
answer, English SMS texts in one GSM-7 segment, every system text and Telegram label present.
:func:`summarize` turns a Catalog into counts for ``outreach content check``.

What can go wrong: anything wrong with the folder or the files - unreadable or malformed
YAML, an unknown or missing key, a duplicate id, keyword or FAQ number, a text too long for
one SMS - raises one :class:`ContentError` that lists *every* problem found, one per line as
``file:line: key.path: what is wrong``, so a coordinator can fix them all in one go.

A file holds a mapping with any of these top-level keys (``commands``, ``interests`` and
``cities`` in one file only; answers, system texts and labels may be spread over files)::

    answers:
      - id: jobs                  # ^[a-z][a-z0-9_]{0,40}$, unique across all files
        kind: topic               # topic | faq | program | job
        number: 3                 # FAQs only: 1..N, no gaps
        title: {en: ..., ur: ...}
        button: {en: ..., ur: ...}  # optional short button label, at most 32 characters
        sms: {en: ..., ur: ...}   # English: GSM-7, at most 160 characters
        full: {en: ..., ur: ...}  # Telegram text, at most 4096 characters
        keywords: [jobs, naukri, نوکری]
    system:
      welcome: {en: ..., ur: ...}  # every key of SYSTEM_KEYS
    commands:                      # Telegram's command menu (set_my_commands), in order
      start: {en: ..., ur: ...}    # name: 1-32 of [a-z0-9_]; description 1-256 characters
    interests:                     # announcement topics a subscriber can follow
      - {id: training, en: ..., ur: ...}  # "sub:t:<id>" fits 64 bytes; label <= 32 chars
    cities:
      dhanote: {en: ..., ur: ...}  # "sub:c:<id>" fits 64 bytes; label <= 32 chars
    labels:
      menu: {en: ..., ur: ...}     # every key of LABEL_KEYS; button labels <= 32 chars
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict, get_args

from bot.content import _yaml_nodes as yn
from bot.content._yaml_nodes import Problem
from bot.core.catalog import (
    BUTTON_LABEL_KEYS,
    BUTTON_LABEL_MAX,
    LABEL_KEYS,
    LANGS,
    SYSTEM_KEYS,
    Answer,
    AnswerKind,
    Catalog,
    Choice,
    Command,
    LocalText,
    build_catalog,
)
from bot.core.lexicon import RESERVED_KEYWORDS
from bot.core.menus import SubscribeAction, callback_size
from bot.core.normalize import normalize
from bot.core.segments import GSM_SINGLE, count_segments
from bot.core.telegram_text import CALLBACK_DATA_LIMIT

__all__ = ["ContentError", "ContentSummary", "Problem", "load_catalog", "summarize"]

_ID = re.compile(r"[a-z][a-z0-9_]{0,40}")
_KINDS: tuple[AnswerKind, ...] = get_args(AnswerKind)
# Lists defined once (in one file); the other top-level keys may be spread over files.
_ONCE = ("commands", "interests", "cities")
_TOP_KEYS = ("answers", "system", *_ONCE, "labels")
_EXPECTED_TOP = ", ".join(f"'{key}:'" for key in _TOP_KEYS)
_ANSWER_KEYS = ("id", "kind", "number", "title", "button", "sms", "full", "keywords")
_REQUIRED_ANSWER_KEYS = ("id", "kind", "title", "sms", "full")
_TELEGRAM_MAX = 4096
_CONTACT = "{contact}"
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")  # Telegram's rule for a command name
_COMMANDS_MAX = 100
_DESCRIPTION_MAX = 256
_CHOICE_ID = re.compile(r"[a-z][a-z0-9_]*")
_LABEL_PLACEHOLDERS = {"subscribed_summary": ("{topics}", "{city}")}


class ContentError(Exception):
    """The content is not valid; ``problems`` holds everything found."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ContentSummary(TypedDict):
    """What :func:`summarize` reports (JSON-ready)."""

    version: str
    answers: int
    kinds: dict[str, int]  # answers per kind
    languages: dict[str, int]  # answers whose title, sms and full all exist in that language
    system: int  # system texts
    commands: int  # Telegram commands
    interests: int  # announcement topics a subscriber can follow
    cities: int
    labels: int  # Telegram labels


def load_catalog(directory: Path) -> Catalog:
    """Read and validate every YAML file in ``directory`` and return the Catalog.

    Raises :class:`ContentError` when the folder is missing, holds no YAML file, or anything
    in the files is invalid; the error lists all problems, not just the first.
    """
    files = _content_files(directory)
    loader = _Loader()
    for path in files:
        loader.load_file(path)
    catalog = loader.finish(directory, _version(files))
    if loader.problems:
        raise ContentError(sorted(loader.problems, key=lambda p: (p.file, p.line or 0)))
    return catalog


def summarize(catalog: Catalog) -> ContentSummary:
    """Counts per kind and per language, for ``outreach content check``."""
    return ContentSummary(
        version=catalog.version,
        answers=len(catalog.answers),
        kinds={kind: len(catalog.of_kind(kind)) for kind in _KINDS},
        languages={
            lang: sum(1 for a in catalog.answers if _has_language(a, lang)) for lang in LANGS
        },
        system=len(catalog.system),
        commands=len(catalog.commands),
        interests=len(catalog.interests),
        cities=len(catalog.cities),
        labels=len(catalog.labels),
    )


def _has_language(answer: Answer, lang: str) -> bool:
    return all(getattr(text, lang) for text in (answer.title, answer.sms, answer.full))


def _content_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise ContentError([Problem(str(directory), None, "", "not a folder (or missing)")])
    files = sorted(
        p
        for p in directory.iterdir()
        if p.suffix in (".yaml", ".yml") and not p.name.startswith(".") and p.is_file()
    )
    if not files:
        raise ContentError([Problem(str(directory), None, "", "no .yaml files in this folder")])
    return files


def _version(files: list[Path]) -> str:
    """First 12 hex digits of a sha256 over the sorted file names and their bytes."""
    digest = hashlib.sha256()
    for path in files:
        # Length prefixes keep ("ab", "c") and ("a", "bc") from hashing alike.
        for part in (path.name.encode(), path.read_bytes()):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    return digest.hexdigest()[:12]


# --- Files -> entries -> Catalog ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Entry:
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


class _Loader:
    """Validates files one by one, then what spans files (ids, keywords, FAQ numbers)."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.entries: list[_Entry] = []
        self.system: dict[str, tuple[LocalText, str]] = {}  # key -> (text, "file:line")
        self.system_block: tuple[yn.SourceFile, int] | None = None  # the first `system:` seen
        self.labels: dict[str, tuple[LocalText, str]] = {}  # key -> (text, "file:line")
        self.labels_block: tuple[yn.SourceFile, int] | None = None  # the first `labels:` seen
        self.once: dict[str, str] = {}  # "commands" / "interests" / "cities" -> "file:line"
        self.commands: tuple[Command, ...] = ()
        self.interests: tuple[Choice, ...] = ()
        self.cities: tuple[Choice, ...] = ()
        self.all_parsed = True  # False when a file could not be parsed at all

    def load_file(self, path: Path) -> None:
        src = yn.SourceFile(path, self.problems)
        root = src.parse(_EXPECTED_TOP)
        if root is None:
            self.all_parsed = False
            return
        top = yn.fields(src, root, "", required=(), allowed=_TOP_KEYS)
        if top is None:
            return
        if not top:
            src.problem(root.line, "", f"expected one of {_EXPECTED_TOP}")
        if "answers" in top:
            self._load_answers(src, top["answers"])
        if "system" in top:
            self._load_system(src, top["system"])
        for name in _ONCE:
            if name in top:
                self._load_once(src, name, top[name])
        if "labels" in top:
            self._load_labels(src, top["labels"])

    def _load_answers(self, src: yn.SourceFile, node: yn.Node) -> None:
        if not isinstance(node.value, list):
            src.problem(node.line, "answers", f"expected a list, got {yn.describe(node.value)}")
            return
        for index, item in enumerate(node.value):
            entry = _entry(src, item, f"answers[{index}]")
            if entry is not None:
                self.entries.append(entry)

    def _load_system(self, src: yn.SourceFile, node: yn.Node) -> None:
        texts = yn.fields(src, node, "system", required=(), allowed=SYSTEM_KEYS)
        if texts is None:
            return
        if self.system_block is None:
            self.system_block = (src, node.line)
        for name, text_node in texts.items():
            key = f"system.{name}"
            if name in self.system:
                src.problem(text_node.line, key, f"defined twice (also at {self.system[name][1]})")
                continue
            text = _system_text(src, text_node, key, name)
            if text is not None:
                self.system[name] = (text, src.at(text_node.line))

    def _load_once(self, src: yn.SourceFile, name: str, node: yn.Node) -> None:
        if name in self.once:
            src.problem(node.line, name, f"defined twice (also at {self.once[name]})")
            return
        self.once[name] = src.at(node.line)
        if name == "commands":
            self.commands = _commands(src, node)
        elif name == "interests":
            self.interests = _interests(src, node)
        else:
            self.cities = _cities(src, node)

    def _load_labels(self, src: yn.SourceFile, node: yn.Node) -> None:
        texts = yn.fields(src, node, "labels", required=(), allowed=LABEL_KEYS)
        if texts is None:
            return
        if self.labels_block is None:
            self.labels_block = (src, node.line)
        for name, text_node in texts.items():
            key = f"labels.{name}"
            if name in self.labels:
                src.problem(text_node.line, key, f"defined twice (also at {self.labels[name][1]})")
                continue
            text = _label(src, text_node, key, name)
            if text is not None:
                self.labels[name] = (text, src.at(text_node.line))

    def finish(self, directory: Path, version: str) -> Catalog:
        """Run the cross-file checks and assemble the Catalog (answers by kind, FAQs by number);
        it is only usable when no problem was recorded."""
        self._check_ids()
        self._check_keywords()
        self._check_faq_numbers()
        if self.all_parsed:  # else the missing texts may well be in the broken file
            self._check_complete(directory, "system", SYSTEM_KEYS, self.system, self.system_block)
            self._check_complete(directory, "labels", LABEL_KEYS, self.labels, self.labels_block)
            for name in _ONCE:
                if name not in self.once:
                    self.problems.append(
                        Problem(str(directory), None, name, "missing (the Telegram menus need it)")
                    )
        order = {kind: i for i, kind in enumerate(_KINDS)}
        answers = sorted(
            (e.answer for e in self.entries if e.answer is not None),
            key=lambda a: (order[a.kind], a.number or 0),
        )
        return build_catalog(
            version,
            tuple(answers),
            {name: text for name, (text, _) in self.system.items()},
            commands=self.commands,
            interests=self.interests,
            cities=self.cities,
            labels={name: text for name, (text, _) in self.labels.items()},
        )

    def _check_ids(self) -> None:
        first_of: dict[str, _Entry] = {}
        for entry in self.entries:
            if entry.answer_id is None:
                continue
            first = first_of.setdefault(entry.answer_id, entry)
            if first is not entry:
                entry.file.problem(
                    entry.line,
                    f"{entry.key}.id",
                    f"duplicate id '{entry.answer_id}' (also at {first.file.at(first.line)})",
                )

    def _check_keywords(self) -> None:
        owner: dict[str, tuple[_Entry, int]] = {}
        for entry in self.entries:
            for keyword, line in entry.keyword_lines.items():
                first, first_line = owner.setdefault(keyword, (entry, line))
                if first is not entry:
                    entry.file.problem(
                        line,
                        f"{entry.key}.keywords",
                        f"keyword '{keyword}' is used by both '{first.key}' "
                        f"({first.file.at(first_line)}) and '{entry.key}'",
                    )

    def _check_faq_numbers(self) -> None:
        faqs = [e for e in self.entries if e.kind == "faq"]
        first_of: dict[int, _Entry] = {}
        for entry in faqs:
            if entry.number is None:
                continue
            first = first_of.setdefault(entry.number, entry)
            if first is not entry:
                entry.file.problem(
                    entry.number_line,
                    f"{entry.key}.number",
                    f"FAQ number {entry.number} is also used by '{first.key}' "
                    f"({first.file.at(first.number_line)})",
                )
        missing = sorted(set(range(1, len(faqs) + 1)) - first_of.keys())
        for number, entry in sorted(first_of.items()):
            if missing and number > len(faqs):
                entry.file.problem(
                    entry.number_line,
                    f"{entry.key}.number",
                    f"FAQ numbers must run 1..{len(faqs)} without gaps "
                    f"(missing: {', '.join(map(str, missing))})",
                )

    def _check_complete(
        self,
        directory: Path,
        block: str,
        keys: tuple[str, ...],
        found: Mapping[str, object],
        where: tuple[yn.SourceFile, int] | None,
    ) -> None:
        missing = [name for name in keys if name not in found]
        if not missing:
            return
        what = "system text(s)" if block == "system" else "label(s)"
        message = f"missing {what}: {', '.join(missing)}"
        if where is None:
            self.problems.append(Problem(str(directory), None, block, message))
        else:
            src, line = where
            src.problem(line, block, message)


# --- Checks on one entry ------------------------------------------------------------------------


def _entry(src: yn.SourceFile, node: yn.Node, label: str) -> _Entry | None:
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
    keyword_lines = _keywords(src, found.get("keywords"), f"{key}.keywords")
    answer = None
    if answer_id and kind and title and sms and full and (kind != "faq" or number is not None):
        keywords = tuple(keyword_lines)
        answer = Answer(answer_id, kind, title, sms, full, keywords, number, button)
    number_line = found["number"].line if "number" in found else node.line
    return _Entry(key, answer_id, kind, number, number_line, src, node.line, keyword_lines, answer)


def _answer_id(src: yn.SourceFile, node: yn.Node | None, label: str) -> str | None:
    if node is None:
        return None  # reported as a missing key
    value = yn.text(src, node, f"{label}.id")
    if value is None or _ID.fullmatch(value):
        return value
    src.problem(
        node.line,
        f"{label}.id",
        f"id '{value}' does not match ^[a-z][a-z0-9_]{{0,40}}$ "
        "(lowercase letters, digits and _, starting with a letter)",
    )
    return None


def _kind(src: yn.SourceFile, node: yn.Node | None, key: str) -> AnswerKind | None:
    if node is None:
        return None
    for kind in _KINDS:
        if node.value == kind:
            return kind
    expected = ", ".join(_KINDS)
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
        for lang in LANGS:
            if "\n" in text.get(lang):
                src.problem(yn.line_of(node, lang), f"{key}.{lang}", "a title must be one line")
    return text


def _sms(src: yn.SourceFile, node: yn.Node | None, key: str) -> LocalText | None:
    text = yn.local_text(src, node, key)
    if node is not None and text is not None:
        _check_one_sms(src, yn.line_of(node, "en"), f"{key}.en", text.en)
    return text


def _full(src: yn.SourceFile, node: yn.Node | None, key: str) -> LocalText | None:
    text = yn.local_text(src, node, key)
    if node is not None and text is not None:
        for lang in LANGS:
            size = len(text.get(lang))
            if size > _TELEGRAM_MAX:
                src.problem(
                    yn.line_of(node, lang),
                    f"{key}.{lang}",
                    f"longer than one Telegram message ({size} > {_TELEGRAM_MAX} characters)",
                )
    return text


def _check_one_sms(src: yn.SourceFile, line: int, key: str, text: str) -> None:
    """English SMS texts must go out as one GSM-7 segment."""
    info = count_segments(text)
    if info.encoding != "GSM-7":
        shown = ", ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in info.non_gsm)
        src.problem(
            line,
            key,
            f"not GSM-7: {shown} would make the SMS UCS-2; use plain ASCII quotes and hyphens",
        )
    elif info.units > GSM_SINGLE:
        src.problem(line, key, f"longer than {GSM_SINGLE} GSM-7 characters ({info.units})")


def _keywords(src: yn.SourceFile, node: yn.Node | None, key: str) -> dict[str, int]:
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
    keyword = normalize(node.value)
    if not keyword:
        src.problem(node.line, key, f"keyword {node.value!r} has no letters or digits")
    elif keyword in RESERVED_KEYWORDS:
        src.problem(
            node.line,
            key,
            f"'{node.value}' is a reserved compliance/command word and cannot be a keyword",
        )
    else:
        return keyword
    return None


def _system_text(src: yn.SourceFile, node: yn.Node, key: str, name: str) -> LocalText | None:
    """A system text: one GSM-7 segment in English; ``{contact}`` exactly once in ``help``."""
    text = yn.local_text(src, node, key)
    if text is None:
        return None
    _check_one_sms(src, yn.line_of(node, "en"), f"{key}.en", text.en)
    for lang in LANGS:
        value, line = text.get(lang), yn.line_of(node, lang)
        placeholders = value.count(_CONTACT)
        if "{" in value.replace(_CONTACT, "") or "}" in value.replace(_CONTACT, ""):
            src.problem(line, f"{key}.{lang}", f"braces are only allowed in {_CONTACT}")
        elif name == "help" and placeholders != 1:
            src.problem(line, f"{key}.{lang}", f"must contain {_CONTACT} exactly once")
        elif name != "help" and placeholders:
            src.problem(line, f"{key}.{lang}", f"{_CONTACT} is only filled in for 'help'")
    return text


# --- Telegram: commands, interests, cities, labels ----------------------------------------------


def _commands(src: yn.SourceFile, node: yn.Node) -> tuple[Command, ...]:
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


def _interests(src: yn.SourceFile, node: yn.Node) -> tuple[Choice, ...]:
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


def _cities(src: yn.SourceFile, node: yn.Node) -> tuple[Choice, ...]:
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


def _label(src: yn.SourceFile, node: yn.Node, key: str, name: str) -> LocalText | None:
    """A label: one short line on a button; placeholders only where they are filled in."""
    if name in BUTTON_LABEL_KEYS:
        text = _one_line(src, node, key, BUTTON_LABEL_MAX)
    else:
        text = yn.local_text(src, node, key)
    if text is None:
        return None
    expected = _LABEL_PLACEHOLDERS.get(name, ())
    for lang in LANGS:
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
    for lang in LANGS:
        value, line = text.get(lang), yn.line_of(node, lang)
        if "\n" in value:
            src.problem(line, f"{key}.{lang}", "must be one line")
        elif len(value) > limit:
            src.problem(line, f"{key}.{lang}", f"longer than {limit} characters ({len(value)})")
    return text
