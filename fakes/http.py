"""httpx clients for the fakes and the tests, all sharing one TLS context.

An ``httpx.AsyncClient`` loads the CA bundle into a new TLS context when it is made: 35 ms of
CPU each, paid by every test that posts to the app, although these clients only ever reach
``http://127.0.0.1``. One context per process, made on first use, serves them all.
"""

from __future__ import annotations

import functools
import ssl
from typing import Any

import httpx


@functools.cache
def _tls() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def client(**kwargs: Any) -> httpx.AsyncClient:
    """``httpx.AsyncClient(**kwargs)`` with the process's shared TLS context."""
    return httpx.AsyncClient(verify=_tls(), **kwargs)
