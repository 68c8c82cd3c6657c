"""What actually happened on the wire during a pypowerwall call.

pypowerwall turns every failure (timeout, refused, 429, 5xx, bad JSON) into a
``None`` and a log line, and ``power()`` even turns it into zeros. To tell the
user *why* the Powerwall is not answering, we mount a transport adapter on
pypowerwall's own ``requests.Session`` that notes each request's outcome. It
changes nothing about the requests themselves; it only watches them.
"""

from __future__ import annotations

import itertools
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter


@dataclass(frozen=True, slots=True)
class WireEvent:
    """One HTTP exchange as seen from the client side."""

    seq: int
    method: str
    path: str
    status: int | None  # None when no answer came back
    content_type: str
    error: str | None  # "timeout" | "refused" | "tls" | "unreachable" | "other"
    detail: str  # short human reason for transport errors, never a secret
    elapsed_s: float


def _transport_error(exc: BaseException) -> tuple[str, str]:
    """Name a transport failure; walk the cause chain because requests wraps urllib3 wraps OSError."""
    if isinstance(exc, requests.exceptions.Timeout):
        return "timeout", "timed out"
    seen: BaseException | None = exc
    chain: list[BaseException] = []
    while seen is not None and len(chain) < 10:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
        if seen is None and chain[-1].args and isinstance(chain[-1].args[0], BaseException):
            seen = chain[-1].args[0]
    for e in chain:
        if isinstance(e, ConnectionRefusedError) or "Connection refused" in str(e):
            return "refused", "connection refused"
    for e in chain:
        if isinstance(e, ssl.SSLError | requests.exceptions.SSLError):
            return "tls", "TLS handshake failed"
    text = str(exc)
    for needle, reason in (
        ("Name or service not known", "unknown host name"),
        ("nodename nor servname", "unknown host name"),
        ("No route to host", "no route to host"),
        ("Network is unreachable", "network unreachable"),
        ("Connection reset", "connection reset"),
        ("Remote end closed", "connection closed by the gateway"),
        ("RemoteDisconnected", "connection closed by the gateway"),
    ):
        if needle in text:
            return "unreachable", reason
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "unreachable", "network error"
    return "other", "an unexpected network error"


class WireRecorder(HTTPAdapter):
    """An ``HTTPAdapter`` that keeps the last few exchanges (thread-safe, bounded)."""

    def __init__(self, *args, keep: int = 256, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._events: deque[WireEvent] = deque(maxlen=keep)
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        self.last_seq = 0
        self.total = 0

    def send(self, request, **kwargs):  # type: ignore[override]
        started = time.perf_counter()
        path = urlsplit(request.url or "").path
        method = request.method or "GET"
        try:
            resp = super().send(request, **kwargs)
        except Exception as exc:
            kind, detail = _transport_error(exc)
            self._add(method, path, None, "", kind, detail, started)
            raise
        self._add(
            method, path, resp.status_code, resp.headers.get("Content-Type", ""), None, "", started
        )
        return resp

    def _add(self, method, path, status, ctype, error, detail, started) -> None:
        with self._lock:
            seq = next(self._seq)
            self._events.append(
                WireEvent(
                    seq, method, path, status, ctype, error, detail, time.perf_counter() - started
                )
            )
            self.last_seq = seq
            self.total += 1

    def since(self, mark: int) -> list[WireEvent]:
        """Events after sequence number ``mark`` (take ``last_seq`` before a call)."""
        with self._lock:
            return [e for e in self._events if e.seq > mark]
