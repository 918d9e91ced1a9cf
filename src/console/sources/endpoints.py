"""Endpoints found unreachable in one round of reads: one wait per endpoint, not one per source.

Every source on one S3 endpoint (all of a workspace's `s3://` paths, Delta and Iceberg tables in buckets,
an Iceberg REST catalog) waits its own short timeout when the endpoint takes connections and never answers:
two sources cost two timeouts, one after the other. A round (a refresh, a command's one bring-up) is the
scope in which what one read found holds for the others: once a read finds an endpoint unreachable (no
answer in time, the connection refused), every later read on it in the same round fails at once with the
same reason, naming its own path. The next round asks again, once, so a server that came back is read.

Outside a round nothing is remembered (each read waits its own timeout, as a lone read should). A round is
a context variable, so it covers the thread that opened it and no other: the refresh's reads, not another
worker's query. An endpoint is its scheme, host and port: one server, whatever the path.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from urllib.parse import urlsplit


def endpoint(url: str) -> str:
    """`scheme://host:port` of a URL (the default port spelt out): the server a read is sent to."""
    parts = urlsplit(url if "://" in url else f"https://{url}")
    scheme = (parts.scheme or "https").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    port = port or {"https": 443, "http": 80}.get(scheme)
    host = (parts.hostname or "").lower()
    return f"{scheme}://{host}:{port}" if port else f"{scheme}://{host}"


class Round:
    """The endpoints found unreachable since the round began, with the reason the first read gave."""

    def __init__(self) -> None:
        self._down: dict[str, str] = {}
        self._lock = threading.Lock()

    def reason(self, url: str) -> str | None:
        with self._lock:
            return self._down.get(endpoint(url))

    def trip(self, url: str, reason: str) -> None:
        with self._lock:
            self._down.setdefault(endpoint(url), reason)

    def down(self) -> dict[str, str]:
        with self._lock:
            return dict(self._down)


_current: ContextVar[Round | None] = ContextVar("console_endpoints_round", default=None)


@contextmanager
def one_round(held: Round | None = None) -> Iterator[Round]:
    """Reads inside share what they find of endpoints: a new round, or `held` (one kept by the caller, whose
    findings stand until it opens the next)."""
    rnd = held if held is not None else Round()
    token = _current.set(rnd)
    try:
        yield rnd
    finally:
        _current.reset(token)


def unreachable(url: str) -> str | None:
    """Why `url`'s endpoint is not asked again in this round (the first read's reason), or None."""
    rnd = _current.get()
    return rnd.reason(url) if rnd is not None else None


def found_unreachable(url: str, reason: str) -> None:
    """A read found `url`'s endpoint unreachable: the rest of the round does not wait on it again."""
    rnd = _current.get()
    if rnd is not None:
        rnd.trip(url, reason)
