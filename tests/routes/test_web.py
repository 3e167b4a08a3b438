"""``bot.web``'s shorter way in for ``POST /sms/twilio``: the same answers as Starlette's router.

The app is called as an ASGI callable next to Starlette's own ``__call__`` (what every other
request goes through), on the same running app, and each answer is compared whole: status,
headers, body, and the exception that reaches the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect
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
    through_starlette: bool = False,
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
        if through_starlette:
            await Starlette.__call__(app, scope, receive, send)
        else:
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
        pytest.param(*signed(good), True, 500, id="client-left"),
    ]


@pytest.mark.parametrize(("body", "signature", "disconnect", "status"), cases())
async def test_a_refusal_is_answered_as_starlette_answers_it(
    twilio_app: Served, body: bytes, signature: str | None, disconnect: bool, status: int
) -> None:
    app = twilio_app.app
    ours = await call(app, body, signature, disconnect=disconnect)
    theirs = await call(app, body, signature, disconnect=disconnect, through_starlette=True)
    assert ours.status == status
    assert (ours.status, ours.headers, ours.body, ours.raised) == (
        theirs.status,
        theirs.headers,
        theirs.body,
        theirs.raised,
    )
    assert ours.raised is (ClientDisconnect if disconnect else None)
    assert (ours.routed, theirs.routed) == (False, True)
    assert await twilio_app.messages() == []


async def test_a_message_is_answered_as_starlette_answers_it(twilio_app: Served) -> None:
    params = {"From": "+923001234567", "To": "+15005550006", "Body": "jobs"}
    ours = await call(twilio_app.app, *signed(params | {"MessageSid": "SMours"}))
    theirs = await call(
        twilio_app.app, *signed(params | {"MessageSid": "SMtheirs"}), through_starlette=True
    )
    assert ours.status == 200 and b"<Message>" in ours.body
    assert (ours.status, ours.headers, ours.body, ours.raised) == (
        theirs.status,
        theirs.headers,
        theirs.body,
        theirs.raised,
    )
    assert (ours.routed, theirs.routed) == (False, True)
    assert len(await twilio_app.messages()) == 4


@pytest.mark.parametrize(
    ("method", "path", "root_path", "status"),
    [
        ("GET", "/sms/twilio", "", 405),
        ("POST", "/sms/twilio/status", "", 400),  # signed, but not a status report
        ("POST", "/outreach/sms/twilio", "/outreach", 200),
    ],
    ids=["GET", "another-path", "under-a-root-path"],
)
async def test_everything_else_goes_through_the_router(
    twilio_app: Served, method: str, path: str, root_path: str, status: int
) -> None:
    params = {"MessageSid": "SMroot", "From": "+923001234567", "To": "+15005550006"}
    body, signature = signed(params | {"Body": "jobs"}, path)
    answer = await call(
        twilio_app.app, body, signature, method=method, path=path, root_path=root_path
    )
    assert (answer.status, answer.routed) == (status, True)
