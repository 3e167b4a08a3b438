"""Bare ASGI apps for bench_sms's "floor" targets (not a server of ours, not a benchmark).

From the repository root::

    uvicorn --http httptools --loop uvloop --workers 2 bench._floor_app:app
    uvicorn --http httptools --loop uvloop bench._floor_app:app_verify
    FLOOR_DB=/tmp/f.db uvicorn --factory --workers 2 bench._floor_app:app_store
    FLOOR_PG=postgresql://postgres@127.0.0.1/db uvicorn --factory bench._floor_app:app_store_pg

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

- ``app_store_pg``: ``app_verify`` plus the same rows on PostgreSQL (``FLOOR_PG``, an asyncpg
  URL), in plain asyncpg (no SQLAlchemy, no greenlet bridge): a pool of connections, each
  message one transaction of its own (what a message needs to be durable before its answer on
  a server that many processes write to): the contact found and locked (``FOR UPDATE``, as ours
  locks it for the guards) or created, the inbound inserted, the guard query, the reply
  inserted, commit. Every statement is prepared once per connection. The tables are created at
  start-up under an advisory lock (several workers start at once). The least any Python
  server that stores a message on PostgreSQL before answering it spends on these cores.

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


PG_SCHEMA = """
CREATE TABLE IF NOT EXISTS subscribers (
    id BIGSERIAL PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS contacts (
    id BIGSERIAL PRIMARY KEY,
    subscriber_id BIGINT NOT NULL REFERENCES subscribers (id),
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (channel, address)
);
CREATE TABLE IF NOT EXISTS messages (
    id BIGSERIAL PRIMARY KEY,
    contact_id BIGINT NOT NULL REFERENCES contacts (id),
    direction TEXT NOT NULL,
    channel TEXT NOT NULL,
    text TEXT NOT NULL,
    provider_id TEXT,
    status TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS ux_messages_provider
    ON messages (channel, direction, provider_id);
CREATE INDEX IF NOT EXISTS ix_messages_contact_created ON messages (contact_id, created_at);
"""


def _numbered(sql: str) -> str:
    """``sql`` with sqlite3's ``?`` placeholders numbered for PostgreSQL (``$1``, ``$2`` …)."""
    first, *rest = sql.split("?")
    return first + "".join(f"${i}{part}" for i, part in enumerate(rest, 1))


PG_GET_CONTACT = _numbered(GET_CONTACT) + " FOR UPDATE"
PG_INSERT_SUBSCRIBER = _numbered(INSERT_SUBSCRIBER)
PG_INSERT_CONTACT = _numbered(INSERT_CONTACT)
PG_INSERT_INBOUND = _numbered(INSERT_INBOUND)
PG_INSERT_REPLY = _numbered(INSERT_REPLY)
PG_RECENT = (
    "SELECT count(*) FILTER (WHERE direction = 'out'),"
    " count(*) FILTER (WHERE direction = 'in' AND text = $1)"
    " FROM messages WHERE contact_id = $2 AND created_at >= $3"
)


async def store_rows_pg(con: Any, form: dict[str, str]) -> bool:
    """:func:`store_rows` on PostgreSQL, in one transaction of its own."""
    now = datetime.now(UTC)
    sender, text, sid = form.get("From", ""), form.get("Body", ""), form.get("MessageSid")
    async with con.transaction():
        contact_id = await con.fetchval(PG_GET_CONTACT, sender)
        if contact_id is None:
            subscriber_id = await con.fetchval(PG_INSERT_SUBSCRIBER, now)
            contact_id = await con.fetchval(PG_INSERT_CONTACT, subscriber_id, sender, now)
        if await con.fetchval(PG_INSERT_INBOUND, contact_id, text, sid, now) is None:
            return False
        await con.fetchrow(PG_RECENT, text, contact_id, now - timedelta(hours=1))
        await con.execute(PG_INSERT_REPLY, contact_id, REPLY_TEXT, now)
    return True


PG_LOCK_CONTACTS = (
    "SELECT address, id FROM contacts WHERE channel = 'sms' AND address = ANY($1::text[])"
    " ORDER BY id FOR UPDATE"
)
PG_NEW_SUBSCRIBERS = (
    "INSERT INTO subscribers (created_at) SELECT $2 FROM generate_series(1, $1) RETURNING id"
)
PG_NEW_CONTACTS = (
    "INSERT INTO contacts (subscriber_id, channel, address, status, created_at)"
    " SELECT s, 'sms', a, 'active', $3 FROM unnest($1::bigint[], $2::text[]) AS t (s, a)"
    " RETURNING address, id"
)
PG_INBOUND_MANY = (
    "INSERT INTO messages (contact_id, direction, channel, text, provider_id, status, created_at)"
    " SELECT c, 'in', 'sms', t, p, 'received', $4"
    " FROM unnest($1::bigint[], $2::text[], $3::text[]) AS u (c, t, p)"
    " ON CONFLICT (channel, direction, provider_id) DO NOTHING RETURNING provider_id"
)
PG_RECENT_MANY = (
    "SELECT contact_id, count(*) FILTER (WHERE direction = 'out') FROM messages"
    " WHERE contact_id = ANY($1::bigint[]) AND created_at >= $2 GROUP BY contact_id"
)
PG_REPLIES_MANY = (
    "INSERT INTO messages (contact_id, direction, channel, text, status, created_at)"
    " SELECT c, 'out', 'sms', $2, 'sent', $3 FROM unnest($1::bigint[]) AS u (c)"
)


async def store_many_pg(con: Any, forms: list[dict[str, str]]) -> list[bool]:
    """:func:`store_rows_pg` for many messages at once: the same rows, in one transaction of
    set-wise statements (arrays bound, ``unnest`` on the server) instead of one each."""
    now = datetime.now(UTC)
    senders = [form.get("From", "") for form in forms]
    async with con.transaction():
        ids = dict(await con.fetch(PG_LOCK_CONTACTS, senders))
        new = sorted({s for s in senders if s not in ids})
        if new:
            subscribers = [r[0] for r in await con.fetch(PG_NEW_SUBSCRIBERS, len(new), now)]
            ids.update(dict(await con.fetch(PG_NEW_CONTACTS, subscribers, new, now)))
        contact_ids = [ids[s] for s in senders]
        texts = [form.get("Body", "") for form in forms]
        sids = [form.get("MessageSid") for form in forms]
        fresh = {r[0] for r in await con.fetch(PG_INBOUND_MANY, contact_ids, texts, sids, now)}
        answered = [c for c, sid in zip(contact_ids, sids, strict=True) if sid in fresh]
        await con.fetch(PG_RECENT_MANY, answered, now - timedelta(hours=1))
        await con.execute(PG_REPLIES_MANY, answered, REPLY_TEXT, now)
    return [sid in fresh for sid in sids]


class Gatherer:
    """Messages that arrive while a batch is being stored wait and go together in the next
    (at most 256), on one connection: one transaction for many messages, as SQLite's writer
    commits them, but with set-wise statements."""

    MAX_BATCH = 256

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.pending: list[tuple[dict[str, str], asyncio.Future[bool]]] = []
        self.running: asyncio.Task[None] | None = None

    async def store(self, form: dict[str, str]) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.pending.append((form, future))
        if self.running is None:
            self.running = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self.pending:
                batch = self.pending[: self.MAX_BATCH]
                self.pending = self.pending[self.MAX_BATCH :]
                try:
                    async with self.pool.acquire() as con:
                        results = await store_many_pg(con, [form for form, _ in batch])
                except Exception as exc:
                    for _, future in batch:
                        future.set_exception(exc)
                else:
                    for (_, future), fresh in zip(batch, results, strict=True):
                        future.set_result(fresh)
        finally:
            self.running = None


async def open_pg(url: str) -> Any:
    """The floor's pool (as many connections as SQLAlchemy's default pool may open), on
    tables created by whichever worker gets the advisory lock first."""
    import asyncpg

    pool = await asyncpg.create_pool(url, min_size=1, max_size=15)
    async with pool.acquire() as con, con.transaction():
        await con.execute("SELECT pg_advisory_xact_lock(7)")
        await con.execute(PG_SCHEMA)
    return pool


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
            if "pg" in state:
                state["pool"] = await open_pg(state["pg"])
                state["gatherer"] = Gatherer(state["pool"])
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if "writer" in state:
                state.pop("writer").close()
            if "pool" in state:
                await state.pop("pool").close()
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


def _make(
    verify: bool, stored: str | None = None
) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """The floor app; ``stored`` names where messages go: None, "sqlite" or "postgres"."""
    validator = RequestValidator(AUTH_TOKEN)
    state: dict[str, Any] = {}
    if stored == "sqlite":
        state["db"] = os.environ["FLOOR_DB"]
    elif stored in ("postgres", "postgres-batch"):
        state["pg"] = os.environ["FLOOR_PG"]

    async def store(form: dict[str, str]) -> bool:
        if stored == "sqlite":
            return bool(await state["writer"].store(form))
        if stored == "postgres-batch":
            return await state["gatherer"].store(form)
        async with state["pool"].acquire() as con:
            return await store_rows_pg(con, form)

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
                    fresh = await store(form)
                except Exception as exc:
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
    return _make(verify=True, stored="sqlite")


def app_store_pg() -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """``uvicorn --factory bench._floor_app:app_store_pg``: built in each worker, once
    FLOOR_PG is set."""
    return _make(verify=True, stored="postgres")


def app_store_pg_batch() -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """``uvicorn --factory bench._floor_app:app_store_pg_batch``: as ``app_store_pg``, the
    messages that wait meanwhile stored together."""
    return _make(verify=True, stored="postgres-batch")
