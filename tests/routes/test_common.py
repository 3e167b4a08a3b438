"""The helpers every webhook route shares."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.exceptions import HTTPException
from starlette.requests import Request

from bot.routes.common import parse_form, public_url

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


def test_parse_form_refuses_a_body_that_is_not_utf8() -> None:
    with pytest.raises(HTTPException) as refused:
        parse_form(b"Body=\xff")

    assert refused.value.status_code == 400
