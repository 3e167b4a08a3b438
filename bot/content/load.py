"""Load the coordinators' content (``content/*.yaml``) into a validated, frozen Catalog.
:func:`load_catalog` reads every ``*.yaml`` / ``*.yml`` file of a folder and returns a
:class:`~bot.core.catalog.Catalog` the rest of the bot can trust: every text in English and
Urdu, ids that fit Telegram callback data, keywords normalised and owned by exactly one
answer, English and Roman Urdu (``ur-Latn``) SMS texts in one GSM-7 segment each, every
system text and Telegram label present.
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
        sms: {en: ..., ur: ..., ur-Latn: ...}  # English, Roman Urdu: GSM-7, <= 160 characters
        full: {en: ..., ur: ...}  # Telegram text, at most 4096 characters
        keywords: [jobs, naukri, نوکری]
    system:
      welcome: {en: ..., ur: ..., ur-Latn: ...}  # every key of SYSTEM_KEYS
    commands:                      # Telegram's command menu (set_my_commands), in order
      start: {en: ..., ur: ...}    # name: 1-32 of [a-z0-9_]; description 1-256 characters
    interests:                     # announcement topics a subscriber can follow
      - {id: training, en: ..., ur: ...}  # "sub:t:<id>" fits 64 bytes; label <= 32 chars
    cities:
      dhanote: {en: ..., ur: ...}  # "sub:c:<id>" fits 64 bytes; label <= 32 chars
    labels:
      menu: {en: ..., ur: ...}     # every key of LABEL_KEYS; button labels <= 32 chars
    staff:                         # optional, in one file: what a person answers
      keywords: [staff, insaan se baat, رابطہ]  # asking for a person; owned by no answer
      until_answered: [fees, address, پتہ]  # topics the content lacks, owned by no answer
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TypedDict

from bot.content import _fields as fields
from bot.content import _yaml_nodes as yn
from bot.content._yaml_nodes import Problem
from bot.core.catalog import (
    LABEL_KEYS,
    LANGS,
    SYSTEM_KEYS,
    Answer,
    Catalog,
    Choice,
    Command,
    Lang,
    LocalText,
    build_catalog,
)

__all__ = ["ContentError", "ContentSummary", "Problem", "load_catalog", "summarize"]

# Lists defined once (in one file); the other top-level keys may be spread over files.
_ONCE = ("commands", "interests", "cities")
_TOP_KEYS = ("answers", "system", *_ONCE, "labels", "staff")
_EXPECTED_TOP = ", ".join(f"'{key}:'" for key in _TOP_KEYS)
_STAFF_LISTS = ("keywords", "until_answered")


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
    # answers whose title, sms and full all exist in that language; for Roman Urdu, whose SMS
    # does (its Telegram texts fall back to English)
    languages: dict[str, int]
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
        kinds={kind: len(catalog.of_kind(kind)) for kind in fields.KINDS},
        languages={
            lang: sum(1 for a in catalog.answers if _has_language(a, lang)) for lang in LANGS
        },
        system=len(catalog.system),
        commands=len(catalog.commands),
        interests=len(catalog.interests),
        cities=len(catalog.cities),
        labels=len(catalog.labels),
    )


def _has_language(answer: Answer, lang: Lang) -> bool:
    if lang == "ur-Latn":
        return answer.sms.has(lang)
    return all(text.has(lang) for text in (answer.title, answer.sms, answer.full))


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
class _Loader:
    """Validates files one by one, then what spans files (ids, keywords, FAQ numbers)."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.entries: list[fields.Entry] = []
        self.system: dict[str, tuple[LocalText, str]] = {}  # key -> (text, "file:line")
        self.system_block: tuple[yn.SourceFile, int] | None = None  # the first `system:` seen
        self.labels: dict[str, tuple[LocalText, str]] = {}  # key -> (text, "file:line")
        self.labels_block: tuple[yn.SourceFile, int] | None = None  # the first `labels:` seen
        self.once: dict[str, str] = {}  # "commands" / "interests" / "cities" -> "file:line"
        self.commands: tuple[Command, ...] = ()
        self.interests: tuple[Choice, ...] = ()
        self.cities: tuple[Choice, ...] = ()
        # file, line, {"keywords" | "until_answered": {word: line}}
        self.staff: tuple[yn.SourceFile, int, dict[str, dict[str, int]]] | None = None
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
        if "staff" in top:
            self._load_staff(src, top["staff"])

    def _load_staff(self, src: yn.SourceFile, node: yn.Node) -> None:
        if self.staff is not None:
            first, line, _ = self.staff
            src.problem(node.line, "staff", f"defined twice (also at {first.at(line)})")
            return
        found = yn.fields(src, node, "staff", required=("keywords",), allowed=_STAFF_LISTS)
        if found is None or "keywords" not in found:
            return
        lists = {
            name: fields.keyword_list(src, found[name], f"staff.{name}")
            for name in _STAFF_LISTS
            if name in found
        }
        seen = lists["keywords"]
        for word, line in lists.get("until_answered", {}).items():
            if word in seen:
                src.problem(
                    line,
                    "staff.until_answered",
                    f"'{word}' is also in staff.keywords (line {seen[word]}): put it in one",
                )
        self.staff = (src, node.line, lists)

    def _load_answers(self, src: yn.SourceFile, node: yn.Node) -> None:
        if not isinstance(node.value, list):
            src.problem(node.line, "answers", f"expected a list, got {yn.describe(node.value)}")
            return
        for index, item in enumerate(node.value):
            entry = fields.entry(src, item, f"answers[{index}]")
            if entry is not None:
                self.entries.append(entry)

    def _load_system(self, src: yn.SourceFile, node: yn.Node) -> None:
        if self._load_texts(src, node, "system", SYSTEM_KEYS, self.system, fields.system_text):
            self.system_block = self.system_block or (src, node.line)

    def _load_once(self, src: yn.SourceFile, name: str, node: yn.Node) -> None:
        if name in self.once:
            src.problem(node.line, name, f"defined twice (also at {self.once[name]})")
            return
        self.once[name] = src.at(node.line)
        if name == "commands":
            self.commands = fields.commands(src, node)
        elif name == "interests":
            self.interests = fields.interests(src, node)
        else:
            self.cities = fields.cities(src, node)

    def _load_labels(self, src: yn.SourceFile, node: yn.Node) -> None:
        if self._load_texts(src, node, "labels", LABEL_KEYS, self.labels, fields.label):
            self.labels_block = self.labels_block or (src, node.line)

    @staticmethod
    def _load_texts(
        src: yn.SourceFile,
        node: yn.Node,
        block: str,
        allowed: tuple[str, ...],
        into: dict[str, tuple[LocalText, str]],
        parse: Callable[[yn.SourceFile, yn.Node, str, str], LocalText | None],
    ) -> bool:
        """The texts of a ``system:`` or ``labels:`` block, each checked by ``parse``, added to
        ``into`` (a name defined twice is a problem); False when the block is not a mapping."""
        texts = yn.fields(src, node, block, required=(), allowed=allowed)
        if texts is None:
            return False
        for name, text_node in texts.items():
            key = f"{block}.{name}"
            if name in into:
                src.problem(text_node.line, key, f"defined twice (also at {into[name][1]})")
                continue
            text = parse(src, text_node, key, name)
            if text is not None:
                into[name] = (text, src.at(text_node.line))
        return True

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
        order = {kind: i for i, kind in enumerate(fields.KINDS)}
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
            staff_keywords=tuple(self.staff[2]["keywords"]) if self.staff else (),
            until_answered=tuple(self.staff[2].get("until_answered", ())) if self.staff else (),
        )

    def _check_ids(self) -> None:
        first_of: dict[str, fields.Entry] = {}
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
        owner: dict[str, tuple[fields.Entry, int]] = {}
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
        if self.staff is None:
            return
        src, _, lists = self.staff
        for name, words in lists.items():
            for keyword, line in words.items():
                if keyword in owner:
                    first, first_line = owner[keyword]
                    src.problem(
                        line,
                        f"staff.{name}",
                        f"keyword '{keyword}' hands over to a person here but is also used by "
                        f"'{first.key}' ({first.file.at(first_line)})",
                    )

    def _check_faq_numbers(self) -> None:
        faqs = [e for e in self.entries if e.kind == "faq"]
        first_of: dict[int, fields.Entry] = {}
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
