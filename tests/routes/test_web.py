"""``bot.routes.app`` as an ASGI callable: every webhook goes through Starlette's router, and a
refusal is answered by Starlette's handlers (status, and the exception that reaches the
server) before anything is stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from starlette.applications import Starlette
from starlette.types import Message
from twilio.request_validator import RequestValidator

from tests.routes.conftest import AUTH_TOKEN, PUBLIC, Served


@dataclass
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    raised: type[BaseException] | None
    routed: bool  # went through Starlette's router


def signed(params: dict[str, str], path: str = "/sms/twilio") -> tuple[bytes, str]:
    return urlencode(params).encode(), RequestValidator(AUTH_TOKEN).compute_signature(
        PUBLIC + path, params
    )


async def call(
    app: Starlette,
    body: bytes,
    signature: str | None,
    *,
    method: str = "POST",
    path: str = "/sms/twilio",
    root_path: str = "",
    disconnect: bool = False,
) -> Answer:
    headers = [(b"content-type", b"application/x-www-form-urlencoded")]
    headers.append((b"content-length", str(len(body)).encode()))
    if signature is not None:
        headers.append((b"x-twilio-signature", signature.encode()))
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": root_path,
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }

    async def receive() -> Message:
        if disconnect:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": body, "more_body": False}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    raised: type[BaseException] | None = None
    try:
        await app(scope, receive, send)
    except Exception as exc:
        raised = type(exc)
    start, *bodies = sent
    return Answer(
        start["status"],
        list(start["headers"]),
        b"".join(m.get("body", b"") for m in bodies),
        raised,
        "router" in scope,
    )


def cases() -> list[Any]:
    good = {"MessageSid": "SMweb", "From": "+923001234567", "To": "+15005550006", "Body": "x"}
    no_from = {k: v for k, v in good.items() if k != "From"}
    big = good | {"Body": "x" * (70 * 1024)}
    return [
        pytest.param(*signed(good)[:1], None, False, 403, id="unsigned"),
        pytest.param(*signed(good)[:1], "bm90IGEgc2lnbmF0dXJl", False, 403, id="wrongly-signed"),
        pytest.param(*signed(no_from), False, 400, id="no-From"),
        pytest.param(b"From=%2B923001234567&Body=\xff\xfe", "x", False, 400, id="not-utf-8"),
        pytest.param(*signed(big), False, 413, id="oversized"),
        pytest.param(*signed(good), True, 400, id="client-left"),
    ]


@pytest.mark.parametrize(("body", "signature", "disconnect", "status"), cases())
async def test_a_refusal_is_answered_by_starlette_and_stores_nothing(
    twilio_app: Served, body: bytes, signature: str | None, disconnect: bool, status: int
) -> None:
    answer = await call(twilio_app.app, body, signature, disconnect=disconnect)
    assert answer.status == status
    assert answer.raised is None  # a client that left is answered, not raised
    assert answer.routed
    assert await twilio_app.messages() == []


async def test_a_message_is_answered_in_twiml_through_the_router(twilio_app: Served) -> None:
    params = {"From": "+923001234567", "To": "+15005550006", "Body": "jobs"}
    answer = await call(twilio_app.app, *signed(params | {"MessageSid": "SMours"}))
    assert answer.status == 200 and b"<Message>" in answer.body
    assert (b"content-type", b"application/xml") in answer.headers
    assert (b"content-length", str(len(answer.body)).encode()) in answer.headers
    assert (answer.raised, answer.routed) == (None, True)
    assert len(await twilio_app.messages()) == 2


@pytest.mark.parametrize(
    ("method", "path", "root_path", "status"),
    [
        ("GET", "/sms/twilio", "", 405),
        ("POST", "/sms/twilio/status", "", 400),  # signed, but not a status report
        ("POST", "/outreach/sms/twilio", "/outreach", 200),
    ],
    ids=["GET", "another-path", "under-a-root-path"],
)
async def test_other_methods_paths_and_root_paths_are_routed(
    twilio_app: Served, method: str, path: str, root_path: str, status: int
) -> None:
    params = {"MessageSid": "SMroot", "From": "+923001234567", "To": "+15005550006"}
    body, signature = signed(params | {"Body": "jobs"}, path)
    answer = await call(
        twilio_app.app, body, signature, method=method, path=path, root_path=root_path
    )
    assert (answer.status, answer.routed) == (status, True)
