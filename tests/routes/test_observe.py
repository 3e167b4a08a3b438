"""Request ids: taken from a sane ``X-Request-ID`` or made, answered in the response, and
carried by every JSON log line written while the request is handled."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from bot.observe.logs import JsonFormatter
from bot.routes.observe import request_id
from fakes.http import client as http_client
from tests.routes.conftest import Served
from tests.routes.test_sms_twilio import form, post

pytestmark = pytest.mark.sqlite_only


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        pytest.param(b"6f1c2a9e-07b4-4d8e-9a51-3c2b1e0f9d77", True, id="a-uuid"),
        pytest.param(b"req.42:edge-7_a", True, id="letters-digits-and-._:-"),
        pytest.param(b"a" * 128, True, id="128-characters"),
        pytest.param(b"a" * 129, False, id="129-characters"),
        pytest.param(b"", False, id="empty"),
        pytest.param(b"two words", False, id="a-space"),
        pytest.param(b"id\r\nX-Injected: 1", False, id="a-header-injection"),
        pytest.param("نمبر".encode(), False, id="not-ascii"),
        pytest.param(b'{"json": 1}', False, id="punctuation"),
    ],
)
def test_a_proxy_id_is_kept_only_when_it_is_a_sane_token(sent: bytes, kept: bool) -> None:
    got = request_id([(b"content-type", b"text/plain"), (b"x-request-id", sent)])
    if kept:
        assert got == sent.decode()
    else:
        assert len(got) == 32 and int(got, 16) >= 0  # a new one: 32 hex digits


def test_without_a_header_each_request_gets_a_new_id() -> None:
    ids = {request_id([]) for _ in range(100)}
    assert len(ids) == 100


@contextmanager
def json_lines(caplog: pytest.LogCaptureFixture) -> Iterator[list[dict[str, Any]]]:
    """What the process logs meanwhile at INFO, each line as LOG_FORMAT=json writes it."""
    caplog.set_level(logging.INFO)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    lines: list[dict[str, Any]] = []
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        lines += [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_every_log_line_of_a_request_carries_the_id_its_response_answers(
    twilio_app: Served, caplog: pytest.LogCaptureFixture
) -> None:
    with json_lines(caplog) as lines:
        answers = await asyncio.gather(
            *(post(twilio_app, form("jobs", f"SMobserve{n}", f"+92300123450{n}")) for n in range(3))
        )
        async with http_client() as client:
            proxied = await client.get(
                twilio_app.url + "/healthz", headers={"X-Request-ID": "edge-4711"}
            )
    ids = [a.headers["x-request-id"] for a in answers]
    assert len(set(ids)) == 3 and all(len(i) == 32 for i in ids)
    assert proxied.headers["x-request-id"] == "edge-4711"

    assert lines, "the requests logged something"
    for line in lines:
        assert set(line) >= {"time", "level", "logger", "message"}
        assert line["time"].endswith("Z")
    # Each resident's line from the inbox carries the id of the request that brought it,
    # though the three were handled at once.
    inbox = {
        line["message"].split(" ")[2]: line.get("request_id")
        for line in lines
        if line["logger"] == "bot.outreach.inbox"
    }
    assert inbox == {f"+92300****50{n}:": ids[n] for n in range(3)}
    assert {line.get("request_id") for line in lines} <= {None, *ids, "edge-4711"}
