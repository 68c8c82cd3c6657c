"""The contract every source keeps with the hub."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


class SourceError(Exception):
    """A poll failed for a reason a user can act on; ``str()`` is one clear sentence.

    ``retry_after`` asks the hub to wait at least that many seconds before the
    next poll (a 429 pause, or the login back-off that keeps the owner from
    being locked out of the gateway).
    """

    def __init__(self, message: str, *, retry_after: float | None = None, cause: str = "error"):
        super().__init__(message)
        self.retry_after = retry_after
        self.cause = cause


@runtime_checkable
class Source(Protocol):
    """A device the hub polls. ``poll`` returns a sample or raises :class:`SourceError`."""

    name: str
    kind: str  # "power" (PowerSample) or "meter" (MeterReading)
    interval_s: float
    timeout_s: float

    async def poll(self) -> Any: ...

    async def close(self) -> None: ...
