"""Cleaning text, checking ids and bounding JSON from webhooks (``bot.core.untrusted``)."""

from __future__ import annotations

import json

import pytest

from bot.core.untrusted import (
    BIGINT_MAX,
    BIGINT_MIN,
    MAX_JSON_DEPTH,
    JsonTooDeep,
    clean_text,
    fits_bigint,
    is_id,
    load_json,
)


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        ("jo\x00bs", "jobs"),
        ("\x00\x00", ""),
        ("jobs\ud800", "jobs\ufffd"),
        ("\udfff نوکری", "\ufffd نوکری"),
        ("a\x00\udc00b", "a\ufffdb"),
        ("نوکری 😀", "نوکری 😀"),
    ],
)
def test_clean_text_removes_nul_and_replaces_lone_surrogates(text: str, cleaned: str) -> None:
    assert clean_text(text) == cleaned
    clean_text(text).encode("utf-8")  # storable anywhere


@pytest.mark.parametrize("text", ["jobs", "نوکری چاہیے\n", "😀", ""])
def test_clean_text_gives_normal_text_back_untouched(text: str) -> None:
    assert clean_text(text) is text


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("SM" + "a" * 32, True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("", False),
        ("SM\x00a", False),
        ("SM\na", False),
        ("SM\ud800", False),
    ],
)
def test_is_id(value: str, ok: bool) -> None:
    assert is_id(value, 128) is ok


def test_fits_bigint_at_its_bounds() -> None:
    assert fits_bigint(BIGINT_MAX) and fits_bigint(BIGINT_MIN)
    assert not fits_bigint(BIGINT_MAX + 1) and not fits_bigint(BIGINT_MIN - 1)


def nested(depth: int) -> bytes:
    return b'{"a":' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


def test_load_json_takes_nesting_up_to_the_bound() -> None:
    value = load_json(nested(MAX_JSON_DEPTH))
    assert isinstance(value, dict)


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
def test_load_json_refuses_deeper_nesting(depth: int) -> None:
    with pytest.raises(JsonTooDeep):
        load_json(nested(depth))


def test_many_shallow_containers_are_not_too_deep() -> None:
    body = json.dumps({"entities": [{"offset": i, "user": {"id": i}} for i in range(500)]})
    assert len(load_json(body.encode())["entities"]) == 500


def test_load_json_cleans_escaped_nul_and_surrogates_only_when_asked() -> None:
    body = json.dumps({"text": "jo\x00bs\ud800", "list": ["\x00"], "n": 1}).encode("ascii")
    assert load_json(body, clean=True) == {"text": "jobs\ufffd", "list": [""], "n": 1}
    assert load_json(body)["text"] == "jo\x00bs\ud800"


def test_load_json_cleans_a_surrogate_sent_as_raw_bytes() -> None:
    # json.loads decodes bytes with "surrogatepass": these three bytes are U+D800.
    assert load_json(b'{"a": "x\xed\xa0\x80"}', clean=True) == {"a": "x\ufffd"}


def test_load_json_refuses_what_is_not_json() -> None:
    with pytest.raises(ValueError, match="Expecting"):
        load_json(b"{")
    with pytest.raises(UnicodeDecodeError):
        load_json(b'{"a": "\xff"}')
