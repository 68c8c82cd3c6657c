"""Faults the emulator can inject, by name, so tests and users can rehearse failures.

A fault is data, not behaviour: the server asks :meth:`FaultBook.pick` which
fault applies to a request and acts on it. Keeping the book separate makes the
rules (which paths, how many times, for how long) testable without sockets.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

#: name -> what it does; the emulator's help and the control endpoint list these.
FAULTS: dict[str, str] = {
    "slow": "answer every gateway request after delay_s seconds (default 1.0)",
    "hang": "hold each request for seconds (default 30) without answering, then drop the connection",
    "error": "answer with HTTP status (default 500) and a JSON error body",
    "wrong_password": "reject the client's password as if the owner changed it: sessions end, logins get 401",
    "session_expired": "forget every session once, so the next request gets 401 and logs in again",
    "rate_limit": "answer 429 'API Limit Reached' to every request, logins included",
    "garbage": "answer 200 application/json with a body that is not JSON",
    "not_json": "answer 200 text/plain 'TIMEOUT!' like a gateway endpoint that hung",
    "refuse": "stop listening and drop open connections, so clients see connection refused",
    "outage": "grid outage: the site islands, grid power drops to 0 and the battery carries the house",
}

#: Faults that change how a request is answered, in the order they are checked.
REQUEST_FAULTS = ("hang", "slow", "rate_limit", "error", "garbage", "not_json")


class FaultError(ValueError):
    """A bad fault request; ``str()`` is one sentence for the user."""


@dataclass
class Fault:
    """One active fault and the limits on where and how long it applies."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    paths: tuple[str, ...] = ()  # path prefixes; empty means every /api/ path
    remaining: int | None = None  # requests left before it clears itself
    until: float | None = None  # time.monotonic() after which it clears itself

    def matches(self, path: str) -> bool:
        if not path.startswith("/api/") and path != "/":
            return False
        return not self.paths or any(path.startswith(p) for p in self.paths)

    def expired(self, now: float) -> bool:
        return (self.remaining is not None and self.remaining <= 0) or (
            self.until is not None and now >= self.until
        )


def make_fault(name: str, params: dict[str, Any]) -> Fault:
    """Validate a fault request; raise :class:`FaultError` naming what to fix."""
    if name not in FAULTS:
        raise FaultError(f"Unknown fault {name!r}; choose one of {', '.join(sorted(FAULTS))}.")
    params = dict(params)
    paths = params.pop("paths", None) or ()
    if isinstance(paths, str):
        paths = (paths,)
    count = params.pop("count", None)
    seconds = params.pop("for_s", None)
    try:
        if name == "slow":
            params["delay_s"] = float(params.get("delay_s", 1.0))
        elif name == "hang":
            params["seconds"] = float(params.get("seconds", 30.0))
        elif name == "error":
            params["status"] = int(params.get("status", 500))
            if not 400 <= params["status"] <= 599:
                raise FaultError("Fault 'error' needs a status between 400 and 599.")
        remaining = None if count is None else int(count)
        until = None if seconds is None else time.monotonic() + float(seconds)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, FaultError):
            raise
        raise FaultError(f"Fault {name!r} got a parameter that is not a number.") from None
    return Fault(name, params, tuple(str(p) for p in paths), remaining, until)


class FaultBook:
    """The active faults, safe to read and change from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: dict[str, Fault] = {}

    def set(self, fault: Fault) -> None:
        with self._lock:
            self._faults[fault.name] = fault

    def clear(self, name: str | None = None) -> None:
        with self._lock:
            if name is None:
                self._faults.clear()
            else:
                self._faults.pop(name, None)

    def active(self, name: str) -> Fault | None:
        now = time.monotonic()
        with self._lock:
            fault = self._faults.get(name)
            if fault is not None and fault.expired(now):
                del self._faults[name]
                return None
            return fault

    def pick(self, path: str) -> Fault | None:
        """The request fault that applies to ``path`` (and use up one of its count)."""
        now = time.monotonic()
        with self._lock:
            for name in REQUEST_FAULTS:
                fault = self._faults.get(name)
                if fault is None:
                    continue
                if fault.expired(now):
                    del self._faults[name]
                    continue
                if fault.matches(path):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                    return fault
        return None

    def snapshot(self) -> dict[str, dict[str, Any]]:
        now = time.monotonic()
        with self._lock:
            return {
                n: {
                    "params": dict(f.params),
                    "paths": list(f.paths),
                    "remaining": f.remaining,
                    "seconds_left": None if f.until is None else max(0.0, round(f.until - now, 1)),
                }
                for n, f in self._faults.items()
                if not f.expired(now)
            }
