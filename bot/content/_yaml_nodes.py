"""YAML with line numbers, and the checks every content block shares (for :mod:`bot.content`).

A content file is read into a tree of :class:`Node` (a value and its 1-based line), so that a
problem anywhere can be reported as ``file:line: key.path: what is wrong``. Problems are
collected into a shared list rather than raised, so one run reports all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.core.catalog import LANGS, TEXT_LANGS, LocalText

# libyaml's composer (when PyYAML was built with it) keeps line marks and is ~10x faster.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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


@dataclass(frozen=True, slots=True)
class Node:
    """A YAML value and the 1-based line it is on (for a mapping value: its key's line).

    ``value`` is a scalar (str, int, bool, None, date, ...), ``list[Node]`` or
    ``dict[str, Node]``.
    """

    value: object
    line: int


@dataclass
class SourceFile:
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

    def parse(self, expected: str) -> Node | None:
        """The file as a node tree, or None when it cannot be read (a problem is recorded).

        ``expected`` names what an empty file should have held, for its problem message.
        """
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
            self.problem(1, "", f"the file is empty; expected {expected}")
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

    def _convert(self, node: yaml.Node, line: int) -> Node:
        if isinstance(node, yaml.MappingNode):
            return Node(self._convert_mapping(node), line)
        if isinstance(node, yaml.SequenceNode):
            items = [self._convert(item, item.start_mark.line + 1) for item in node.value]
            return Node(items, line)
        try:
            return Node(self._constructor.construct_object(node), line)
        except ValueError as exc:  # an explicit tag that does not fit, e.g. `!!int abc`
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is not a valid {node.tag}", node.start_mark
            ) from exc

    def _convert_mapping(self, node: yaml.MappingNode) -> dict[str, Node]:
        items: dict[str, Node] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            key = self._convert(key_node, line).value
            if not isinstance(key, str):
                self.problem(line, "", f"a key must be text, got {describe(key)}")
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


def describe(value: object) -> str:
    """What ``value`` is, in words a coordinator understands ("a list", "yes/no (true)…")."""
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


# --- Checks shared by every block ---------------------------------------------------------------


def join(prefix: str, name: str) -> str:
    """The key path ``prefix.name`` (just ``name`` at the top)."""
    return f"{prefix}.{name}" if prefix else name


def mapping(src: SourceFile, node: Node, key: str) -> dict[str, Node] | None:
    """The mapping at ``node``, or None (a problem recorded) when it is something else."""
    if isinstance(node.value, dict):
        return node.value
    src.problem(node.line, key, f"expected a mapping, got {describe(node.value)}")
    return None


def items(src: SourceFile, node: Node, key: str) -> list[Node] | None:
    """The list at ``node``, or None (a problem recorded) when it is something else."""
    if isinstance(node.value, list):
        return node.value
    src.problem(node.line, key, f"expected a list, got {describe(node.value)}")
    return None


def fields(
    src: SourceFile,
    node: Node,
    key: str,
    *,
    required: tuple[str, ...],
    allowed: tuple[str, ...],
) -> dict[str, Node] | None:
    """The mapping at ``node`` after reporting its unknown and missing keys; None if no mapping."""
    found = mapping(src, node, key)
    if found is not None:
        check_keys(src, found, node.line, key, required=required, allowed=allowed)
    return found


def check_keys(
    src: SourceFile,
    found: Mapping[str, Node],
    line: int,
    key: str,
    *,
    required: tuple[str, ...],
    allowed: tuple[str, ...],
) -> None:
    """Record a problem for every key of ``found`` not ``allowed`` and every ``required`` one
    missing (at ``line``, the line of the mapping)."""
    for name, child in found.items():
        if name not in allowed:
            expected = ", ".join(allowed)
            src.problem(child.line, join(key, name), f"unknown key (expected: {expected})")
    for name in required:
        if name not in found:
            src.problem(line, join(key, name), "missing")


def text(src: SourceFile, node: Node, key: str) -> str | None:
    """The non-empty text at ``node``, stripped; None (a problem recorded) otherwise."""
    if not isinstance(node.value, str):
        src.problem(node.line, key, f"expected text, got {describe(node.value)}")
        return None
    value = node.value.strip()
    if not value:
        src.problem(node.line, key, "empty text")
        return None
    return value


def local_text(
    src: SourceFile, node: Node | None, key: str, *, extra: tuple[str, ...] = ()
) -> LocalText | None:
    """A text in English and Urdu (required: every shipped text has them), and Roman Urdu
    (``ur-Latn``) where given; the callers that need it (SMS and system texts) require it.

    ``extra`` names further keys the mapping may hold (the caller reads them), e.g. ``id``.
    """
    if node is None:
        return None  # reported as a missing key
    found = fields(src, node, key, required=TEXT_LANGS, allowed=(*extra, *LANGS))
    if found is None:
        return None
    texts = {lang: text(src, found[lang], f"{key}.{lang}") for lang in LANGS if lang in found}
    en, ur = texts.get("en"), texts.get("ur")
    if en is None or ur is None or ("ur-Latn" in found and texts.get("ur-Latn") is None):
        return None
    return LocalText(en=en, ur=ur, ur_latn=texts.get("ur-Latn"))


def line_of(node: Node, lang: str) -> int:
    """The line of ``node``'s ``lang`` text (validated to exist), else of ``node`` itself."""
    child = node.value.get(lang) if isinstance(node.value, dict) else None
    return child.line if isinstance(child, Node) else node.line
