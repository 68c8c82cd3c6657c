"""Why a Powerwall call gave no data, in one sentence a user can act on.

The evidence is what :class:`~energytui.sources.powerwall_wire.WireRecorder`
saw on the wire during the call (timeouts, refusals, HTTP statuses, content
types) plus what pypowerwall raised. Kept apart from the source so the wording
of every failure lives in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from energytui.sources.base import Cause, with_wait
from energytui.sources.powerwall_wire import WireEvent

LOGIN = "/api/login/Basic"
OPERATION = "/api/operation"


class Failure(Exception):
    """A failure inside the worker thread; ``cause`` drives the gates and the hub state."""

    def __init__(
        self,
        message: str,
        cause: Cause,
        *,
        retry_after: float | None = None,
        then: str | None = None,
    ) -> None:
        self.reason = message
        self.then = then if retry_after is not None else None
        if self.then is not None and retry_after is not None:
            message = with_wait(message, self.then, retry_after)
        super().__init__(message)
        self.cause = Cause(cause)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Explainer:
    """Words for failures of one gateway (``where`` is its address, or the cloud)."""

    where: str
    timeout_s: float
    mode: str = "local"

    def transport(self, ev: WireEvent) -> Failure:
        """A request that got no answer."""
        if ev.error == "timeout":
            return Failure(
                f"Powerwall at {self.where} did not answer within {self.timeout_s:g} s.",
                Cause.TIMEOUT,
            )
        if ev.error == "refused":
            return Failure(
                f"Powerwall at {self.where} refused the connection; check the address and "
                "that the gateway is on.",
                Cause.REFUSED,
            )
        if ev.error == "tls":
            return Failure(
                f"The TLS handshake with the Powerwall at {self.where} failed.", Cause.TLS
            )
        return Failure(
            f"Cannot reach the Powerwall at {self.where} ({ev.detail}).", Cause.UNREACHABLE
        )

    def raise_if_transport(self, events: list[WireEvent]) -> None:
        """Stop a cycle at the first request that got no answer or a 429."""
        for ev in events:
            if ev.error is not None:
                raise self.transport(ev)
            if ev.status == 429:
                raise Failure("Powerwall asked us to slow down (HTTP 429).", Cause.RATE_LIMIT)

    def from_exception(self, exc: Exception, events: list[WireEvent]) -> Failure:
        """pypowerwall raised (login problems, cloud not connected): name the cause."""
        login = [e for e in events if e.path == LOGIN]
        last = login[-1] if login else (events[-1] if events else None)
        if last is not None and last.error is not None:
            return self.transport(last)
        if last is not None and last.path == LOGIN:
            if last.status in (401, 403):
                return Failure("Powerwall rejected the password.", Cause.AUTH)
            if last.status == 429:
                return Failure("Powerwall asked us to slow down (HTTP 429).", Cause.RATE_LIMIT)
            return Failure(
                f"Powerwall login failed with HTTP {last.status}; will retry.", Cause.LOGIN
            )
        name = type(exc).__name__  # matched on, never shown: users read sentences
        if name == "LoginError":
            return Failure("Powerwall rejected the password.", Cause.AUTH)
        if "NotConnected" in name or "Cloud" in name or "Fleet" in name:
            setup = "fleetapi" if self.mode == "fleetapi" else "setup"
            return Failure(
                f"Not signed in to {self.where}; run 'python -m pypowerwall {setup}' once "
                "with auth_path set to the same folder.",
                Cause.CLOUD,
            )
        if isinstance(exc, ConnectionError):
            return Failure(f"Cannot reach the Powerwall at {self.where}.", Cause.UNREACHABLE)
        return Failure(
            f"Reading the Powerwall at {self.where} failed; the log has the details.",
            Cause.ERROR,
        )

    def missing(
        self, path: str, payload: Any, events: list[WireEvent], *, cooling_down: bool = False
    ) -> Failure:
        """A call returned no usable data: find out why from the exchanges it made."""
        for ev in events:
            if ev.error is not None:
                return self.transport(ev)
        last = events[-1] if events else None
        if last is None:
            if cooling_down:
                return Failure("Powerwall asked us to slow down (HTTP 429).", Cause.RATE_LIMIT)
            if self.mode in ("cloud", "fleetapi"):
                return Failure(
                    f"{self.where[0].upper()}{self.where[1:]} returned no power data for the site.",
                    Cause.NO_DATA,
                )
            return Failure(f"Powerwall at {self.where} returned no power data.", Cause.NO_DATA)
        status = last.status or 0
        if status == 429:
            return Failure("Powerwall asked us to slow down (HTTP 429).", Cause.RATE_LIMIT)
        if status in (401, 403) and any(e.path == LOGIN for e in events):
            # pypowerwall logged in again and was still refused: every further call would
            # log in again, so this counts against the login budget like a wrong password
            return Failure(
                f"Powerwall at {self.where} accepted the login but refused {path} (HTTP {status})",
                Cause.AUTH,
            )
        if status in (401, 403):
            return Failure(
                f"Powerwall at {self.where} refused access to {path} (HTTP {status}).", Cause.HTTP
            )
        if status == 404:
            return Failure(
                f"Powerwall at {self.where} has no {path} (HTTP 404); a Powerwall 3 needs "
                "TEDAPI mode.",
                Cause.HTTP,
            )
        if status >= 400:
            phrase = (
                HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "error"
            )
            return Failure(
                f"Powerwall at {self.where} answered HTTP {status} ({phrase}).", Cause.HTTP
            )
        if "json" not in last.content_type.lower():
            return Failure(
                f"Powerwall at {self.where} sent {path} as {last.content_type or 'no type'}, "
                "not JSON.",
                Cause.BAD_DATA,
            )
        if payload is None:
            return Failure(
                f"Powerwall at {self.where} sent an answer that is not valid JSON.", Cause.BAD_DATA
            )
        return Failure(
            f"Powerwall at {self.where} sent power data without all four meters.", Cause.BAD_DATA
        )

    def write(self, events: list[WireEvent], result: Any) -> Failure:
        """A reserve or mode change that was not confirmed."""
        posts = [e for e in events if e.method == "POST" and e.path == OPERATION]
        for ev in events:
            if ev.error is not None:
                return self.transport(ev)
        if posts and posts[-1].status == 403:
            return Failure(
                "The Powerwall refused the change (HTTP 403): this gateway does not let the "
                "customer login change settings; use cloud or FleetAPI mode.",
                Cause.FORBIDDEN,
            )
        if posts and (posts[-1].status or 0) >= 400:
            return Failure(
                f"The Powerwall refused the change (HTTP {posts[-1].status}).", Cause.HTTP
            )
        if isinstance(result, dict) and result.get("error"):
            return Failure(
                f"{self.where[0].upper()}{self.where[1:]} refused the change.", Cause.HTTP
            )
        return Failure(f"The Powerwall at {self.where} did not confirm the change.", Cause.NO_DATA)
