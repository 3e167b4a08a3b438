"""Bare ASGI apps for bench_sms's "floor" targets (not a server of ours, not a benchmark).

From the repository root::

    uvicorn --http httptools --loop uvloop --workers 2 bench._floor_app:app
    uvicorn --http httptools --loop uvloop bench._floor_app:app_verify
    FLOOR_DB=/tmp/f.db uvicorn --factory --workers 2 bench._floor_app:app_store

No framework: each app is one ASGI callable that reads the whole request body and answers
``POST`` with the same TwiML reply, rendered once at import with twilio's MessagingResponse.

- ``app``: nothing else. No parsing, no signature check, nothing stored, nobody remembered.
  What any Python ASGI server answering Twilio can do at best on this machine.
- ``app_verify``: also parses the form (``parse_qsl``; ours uses Starlette's ``request.form()``) and
  checks ``X-Twilio-Signature`` with twilio's RequestValidator over ``PUBLIC_BASE_URL`` +
  the path, the same check our ``/sms/twilio`` makes (bot/channels/twilio.py); 403 if it
  fails. Still nothing stored.
- ``app_store``: ``app_verify`` plus what our inbound path stores, in plain ``sqlite3`` (no
  ORM, no decision, no phone parsing) through one writer thread that group-commits, as
  bot/store/units.py does: per message, in a SAVEPOINT, find or create the subscriber and
  SMS contact, insert the inbound message (``ON CONFLICT DO NOTHING`` on its MessageSid),
  one guard query over the contact's recent messages, insert the reply; one
  ``BEGIN IMMEDIATE`` ... ``COMMIT`` per batch, the answer sent after the commit. The file
  (``FLOOR_DB``) is set up like ours: WAL, ``synchronous=NORMAL``, ``busy_timeout=5000``,
  foreign keys on. A duplicate gets an empty ``<Response/>``; a SQLite error a 503.

The auth token and public URL come from ``TWILIO_AUTH_TOKEN`` and ``PUBLIC_BASE_URL``, the
environment bench_sms gives every server.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

REPLY_TEXT = "Dhanote IT Park. Text JOBS, TRAINING, PARK, STARTUP or HELP. Reply STOP to stop."
_reply = MessagingResponse()
_reply.message(REPLY_TEXT)
REPLY = str(_reply).encode()

AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "").rstrip("/")

_OK_HEADERS = [
    (b"content-type", b"application/xml"),
    (b"content-length", str(len(REPLY)).encode()),
]
EMPTY = str(MessagingResponse()).encode()
_EMPTY_HEADERS = [
    (b"content-type", b"application/xml"),
    (b"content-length", str(len(EMPTY)).encode()),
]

SCHEMA = """
CREATE TABLE IF NOT EXISTS subscribers (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS contacts (
    id INTEGER PRIMARY KEY,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id),
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (channel, address)
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL REFERENCES contacts (id),
    direction TEXT NOT NULL,
    channel TEXT NOT NULL,
    text TEXT NOT NULL,
    provider_id TEXT,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS ux_messages_provider
    ON messages (channel, direction, provider_id);
CREATE INDEX IF NOT EXISTS ix_messages_contact_created ON messages (contact_id, created_at);
"""
GET_CONTACT = "SELECT id FROM contacts WHERE channel = 'sms' AND address = ?"
INSERT_SUBSCRIBER = "INSERT INTO subscribers (created_at) VALUES (?) RETURNING id"
INSERT_CONTACT = (
    "INSERT INTO contacts (subscriber_id, channel, address, status, created_at)"
    " VALUES (?, 'sms', ?, 'active', ?) RETURNING id"
)
INSERT_INBOUND = (
    "INSERT INTO messages (contact_id, direction, channel, text, provider_id, status, created_at)"
    " VALUES (?, 'in', 'sms', ?, ?, 'received', ?)"
    " ON CONFLICT (channel, direction, provider_id) DO NOTHING RETURNING id"
)
RECENT = (
    "SELECT coalesce(sum(direction = 'out'), 0),"
    " coalesce(sum(direction = 'in' AND text = ?), 0)"
    " FROM messages WHERE contact_id = ? AND created_at >= ?"
)
INSERT_REPLY = (
    "INSERT INTO messages (contact_id, direction, channel, text, status, created_at)"
    " VALUES (?, 'out', 'sms', ?, 'sent', ?)"
)


def open_db(path: str) -> sqlite3.Connection:
    """The floor's one connection: autocommit off at the driver, our own BEGIN IMMEDIATE."""
    con = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in (
        "busy_timeout=5000",
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "foreign_keys=ON",
    ):
        con.execute("PRAGMA " + pragma)
    con.executescript(SCHEMA)
    return con


def store_rows(con: sqlite3.Connection, form: dict[str, str]) -> bool:
    """The rows of one message, inside the caller's transaction; False for a duplicate."""
    now = datetime.now(UTC)
    stamp = now.isoformat()
    sender, text, sid = form.get("From", ""), form.get("Body", ""), form.get("MessageSid")
    row = con.execute(GET_CONTACT, (sender,)).fetchone()
    if row is None:
        (subscriber_id,) = con.execute(INSERT_SUBSCRIBER, (stamp,)).fetchone()
        row = con.execute(INSERT_CONTACT, (subscriber_id, sender, stamp)).fetchone()
    contact_id = row[0]
    if con.execute(INSERT_INBOUND, (contact_id, text, sid, stamp)).fetchone() is None:
        return False
    since = (now - timedelta(hours=1)).isoformat()
    con.execute(RECENT, (text, contact_id, since)).fetchone()
    con.execute(INSERT_REPLY, (contact_id, REPLY_TEXT, stamp))
    return True


_Outcome = tuple[asyncio.Future[bool], bool | BaseException]


class Writer:
    """One writer thread with one connection; what waits meanwhile is committed together.

    The same design as bot/store/units.py, without SQLAlchemy: each message in its own
    SAVEPOINT, one COMMIT per batch, callers answered only after the commit.
    """

    MAX_BATCH = 256

    def __init__(self, path: str) -> None:
        self.con = open_db(path)
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="floor-writer")
        self.lock = threading.Lock()
        self.pending: list[tuple[dict[str, str], asyncio.Future[bool]]] = []
        self.draining = False

    async def store(self, form: dict[str, str]) -> bool:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        with self.lock:
            self.pending.append((form, future))
            start = not self.draining
            self.draining = True
        if start:
            self.thread.submit(self._drain, loop)
        return await future

    def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            with self.lock:
                batch = self.pending[: self.MAX_BATCH]
                self.pending = self.pending[self.MAX_BATCH :]
                if not batch:
                    self.draining = False
                    return
            loop.call_soon_threadsafe(_settle, self._commit(batch))

    def _commit(self, batch: list[tuple[dict[str, str], asyncio.Future[bool]]]) -> list[_Outcome]:
        con = self.con
        outcomes: list[_Outcome] = []
        try:
            con.execute("BEGIN IMMEDIATE")
            try:
                for form, future in batch:
                    con.execute("SAVEPOINT one")
                    try:
                        fresh = store_rows(con, form)
                    except sqlite3.Error as exc:
                        con.execute("ROLLBACK TO one")
                        outcomes.append((future, exc))
                    else:
                        outcomes.append((future, fresh))
                    con.execute("RELEASE one")
                con.execute("COMMIT")
            except BaseException:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:  # BEGIN or COMMIT failed: nothing in the batch stored
            return [(future, exc) for _, future in batch]
        return outcomes

    def close(self) -> None:
        self.thread.shutdown(wait=True)
        self.con.close()


def _settle(outcomes: list[_Outcome]) -> None:
    for future, value in outcomes:
        if future.done():
            continue
        if isinstance(value, BaseException):
            future.set_exception(value)
        else:
            future.set_result(value)


async def _lifespan(receive: Receive, send: Send, state: dict[str, Any]) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            if "db" in state:
                state["writer"] = Writer(state["db"])
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if "writer" in state:
                state.pop("writer").close()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _answer(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _plain(send: Send, status: int, text: bytes) -> None:
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(text)).encode())]
    await _answer(send, status, headers, text)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _make(verify: bool, stored: bool = False) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    validator = RequestValidator(AUTH_TOKEN)
    state: dict[str, Any] = {"db": os.environ["FLOOR_DB"]} if stored else {}

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send, state)
            return
        if scope["type"] != "http":
            return
        body = await _body(receive)
        if scope["method"] != "POST":
            await _plain(send, 405, b"POST only")
            return
        if verify:
            try:
                form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            except (UnicodeDecodeError, ValueError):
                await _plain(send, 400, b"bad form")
                return
            url = PUBLIC_BASE_URL + scope["path"]
            if scope.get("query_string"):
                url += "?" + scope["query_string"].decode("latin-1")
            signature = _header(scope, b"x-twilio-signature")
            if not signature or not validator.validate(url, form, signature):
                await _plain(send, 403, b"invalid signature")
                return
            if stored:
                try:
                    fresh = await state["writer"].store(form)
                except sqlite3.Error as exc:
                    print(f"floor store failed: {exc}", flush=True)  # counted by the bench
                    await _plain(send, 503, str(exc).encode())
                    return
                if not fresh:
                    await _answer(send, 200, _EMPTY_HEADERS, EMPTY)
                    return
        await _answer(send, 200, _OK_HEADERS, REPLY)

    return asgi


app = _make(verify=False)
app_verify = _make(verify=True)


def app_store() -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """``uvicorn --factory bench._floor_app:app_store``: built in each worker, once FLOOR_DB
    is set."""
    return _make(verify=True, stored=True)
