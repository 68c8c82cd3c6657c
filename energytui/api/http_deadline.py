"""uvicorn's h11 protocol with a deadline on a request's head.

uvicorn times a connection out only while it is idle *between* requests
(``timeout_keep_alive``); a client that connects and sends nothing, or sends its
request line and headers a byte at a time, holds the connection (and its buffers) for
as long as it likes. Here the head of every request, the first one included, must be
complete within :data:`HEADER_TIMEOUT_S` of its first byte (or of the connection), or
the connection is closed. The body's deadline is the ASGI middleware's
(:mod:`energytui.api.limits`), which can still answer 408.
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from energytui.api.limits import MAX_HEAD_BYTES

__all__ = ["HEADER_TIMEOUT_S", "MAX_HEAD_BYTES", "HeaderDeadlineH11"]

#: longest from a connection (or the first byte of a request) to the end of its headers
HEADER_TIMEOUT_S = 5.0


class HeaderDeadlineH11(H11Protocol):
    """H11Protocol that closes a connection whose request head does not arrive in time,
    or whose refused body is still trickling in that long after the answer."""

    header_timeout_s = HEADER_TIMEOUT_S
    _timer: asyncio.TimerHandle | None = None
    #: the request whose body is drained after its answer (a refusal before reading it)
    _drained: object = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._timer is None and self.conn.their_state is h11.IDLE:
            self._arm()  # the first byte of a next request on this connection
        super().data_received(data)
        if not self._waiting():
            self._disarm()  # the head is in (and any refused body drained)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.conn.their_state is h11.SEND_BODY and not self.transport.is_closing():
            # answered before the body was read: uvicorn reads and drops the rest, and
            # would wait for it as long as it keeps trickling in
            self._drained = self.cycle
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _waiting(self) -> bool:
        """Whether the client owes us a request head, or the rest of a refused body."""
        state = self.conn.their_state
        if state is h11.IDLE:
            return True
        return state is h11.SEND_BODY and self.cycle is not None and self.cycle is self._drained

    def _arm(self) -> None:
        self._disarm()
        self._timer = self.loop.call_later(self.header_timeout_s, self._timed_out)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self) -> None:
        self._timer = None
        if self._waiting() and not self.transport.is_closing():
            self.transport.close()
