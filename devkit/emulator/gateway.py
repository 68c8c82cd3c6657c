"""The emulated gateway's state: sessions, settings, counts and the site behind them.

No sockets here. The answers to GET paths are in :mod:`devkit.emulator.answers`;
both use the gateway's raw battery scale, which includes Tesla's hidden 5 %
(the app shows ``(raw - 5) / 0.95``). Values come from :class:`SimulatedSite`,
moved to the emulator clock's "now" at most once per second of site time so the
three requests of one client poll see one consistent instant.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from energytui.clock import Clock
from energytui.model import PowerSample
from energytui.sources.simulated import SimulatedSite

#: Modes the gateway accepts in ``real_mode``.
MODES = ("self_consumption", "backup", "autonomous")

DIN = "1232100-00-E--TG0000000000EMU"
BATTERY_SERIALS = ("TG0000000000PW1", "TG0000000000PW2")


def raw_from_app(pct: float) -> float:
    """Tesla app percentage -> the gateway's raw scale (which keeps 5 % hidden)."""
    return pct * 0.95 + 5.0


def app_from_raw(raw: float) -> float:
    """Gateway raw percentage -> what the Tesla app (and energytui) shows."""
    return max(0.0, (raw - 5.0) / 0.95)


@dataclass(frozen=True)
class Reply:
    """An answer before it is put on the wire."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    cookies: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, status: int, obj: Any, cookies: tuple[tuple[str, str], ...] = ()) -> Reply:
        return cls(status, json.dumps(obj).encode(), "application/json", cookies)


UNAUTHORIZED = Reply.json(401, {"code": 401, "error": "Token Expired", "message": "Token Expired"})
BAD_LOGIN = Reply.json(401, {"code": 401, "error": "bad credentials", "message": "Login Error"})
RATE_LIMITED = Reply.json(
    429,
    {"code": 429, "error": "Api Limit reached for this endpoint", "message": "API Limit Reached"},
)
NOT_FOUND = Reply.json(404, {"code": 404, "error": "Not Found", "message": "Not Found"})


@dataclass
class Counts:
    """Requests seen, for tests and the benchmark (a copy; it does not change)."""

    by_path: dict[str, int] = field(default_factory=dict)  # "GET /api/…" -> n
    total: int = 0
    login_attempts: int = 0
    login_failures: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "login_attempts": self.login_attempts,
            "login_failures": self.login_failures,
            "by_path": dict(sorted(self.by_path.items())),
        }


class Gateway:
    """The emulated Tesla Energy Gateway: sessions, settings and the site behind them."""

    def __init__(
        self,
        site: SimulatedSite,
        clock: Clock,
        password: str,
        *,
        firmware: str = "24.44.1 c58c2df3",
        site_name: str = "Emulated Home",
        allow_control: bool = True,
    ) -> None:
        self.site = site
        self.clock = clock
        self.password = password
        self.firmware = firmware
        self.site_name = site_name
        self.allow_control = allow_control
        #: False: ``system_status`` lists no ``battery_blocks`` (as some gateways and
        #: outside simulators answer); the vitals still hold every battery pod
        self.list_blocks = True
        self.real_mode = "self_consumption"
        self.started = clock.now()
        self._lock = threading.RLock()
        self._sessions: set[str] = set()
        self._counter: Counter[str] = Counter()
        self._logins = 0
        self._login_failures = 0
        self._sample: PowerSample | None = None

    # -- bookkeeping ---------------------------------------------------------
    def count(self, method: str, path: str) -> None:
        with self._lock:
            self._counter[f"{method} {path}"] += 1

    def counts(self) -> Counts:
        with self._lock:
            return Counts(
                dict(self._counter), sum(self._counter.values()), self._logins, self._login_failures
            )

    def reset_counts(self) -> None:
        with self._lock:
            self._counter.clear()
            self._logins = self._login_failures = 0

    def end_sessions(self) -> None:
        """Forget every session (a gateway restart, or the password changed)."""
        with self._lock:
            self._sessions.clear()

    def set_password(self, password: str) -> None:
        with self._lock:
            self.password = password
            self._sessions.clear()

    def set_outage(self, on: bool) -> None:
        with self._lock:
            self.site.outage = on
            self._sample = None  # the next read shows the islanded site at once

    # -- auth ----------------------------------------------------------------
    def login(self, body: bytes, content_type: str, *, reject_all: bool = False) -> Reply:
        """``POST /api/login/Basic``: accept form or JSON bodies like real firmware."""
        with self._lock:
            self._logins += 1
            fields: dict[str, Any] = {}
            try:
                if "json" in content_type:
                    loaded = json.loads(body or b"{}")
                    fields = loaded if isinstance(loaded, dict) else {}
                else:
                    fields = {
                        k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()
                    }
            except (ValueError, UnicodeDecodeError):
                fields = {}
            ok = (
                not reject_all
                and fields.get("username", "customer") == "customer"
                and secrets.compare_digest(str(fields.get("password", "")), self.password)
            )
            if not ok:
                self._login_failures += 1
                return BAD_LOGIN
            token = secrets.token_urlsafe(24)
            self._sessions.add(token)
            reply = {
                "email": str(fields.get("email", "")),
                "firstname": "Tesla",
                "lastname": "Energy",
                "roles": ["Home_Owner"],
                "token": token,
                "provider": "Basic",
                "loginTime": iso_s(self.clock.now()),
            }
            record = secrets.token_urlsafe(12)
            return Reply.json(200, reply, (("AuthCookie", token), ("UserRecord", record)))

    def authorized(self, cookie_header: str, authorization: str) -> bool:
        """A request is in a session if its AuthCookie or Bearer token is one we issued.

        pypowerwall sends each cookie pair twice (its dict and the session jar),
        so duplicates are normal and harmless here.
        """
        tokens = []
        for part in cookie_header.split(";"):
            name, _, value = part.strip().partition("=")
            if name == "AuthCookie" and value:
                tokens.append(value)
        if authorization.lower().startswith("bearer "):
            tokens.append(authorization[7:].strip())
        with self._lock:
            return any(t in self._sessions for t in tokens)

    def logout(self, cookie_header: str, authorization: str) -> None:
        with self._lock:
            for part in cookie_header.split(";"):
                name, _, value = part.strip().partition("=")
                if name == "AuthCookie":
                    self._sessions.discard(value)
            if authorization.lower().startswith("bearer "):
                self._sessions.discard(authorization[7:].strip())

    # -- the site --------------------------------------------------------------
    def sample(self) -> PowerSample:
        """The site now; advanced at most once per second of site time."""
        with self._lock:
            now = self.clock.now()
            if self._sample is None or (now - self._sample.ts).total_seconds() >= 1.0:
                self._sample = self.site.advance(now)
            return self._sample

    @property
    def reserve_raw(self) -> float:
        return raw_from_app(self.site.spec.reserve_pct)

    def set_operation(self, obj: Any) -> Reply:
        """``POST /api/operation``: the full overwrite real firmware expects."""
        if not self.allow_control:
            return Reply.json(403, {"code": 403, "error": "Forbidden", "message": "Unauthorized"})
        if not isinstance(obj, dict):
            return Reply.json(
                400, {"code": 400, "error": "Bad Request", "message": "expected a JSON object"}
            )
        with self._lock:
            mode = obj.get("real_mode", self.real_mode)
            level = obj.get("backup_reserve_percent", self.reserve_raw)
            if mode not in MODES:
                return Reply.json(
                    400,
                    {"code": 400, "error": "Bad Request", "message": f"invalid real_mode {mode!r}"},
                )
            try:
                level = float(level)
            except (TypeError, ValueError):
                level = -1.0
            if not 0.0 <= level <= 100.0:
                return Reply.json(
                    400,
                    {
                        "code": 400,
                        "error": "Bad Request",
                        "message": "backup_reserve_percent out of range",
                    },
                )
            self.real_mode = mode
            self.site.spec.reserve_pct = round(app_from_raw(level), 3)
            return Reply.json(200, self.operation())

    # -- GET routes --------------------------------------------------------------
    def get(self, path: str) -> Reply | None:
        """The answer to an authenticated GET, or None for an unknown path."""
        from devkit.emulator.answers import ROUTES  # answers import this module

        route = ROUTES.get(path)
        if route is None:
            return None
        with self._lock:
            return route(self)

    def island_state(self) -> str:
        """The gateway's word for the grid state (``system_island_state``)."""
        return "SystemIslandedActive" if self.site.outage else "SystemGridConnected"

    def operation(self) -> dict:
        """``/api/operation``: mode and reserve on the gateway's raw scale."""
        return {
            "real_mode": self.real_mode,
            "backup_reserve_percent": round(self.reserve_raw, 3),
            "freq_shift_load_shed_soe": 0,
            "freq_shift_load_shed_delta_f": 0,
        }


PUBLIC_PATHS = frozenset(
    {"/api/status", "/api/customer/registration", "/api/auth/toggle/supported"}
)


def iso_s(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
