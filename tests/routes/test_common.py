"""The helpers every webhook route shares."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import pytest
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import Message

from bot.routes.common import public_url, read_form

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


def _posting(body: bytes, content_type: bytes = b"application/x-www-form-urlencoded") -> Request:
    """A request whose body comes in two chunks, as a server may hand it over."""
    chunks: list[Message] = [
        {"type": "http.request", "body": body[:5], "more_body": True},
        {"type": "http.request", "body": body[5:], "more_body": False},
    ]

    async def receive() -> Message:
        return chunks.pop(0)

    scope = {"type": "http", "method": "POST", "headers": [(b"content-type", content_type)]}
    return Request(scope, receive)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(b"From=%2B923001234567&Body=jobs", {"From": "+923001234567", "Body": "jobs"}),
        pytest.param(urlencode({"Body": "نوکری چاہیے"}).encode(), {"Body": "نوکری چاہیے"}),
        pytest.param(b"Body=a&Body=b&To=", {"Body": "b", "To": ""}, id="last-wins"),
    ],
)
async def test_read_form_gives_the_fields_as_parse_qsl_does(
    body: bytes, expected: dict[str, str]
) -> None:
    assert await read_form(_posting(body)) == expected
    assert expected == dict(parse_qsl(body.decode(), keep_blank_values=True))


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(b"Body=\xff\xfe", b"application/x-www-form-urlencoded", id="not-utf-8"),
        pytest.param("Body=نوکری".encode(), b"application/x-www-form-urlencoded", id="not-encoded"),
        pytest.param(
            b'--b\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n\r\n'
            b"x\r\n--b--\r\n",
            b"multipart/form-data; boundary=b",
            id="a-file",
        ),
        pytest.param(
            b'--b\r\nContent-Disposition: form-data; name="Body"\r\n\r\njobs\r\n--b--\r\n',
            b"multipart/form-data; boundary=b",
            id="multipart-text",
        ),
        pytest.param(b'{"Body": "jobs"}', b"application/json", id="json"),
        pytest.param(b"Body=jobs", b"", id="no-content-type"),
        pytest.param(
            b"&".join([b"a=1"] * 1001), b"application/x-www-form-urlencoded", id="1001-fields"
        ),
    ],
)
async def test_read_form_refuses_what_no_provider_posts(body: bytes, content_type: bytes) -> None:
    with pytest.raises(HTTPException) as refused:
        await read_form(_posting(body, content_type))

    assert refused.value.status_code == 400
