"""The helpers every webhook route shares."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.types import Message, Receive, Scope

from bot.routes.common import header, parse_form, public_url, receive_body

BASE = "https://bot.example.org/"


def _request(path: str, query: bytes) -> Request:
    return Request(
        {
            "type": "http",
            "method": "POST",
            "scheme": "http",
            "server": ("10.0.0.5", 8000),
            "path": path,
            "query_string": query,
            "headers": [(b"host", b"10.0.0.5:8000")],
        }
    )


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/sms/twilio", b""),
        ("/sms/twilio", b"a=1&b=two"),
        ("/sms/twilio/status", b"x=%20y"),
        ("/odd?path#here\\", b""),
        ("/sms/twilio", b"a=1#fragment"),
        ("/sms/%D8%A8", b"q=%D8%A8"),
    ],
)
def test_public_url_is_the_public_root_plus_the_requests_path_and_query(
    path: str, query: bytes
) -> None:
    request = _request(path, query)
    url = request.url
    expected = BASE.rstrip("/") + url.path + (f"?{url.query}" if url.query else "")

    assert public_url(request, BASE) == expected


def test_without_a_public_root_the_requests_own_url_is_used() -> None:
    request = _request("/sms/twilio", b"a=1")

    assert public_url(request, None) == "http://10.0.0.5:8000/sms/twilio?a=1"


_FORM_CHARS = st.sampled_from(
    ["&", "=", "+", "%", "%2B", "%3D", "%26", "%D8%A8", "%ZZ", "%E2", "a", " ", "ب"]
)


@given(st.lists(_FORM_CHARS, max_size=30).map("".join))
def test_parse_form_reads_a_body_as_parse_qsl_does(text: str) -> None:
    body = text.encode()
    try:
        expected: dict[str, str] | None = dict(
            parse_qsl(text, keep_blank_values=True, errors="strict")
        )
    except UnicodeDecodeError:
        expected = None

    if expected is None:
        with pytest.raises(HTTPException) as refused:
            parse_form(body)
        assert refused.value.status_code == 400
    else:
        assert parse_form(body) == expected


@pytest.mark.parametrize("repeat", [1, 100], ids=["short", "long"])
def test_parse_form_reads_a_value_again_as_the_first_time(repeat: int) -> None:
    # Short values are kept once unquoted; each must still come back as its own text.
    words = ["نوکری چاہیے", "naukri chahiye?", "+923001234567", "نوکری چاہیے!"]
    bodies = [urlencode({"Body": w * repeat, "From": "+923001234567"}).encode() for w in words]
    for _ in range(2):
        for word, body in zip(words, bodies, strict=True):
            assert parse_form(body) == {"Body": word * repeat, "From": "+923001234567"}
        for _ in range(2):
            with pytest.raises(HTTPException):
                parse_form(b"Body=%D9" + b"%D9" * repeat)


def test_parse_form_refuses_a_body_that_is_not_utf8() -> None:
    with pytest.raises(HTTPException) as refused:
        parse_form(b"Body=\xff")

    assert refused.value.status_code == 400


def _receiver(*messages: Message) -> Receive:
    queue = list(messages)

    async def receive() -> Message:
        return queue.pop(0)

    return receive


def _scope(*headers: tuple[bytes, bytes]) -> Scope:
    return {"type": "http", "headers": list(headers)}


async def test_receive_body_joins_the_chunks_of_a_streamed_body() -> None:
    receive = _receiver(
        {"type": "http.request", "body": b"From=1&", "more_body": True},
        {"type": "http.request", "body": b"", "more_body": True},
        {"type": "http.request", "body": b"Body=hi"},
    )

    assert await receive_body(_scope(), receive) == b"From=1&Body=hi"


@pytest.mark.parametrize(
    ("headers", "chunks"),
    [
        pytest.param([(b"content-length", b"11")], [b"x" * 11], id="declared too long"),
        pytest.param([(b"content-length", b"1e3")], [b"x"], id="declared oddly"),
        pytest.param([], [b"x" * 6, b"x" * 5], id="streamed past the limit"),
    ],
)
async def test_receive_body_refuses_more_than_the_limit(
    headers: list[tuple[bytes, bytes]], chunks: list[bytes]
) -> None:
    receive = _receiver(
        *({"type": "http.request", "body": c, "more_body": True} for c in chunks),
        {"type": "http.request", "body": b""},
    )

    with pytest.raises(HTTPException) as refused:
        await receive_body(_scope(*headers), receive, limit=10)

    assert refused.value.status_code == 413


async def test_receive_body_raises_when_the_client_leaves() -> None:
    receive = _receiver(
        {"type": "http.request", "body": b"From=1", "more_body": True},
        {"type": "http.disconnect"},
    )

    with pytest.raises(ClientDisconnect):
        await receive_body(_scope(), receive)


def test_header_is_what_request_headers_get_gives() -> None:
    scope = _scope(
        (b"host", b"example.org"),
        (b"x-twilio-signature", b"first"),
        (b"x-twilio-signature", b"second"),
    )
    request = Request(scope)

    for name in ("x-twilio-signature", "host", "content-length"):
        assert header(scope, name.encode()) == request.headers.get(name)
