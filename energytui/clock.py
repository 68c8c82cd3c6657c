"""Clocks: real time, or time that runs faster for demos and benchmarks.

Everything that needs "now" takes a clock, so tests and the accelerated demo
site share one code path with the real thing.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class Clock:
    """Wall-clock time, timezone-aware UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class AcceleratedClock(Clock):
    """Time that passes ``factor`` times faster than the wall clock, from ``start``."""

    def __init__(self, factor: float = 1.0, start: datetime | None = None) -> None:
        if factor <= 0:
            raise ValueError("time acceleration must be positive")
        self.factor = factor
        self.start = start or datetime.now(UTC)
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self._t0) * self.factor)


class ManualClock(Clock):
    """A clock that moves only when told to: for tests and the emulator's scripted faults."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
