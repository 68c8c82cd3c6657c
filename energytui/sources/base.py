"""The contract every source keeps with the hub, and the words for how a source is doing.

:class:`SourceState` and :class:`Cause` are ``StrEnum``: each member *is* its string,
so ``to_dict``, the JSON API, the metrics and MQTT keep writing exactly the words they
wrote before ("ok", "timeout"), and a comparison with the bare string still holds.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Protocol, runtime_checkable


class SourceState(StrEnum):
    """How the hub judges a source's recent behaviour."""

    WAITING = "waiting"  # not polled successfully yet
    OK = "ok"  # the last poll succeeded and its data is live
    STALE = "stale"  # the last poll succeeded, but longer ago than two intervals
    ERROR = "error"  # the last poll failed; the hub backs off exponentially
    BACKOFF = "backoff"  # the source asked for a pause (login back-off, HTTP 429)


class Cause(StrEnum):
    """Why a poll (or a command) failed, in one word that drives gates and states."""

    ERROR = "error"  # none of the below: the message says what happened
    TIMEOUT = "timeout"  # no answer within the source's timeout
    UNREACHABLE = "unreachable"  # no connection could be made
    REFUSED = "refused"  # the connection was refused
    TLS = "tls"  # the TLS handshake failed
    HTTP = "http"  # an HTTP error status
    FORBIDDEN = "forbidden"  # the gateway does not let this login change settings
    RATE_LIMIT = "rate_limit"  # HTTP 429: slow down
    AUTH = "auth"  # the password was rejected (the login back-off gate)
    LOGIN = "login"  # the login failed for another reason
    CONFIG = "config"  # the configuration cannot work (a missing host, no sign-in)
    CLOUD = "cloud"  # not signed in to the Tesla cloud
    NO_DATA = "nodata"  # an answer without the data asked for
    NO_READING = "no_reading"  # a meter (or a remote hub) has no reading yet
    BAD_DATA = "bad_data"  # an answer that is not what the protocol says
    PROTOCOL = "protocol"  # a remote hub spoke a protocol we do not know
    STALE = "stale"  # a remote hub's own data is stale
    BUSY = "busy"  # the previous request is still running
    INPUT = "input"  # a command's value is out of range
    CLOSED = "closed"  # the source was closed
    UNSUPPORTED = "unsupported"  # this source (or connection mode) cannot do that


def human_duration(seconds: float) -> str:
    """'45 s', '4 min', '1 h 30 min': short words for a one-sentence message."""
    s = max(0, round(seconds))
    if s < 90:
        return f"{max(1, s)} s"
    minutes = round(s / 60)
    if minutes < 60:
        return f"{minutes} min"
    h, m = divmod(minutes, 60)
    return f"{h} h" if m == 0 else f"{h} h {m} min"


def with_wait(reason: str, then: str, seconds: float) -> str:
    """``reason; then <seconds in words>.``: the one sentence of a wait (a countdown is
    this sentence made again with the seconds left, see ``SourceHealth.error_text``)."""
    return f"{reason.rstrip('.')}; {then} {human_duration(seconds)}."


class SourceError(Exception):
    """A poll failed for a reason a user can act on; ``str()`` is one clear sentence.

    ``retry_after`` asks the hub to wait at least that many seconds before the
    next poll (a 429 pause, or the login back-off that keeps the owner from
    being locked out of the gateway). With ``then`` (say "next login attempt in") the
    message is the reason only, and the sentence ends with the wait, so the hub can
    say it again with the seconds that are left (a countdown, not a frozen "60 s").
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        cause: Cause | str = Cause.ERROR,
        then: str | None = None,
    ):
        self.reason = message
        self.then = then if retry_after is not None else None
        if self.then is not None and retry_after is not None:
            message = with_wait(message, self.then, retry_after)
        super().__init__(message)
        self.retry_after = retry_after
        self.cause = Cause(cause)


@runtime_checkable
class Source(Protocol):
    """A device the hub polls. ``poll`` returns a sample or raises :class:`SourceError`."""

    name: str
    kind: str  # "power" (PowerSample) or "meter" (MeterReading)
    interval_s: float
    timeout_s: float

    async def poll(self) -> Any: ...

    async def close(self) -> None: ...


@runtime_checkable
class DeviceSource(Protocol):
    """A power source with device details and settings (the Powerwall).

    Only the hub calls these: its commands (``Hub.set_reserve`` …) are the one way
    anything writes to a device."""

    where: str  # how the user knows the device: its address, or the cloud
    can_control: bool  # whether reserve and mode can be changed in this connection mode

    async def details(self) -> Any: ...

    async def refresh_details(self) -> Any: ...

    async def set_reserve(self, pct: float) -> str: ...

    async def set_mode(self, mode: str) -> str: ...
