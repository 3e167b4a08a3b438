"""Load the coordinators' content (``content/*.yaml``) into a validated, frozen Catalog.

:func:`load_catalog` reads every ``*.yaml`` / ``*.yml`` file of a folder and returns a
:class:`~bot.core.catalog.Catalog` the rest of the bot can trust: every text in English and
Urdu, ids that fit Telegram callback data, keywords normalised and owned by exactly one
answer, English SMS texts in one GSM-7 segment, every system text present.
:func:`summarize` turns a Catalog into counts for ``outreach content check``.

What can go wrong: anything wrong with the folder or the files - unreadable or malformed
YAML, an unknown or missing key, a duplicate id, keyword or FAQ number, a text too long for
one SMS - raises one :class:`ContentError` that lists *every* problem found, one per line as
``file:line: key.path: what is wrong``, so a coordinator can fix them all in one go.

A file holds a mapping with ``answers:`` (a list of answers), ``system:`` (a mapping of
system texts), or both::

    answers:
      - id: jobs                  # ^[a-z][a-z0-9_]{0,40}$, unique across all files
        kind: topic               # topic | faq | program | job
        number: 3                 # FAQs only: 1..N, no gaps
        title: {en: ..., ur: ...}
        sms: {en: ..., ur: ...}   # English: GSM-7, at most 160 characters
        full: {en: ..., ur: ...}  # Telegram text, at most 4096 characters
        keywords: [jobs, naukri, نوکری]
    system:
      welcome: {en: ..., ur: ...}  # every key of SYSTEM_KEYS
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict, get_args

import yaml

from bot.core.catalog import (
    LANGS,
    SYSTEM_KEYS,
    Answer,
    AnswerKind,
    Catalog,
    LocalText,
    build_catalog,
)
from bot.core.lexicon import RESERVED_KEYWORDS
from bot.core.normalize import normalize
from bot.core.segments import GSM_SINGLE, count_segments

__all__ = ["ContentError", "ContentSummary", "Problem", "load_catalog", "summarize"]

_ID = re.compile(r"[a-z][a-z0-9_]{0,40}")
_KINDS: tuple[AnswerKind, ...] = get_args(AnswerKind)
_TOP_KEYS = ("answers", "system")
_ANSWER_KEYS = ("id", "kind", "number", "title", "sms", "full", "keywords")
_REQUIRED_ANSWER_KEYS = ("id", "kind", "title", "sms", "full")
_TELEGRAM_MAX = 4096
_CONTACT = "{contact}"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the content: where it is and what is wrong.

    ``line`` is 1-based (None when the problem is not in a file, e.g. a missing folder);
    ``key`` is the key path such as ``faq_3.sms.en`` (empty for a file-level problem).
    """

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


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


def load_catalog(directory: Path) -> Catalog:
    """Read and validate every YAML file in ``directory`` and return the Catalog.

    Raises :class:`ContentError` when the folder is missing, holds no YAML file, or anything
    in the files is invalid; the error lists all problems, not just the first.
    """
    files = _content_files(directory)
    loader = _Loader()
    for path in files:
        loader.load_file(path)
    answers, system = loader.finish(directory)
    if loader.problems:
        raise ContentError(sorted(loader.problems, key=lambda p: (p.file, p.line or 0)))
    return build_catalog(_version(files), answers, system)


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


# --- YAML with line numbers ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Node:
    """A YAML value and the 1-based line it is on (for a mapping value: its key's line).

    ``value`` is a scalar (str, int, bool, None, date, ...), ``list[_Node]`` or
    ``dict[str, _Node]``.
    """

    value: object
    line: int


@dataclass
class _File:
    """One content file: parses it and records its problems into the shared list."""

    path: Path
    problems: list[Problem]
    _constructor: yaml.constructor.SafeConstructor = field(
        default_factory=yaml.constructor.SafeConstructor
    )

    def problem(self, line: int | None, key: str, message: str) -> None:
        self.problems.append(Problem(str(self.path), line, key, message))

    def at(self, line: int) -> str:
        return f"{self.path}:{line}"

    def parse(self) -> _Node | None:
        """The file as a node tree, or None when it cannot be read (a problem is recorded)."""
        text = self._read()
        if text is None:
            return None
        try:
            root = yaml.compose(text, Loader=_YAML_LOADER)
            tree = None if root is None else self._convert(root, root.start_mark.line + 1)
        except yaml.MarkedYAMLError as exc:
            self.problem(*_yaml_error(exc))
            return None
        except yaml.reader.ReaderError as exc:
            line = text.count("\n", 0, exc.position) + 1
            self.problem(line, "", f"invalid YAML: character {exc.character!r} is not allowed")
            return None
        if tree is None:
            self.problem(1, "", "the file is empty; expected 'answers:' or 'system:'")
        return tree

    def _read(self) -> str | None:
        try:
            return self.path.read_bytes().decode("utf-8-sig")
        except OSError as exc:
            self.problem(None, "", f"cannot read the file: {exc.strerror or exc}")
        except UnicodeDecodeError as exc:
            line = exc.object[: exc.start].count(b"\n") + 1
            self.problem(line, "", "not UTF-8 text; save the file as UTF-8")
        return None

    def _convert(self, node: yaml.Node, line: int) -> _Node:
        if isinstance(node, yaml.MappingNode):
            return _Node(self._convert_mapping(node), line)
        if isinstance(node, yaml.SequenceNode):
            items = [self._convert(item, item.start_mark.line + 1) for item in node.value]
            return _Node(items, line)
        try:
            return _Node(self._constructor.construct_object(node), line)
        except ValueError as exc:  # an explicit tag that does not fit, e.g. `!!int abc`
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is not a valid {node.tag}", node.start_mark
            ) from exc

    def _convert_mapping(self, node: yaml.MappingNode) -> dict[str, _Node]:
        items: dict[str, _Node] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            key = self._convert(key_node, line).value
            if not isinstance(key, str):
                self.problem(line, "", f"a key must be text, got {_describe(key)}")
            elif key in items:
                self.problem(line, key, f"key repeated (first on line {items[key].line})")
            else:
                items[key] = self._convert(value_node, line)
        return items


def _yaml_error(exc: yaml.MarkedYAMLError) -> tuple[int | None, str, str]:
    """(line, key, message) for a scanner or parser error, at the line PyYAML stopped."""
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    message = f"invalid YAML: {exc.problem or 'cannot parse'}"
    if exc.context and exc.context_mark is not None:
        message += f" ({exc.context} on line {exc.context_mark.line + 1})"
    elif exc.context:
        message += f" ({exc.context})"
    return line, "", message


def _describe(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"yes/no ({str(value).lower()}); put it in quotes to make it text"
    if isinstance(value, str):
        return "text"
    return f"{type(value).__name__} {value!r}"


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
    file: _File
    line: int
    keyword_lines: Mapping[str, int]
    answer: Answer | None


# libyaml's composer (when PyYAML was built with it) keeps line marks and is ~10x faster.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader:
    """Validates files one by one, then what spans files (ids, keywords, FAQ numbers)."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.entries: list[_Entry] = []
        self.system: dict[str, tuple[LocalText, str]] = {}  # key -> (text, "file:line")
        self.system_block: tuple[_File, int] | None = None  # the first `system:` seen
        self.all_parsed = True  # False when a file could not be parsed at all

    def load_file(self, path: Path) -> None:
        src = _File(path, self.problems)
        root = src.parse()
        if root is None:
            self.all_parsed = False
            return
        fields = _fields(src, root, "", required=(), allowed=_TOP_KEYS)
        if fields is None:
            return
        if not fields:
            src.problem(root.line, "", "expected 'answers:' or 'system:'")
        if "answers" in fields:
            self._load_answers(src, fields["answers"])
        if "system" in fields:
            self._load_system(src, fields["system"])

    def _load_answers(self, src: _File, node: _Node) -> None:
        if not isinstance(node.value, list):
            src.problem(node.line, "answers", f"expected a list, got {_describe(node.value)}")
            return
        for index, item in enumerate(node.value):
            entry = _entry(src, item, f"answers[{index}]")
            if entry is not None:
                self.entries.append(entry)

    def _load_system(self, src: _File, node: _Node) -> None:
        fields = _fields(src, node, "system", required=(), allowed=SYSTEM_KEYS)
        if fields is None:
            return
        if self.system_block is None:
            self.system_block = (src, node.line)
        for name, text_node in fields.items():
            key = f"system.{name}"
            if name in self.system:
                src.problem(text_node.line, key, f"defined twice (also at {self.system[name][1]})")
                continue
            text = _system_text(src, text_node, key, name)
            if text is not None:
                self.system[name] = (text, src.at(text_node.line))

    def finish(self, directory: Path) -> tuple[tuple[Answer, ...], dict[str, LocalText]]:
        """Run the cross-file checks; return the answers (by kind, FAQs by number) and texts."""
        self._check_ids()
        self._check_keywords()
        self._check_faq_numbers()
        if self.all_parsed:  # else the missing texts may well be in the broken file
            self._check_system_complete(directory)
        order = {kind: i for i, kind in enumerate(_KINDS)}
        answers = sorted(
            (e.answer for e in self.entries if e.answer is not None),
            key=lambda a: (order[a.kind], a.number or 0),
        )
        return tuple(answers), {name: text for name, (text, _) in self.system.items()}

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

    def _check_system_complete(self, directory: Path) -> None:
        missing = [name for name in SYSTEM_KEYS if name not in self.system]
        if not missing:
            return
        message = f"missing system text(s): {', '.join(missing)}"
        if self.system_block is None:
            self.problems.append(Problem(str(directory), None, "system", message))
        else:
            src, line = self.system_block
            src.problem(line, "system", message)


# --- Checks on one entry ------------------------------------------------------------------------


def _mapping(src: _File, node: _Node, key: str) -> dict[str, _Node] | None:
    if isinstance(node.value, dict):
        return node.value
    src.problem(node.line, key, f"expected a mapping, got {_describe(node.value)}")
    return None


def _fields(
    src: _File, node: _Node, key: str, *, required: tuple[str, ...], allowed: tuple[str, ...]
) -> dict[str, _Node] | None:
    """The mapping at ``node`` after reporting its unknown and missing keys; None if no mapping."""
    fields = _mapping(src, node, key)
    if fields is not None:
        _check_keys(src, fields, node.line, key, required=required, allowed=allowed)
    return fields


def _check_keys(
    src: _File,
    fields: Mapping[str, _Node],
    line: int,
    key: str,
    *,
    required: tuple[str, ...],
    allowed: tuple[str, ...],
) -> None:
    for name, child in fields.items():
        if name not in allowed:
            expected = ", ".join(allowed)
            src.problem(child.line, _join(key, name), f"unknown key (expected: {expected})")
    for name in required:
        if name not in fields:
            src.problem(line, _join(key, name), "missing")


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _entry(src: _File, node: _Node, label: str) -> _Entry | None:
    """Check one answer entry, recording its problems; None when it is not even a mapping."""
    fields = _mapping(src, node, label)
    if fields is None:
        return None
    answer_id = _answer_id(src, fields.get("id"), label)
    key = answer_id or label
    _check_keys(src, fields, node.line, key, required=_REQUIRED_ANSWER_KEYS, allowed=_ANSWER_KEYS)
    kind = _kind(src, fields.get("kind"), key)
    number = _number(src, fields.get("number"), node.line, key, kind)
    title = _title(src, fields.get("title"), f"{key}.title")
    sms = _sms(src, fields.get("sms"), f"{key}.sms")
    full = _full(src, fields.get("full"), f"{key}.full")
    keyword_lines = _keywords(src, fields.get("keywords"), f"{key}.keywords")
    answer = None
    if answer_id and kind and title and sms and full and (kind != "faq" or number is not None):
        answer = Answer(answer_id, kind, title, sms, full, tuple(keyword_lines), number)
    number_line = fields["number"].line if "number" in fields else node.line
    return _Entry(key, answer_id, kind, number, number_line, src, node.line, keyword_lines, answer)


def _answer_id(src: _File, node: _Node | None, label: str) -> str | None:
    if node is None:
        return None  # reported as a missing key
    value = _text(src, node, f"{label}.id")
    if value is None or _ID.fullmatch(value):
        return value
    src.problem(
        node.line,
        f"{label}.id",
        f"id '{value}' does not match ^[a-z][a-z0-9_]{{0,40}}$ "
        "(lowercase letters, digits and _, starting with a letter)",
    )
    return None


def _kind(src: _File, node: _Node | None, key: str) -> AnswerKind | None:
    if node is None:
        return None
    for kind in _KINDS:
        if node.value == kind:
            return kind
    expected = ", ".join(_KINDS)
    src.problem(node.line, f"{key}.kind", f"expected one of {expected}, got {node.value!r}")
    return None


def _number(
    src: _File, node: _Node | None, entry_line: int, key: str, kind: AnswerKind | None
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


def _text(src: _File, node: _Node, key: str) -> str | None:
    if not isinstance(node.value, str):
        src.problem(node.line, key, f"expected text, got {_describe(node.value)}")
        return None
    text = node.value.strip()
    if not text:
        src.problem(node.line, key, "empty text")
        return None
    return text


def _local_text(src: _File, node: _Node | None, key: str) -> LocalText | None:
    """A text in every language; Urdu is required too, since every shipped text has it."""
    if node is None:
        return None  # reported as a missing key
    fields = _fields(src, node, key, required=LANGS, allowed=LANGS)
    if fields is None:
        return None
    texts = {lang: _text(src, fields[lang], f"{key}.{lang}") for lang in LANGS if lang in fields}
    en, ur = texts.get("en"), texts.get("ur")
    return LocalText(en=en, ur=ur) if en is not None and ur is not None else None


def _line_of(node: _Node, lang: str) -> int:
    """The line of ``node``'s ``lang`` text (validated to exist), else of ``node`` itself."""
    child = node.value.get(lang) if isinstance(node.value, dict) else None
    return child.line if isinstance(child, _Node) else node.line


def _title(src: _File, node: _Node | None, key: str) -> LocalText | None:
    text = _local_text(src, node, key)
    if node is not None and text is not None:
        for lang in LANGS:
            if "\n" in text.get(lang):
                src.problem(_line_of(node, lang), f"{key}.{lang}", "a title must be one line")
    return text


def _sms(src: _File, node: _Node | None, key: str) -> LocalText | None:
    text = _local_text(src, node, key)
    if node is not None and text is not None:
        _check_one_sms(src, _line_of(node, "en"), f"{key}.en", text.en)
    return text


def _full(src: _File, node: _Node | None, key: str) -> LocalText | None:
    text = _local_text(src, node, key)
    if node is not None and text is not None:
        for lang in LANGS:
            size = len(text.get(lang))
            if size > _TELEGRAM_MAX:
                src.problem(
                    _line_of(node, lang),
                    f"{key}.{lang}",
                    f"longer than one Telegram message ({size} > {_TELEGRAM_MAX} characters)",
                )
    return text


def _check_one_sms(src: _File, line: int, key: str, text: str) -> None:
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


def _keywords(src: _File, node: _Node | None, key: str) -> dict[str, int]:
    """Normalised keyword -> line, in the order written (repeats within one answer merge)."""
    if node is None or node.value is None:
        return {}
    if not isinstance(node.value, list):
        src.problem(node.line, key, f"expected a list, got {_describe(node.value)}")
        return {}
    found: dict[str, int] = {}
    for item in node.value:
        keyword = _keyword(src, item, key)
        if keyword is not None:
            found.setdefault(keyword, item.line)
    return found


def _keyword(src: _File, node: _Node, key: str) -> str | None:
    if not isinstance(node.value, str):
        src.problem(node.line, key, f"a keyword must be text, got {_describe(node.value)}")
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


def _system_text(src: _File, node: _Node, key: str, name: str) -> LocalText | None:
    """A system text: one GSM-7 segment in English; ``{contact}`` exactly once in ``help``."""
    text = _local_text(src, node, key)
    if text is None:
        return None
    _check_one_sms(src, _line_of(node, "en"), f"{key}.en", text.en)
    for lang in LANGS:
        value, line = text.get(lang), _line_of(node, lang)
        placeholders = value.count(_CONTACT)
        if "{" in value.replace(_CONTACT, "") or "}" in value.replace(_CONTACT, ""):
            src.problem(line, f"{key}.{lang}", f"braces are only allowed in {_CONTACT}")
        elif name == "help" and placeholders != 1:
            src.problem(line, f"{key}.{lang}", f"must contain {_CONTACT} exactly once")
        elif name != "help" and placeholders:
            src.problem(line, f"{key}.{lang}", f"{_CONTACT} is only filled in for 'help'")
    return text
