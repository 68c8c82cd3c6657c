"""Gates that keep us from hurting the gateway or locking the owner out.

pypowerwall logs in again on *every* call while the password is wrong, and a
gateway that sees many failed logins answers 429 or locks the customer login
for 10-30 minutes. So the source itself refuses to try again until a growing
delay has passed (1, 2, 4, 8, 16, then every 30 minutes: at most 6 attempts in
the first hour and 2 an hour after that), whatever the caller does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from energytui.sources.base import human_duration

__all__ = ["LoginBackoff", "Pause", "human_duration"]


@dataclass
class LoginBackoff:
    """Delay before the next login after ``failures`` wrong-password answers in a row."""

    first_s: float = 60.0
    factor: float = 2.0
    max_s: float = 1800.0
    failures: int = 0
    blocked_until: datetime | None = None

    def delay_for(self, failures: int) -> float:
        return min(self.max_s, self.first_s * self.factor ** max(0, failures - 1))

    def failed(self, now: datetime) -> float:
        """Record a rejected login; return the seconds until the next attempt is allowed."""
        self.failures += 1
        delay = self.delay_for(self.failures)
        self.blocked_until = now + timedelta(seconds=delay)
        return delay

    def succeeded(self) -> None:
        self.failures = 0
        self.blocked_until = None

    def remaining(self, now: datetime) -> float:
        if self.blocked_until is None:
            return 0.0
        return max(0.0, (self.blocked_until - now).total_seconds())


@dataclass
class Pause:
    """A plain "do not call before" gate (a 429 from the gateway, say)."""

    until: datetime | None = None
    reason: str = ""
    extra: dict = field(default_factory=dict)

    def start(self, now: datetime, seconds: float, reason: str) -> None:
        self.until = now + timedelta(seconds=seconds)
        self.reason = reason

    def remaining(self, now: datetime) -> float:
        if self.until is None:
            return 0.0
        left = (self.until - now).total_seconds()
        if left <= 0:
            self.until = None
            return 0.0
        return left
