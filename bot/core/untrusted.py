"""What a webhook's parser does with text, ids and JSON it did not write (issue 13).

Both databases must take whatever a provider posts, or answer it 400: PostgreSQL refuses a
NUL byte in text, neither database can store a lone surrogate (it is not UTF-8), a value
longer than its column fails on PostgreSQL only, and ``json.loads`` of a deeply nested body
raises ``RecursionError``. So, where a webhook is parsed:

- :func:`clean_text` removes NUL bytes and replaces lone surrogates with U+FFFD, in text
  that is stored (a message, a sender, a reason); normal text costs a scan for NUL and, when
  it is not ASCII, one UTF-8 encoding;
- :func:`is_id` says whether a provider's id can be one: not empty, printable (no NUL, no
  control character, no surrogate), no longer than its column;
- :func:`fits_bigint` says whether a number fits a ``BigInteger`` column;
- :func:`load_json` parses a body with its nesting bounded (:class:`JsonTooDeep`).
"""

from __future__ import annotations

import json
import re
from typing import Any

# Telegram's updates nest about eight deep, the SMS gateway's two.
MAX_JSON_DEPTH = 32

BIGINT_MIN = -(2**63)
BIGINT_MAX = 2**63 - 1

_SURROGATE = re.compile("[\ud800-\udfff]")
# How JSON can carry a NUL or a surrogate: escaped (a raw NUL is not valid JSON), or for a
# surrogate also raw, as its three bytes (json.loads decodes bytes with "surrogatepass").
_RISKY = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])|\xed[\xa0-\xbf]")


class JsonTooDeep(ValueError):
    """A JSON body nested deeper than :data:`MAX_JSON_DEPTH`."""


def clean_text(text: str) -> str:
    """``text`` without NUL bytes and with each lone surrogate replaced by U+FFFD.

    The same object back when there is neither (an ASCII string cannot hold a surrogate).
    """
    if "\x00" in text:
        text = text.replace("\x00", "")
    if not text.isascii():
        # Encoding is the quickest test there is for a surrogate (a third of a regex search).
        try:
            text.encode()
        except UnicodeEncodeError:
            text = _SURROGATE.sub("\ufffd", text)
    return text


def is_id(value: str, max_length: int) -> bool:
    """Whether ``value`` can be a provider's id kept in a column of ``max_length``."""
    return 0 < len(value) <= max_length and value.isprintable()


def fits_bigint(value: int) -> bool:
    """Whether ``value`` fits a signed 64-bit integer (``BigInteger``)."""
    return BIGINT_MIN <= value <= BIGINT_MAX


def load_json(body: bytes, *, clean: bool = False, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads(body)``: ``ValueError`` when it is not JSON (``UnicodeDecodeError`` when
    not UTF-8), :class:`JsonTooDeep` when nested more than ``max_depth`` containers deep.

    With ``clean``, every string in it goes through :func:`clean_text`; only a body with a NUL
    or a surrogate in it (``\\u0000``, ``\\ud800`` or a surrogate's raw bytes) is walked.
    The depth is only walked when the body has more brackets than ``max_depth``.
    """
    try:
        value = json.loads(body)
    except RecursionError as exc:
        raise JsonTooDeep(f"JSON nested more than {max_depth} deep") from exc
    if body.count(b"[") + body.count(b"{") > max_depth and _too_deep(value, max_depth):
        raise JsonTooDeep(f"JSON nested more than {max_depth} deep")
    if clean and _RISKY.search(body):
        value = _clean_tree(value)
    return value


def _too_deep(value: Any, max_depth: int) -> bool:
    if not isinstance(value, dict | list):
        return False
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > max_depth:
                    return True
                stack.append((child, depth + 1))
    return False


def _clean_tree(value: Any) -> Any:
    # Recursive, but only after the depth was bounded.
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_clean_tree(item) for item in value]
    if isinstance(value, dict):
        return {clean_text(key): _clean_tree(item) for key, item in value.items()}
    return value
