"""Limits on what a client may send the agent: body size, JSON depth, and how long it may
take to send its headers and its body.

Why: the agent is a small service on a Pi on a LAN. Without limits one request could
make it read a 20 MB body into memory, recurse through JSON nested 100 000 deep
(RecursionError, answered 500), or hold a connection for minutes by promising a body it
never sends. Each of these is answered here with a 4xx and one sentence, and nothing is
stored:

* :class:`BodyGuard` (ASGI): a ``Content-Length`` over the cap is refused (413) before
  a byte of the body is read; a chunked body is counted as it arrives and refused once
  over the cap; the whole body must arrive within :data:`BODY_DEADLINE_S` (else 408);
  and a response sent while the body is still unread closes the connection, so a
  refused upload is never read to its end. Routes that need the token check it before
  they read their body (a FastAPI dependency runs first), so an unauthenticated upload
  is refused without being read.
* :func:`parse_json_object`: the nesting depth is measured before ``json.loads``.
* :class:`HeaderDeadlineH11` (uvicorn, energytui's API uses it too): a request's head
  must arrive within :data:`HEADER_DEADLINE_S` of its first byte (or of the connection).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import h11
import numpy as np
from uvicorn.protocols.http.h11_impl import H11Protocol

#: the largest request body any route takes (JSON; no route takes images)
MAX_BODY_BYTES = 1 << 20
#: how deep a JSON body may nest (the deepest real one, a calibration, is 2)
MAX_JSON_DEPTH = 32
#: time allowed for a whole request body, from the first read (1 MB at 2 Mbit/s: 4 s)
BODY_DEADLINE_S = 5.0
#: time allowed for a request's headers
HEADER_DEADLINE_S = 5.0
#: the largest request head (request line + headers) uvicorn's h11 parser buffers
MAX_HEADER_BYTES = 16 * 1024


class BodyTooLarge(Exception):
    """The body is over :data:`MAX_BODY_BYTES`."""


class BodyTimeout(Exception):
    """The body did not arrive within :data:`BODY_DEADLINE_S`."""


class BadJson(ValueError):
    """A body that is not the JSON object a route takes; one sentence."""


def json_depth(raw: bytes) -> int:
    """How deep the arrays and objects in ``raw`` nest (brackets inside strings do not
    count). Linear, vectorised and without recursion, so it is safe on any input: a
    quote preceded by an odd run of backslashes is escaped; a bracket after an odd
    number of unescaped quotes is inside a string."""
    b = np.frombuffer(raw, dtype=np.uint8)
    n = b.size
    if n == 0:
        return 0
    pos = np.arange(n)
    backslash = b == ord("\\")
    # index of the last byte at or before i that is not a backslash (-1: none)
    last_plain = np.maximum.accumulate(np.where(backslash, -1, pos))
    run_before = np.zeros(n, dtype=np.int64)  # backslashes right before each byte
    run_before[1:] = pos[:-1] - last_plain[:-1]
    quote = (b == ord('"')) & (run_before % 2 == 0)
    inside = (np.cumsum(quote) - quote) % 2 == 1  # after an opening quote, not yet closed
    outside = ~inside & ~quote
    steps = (((b == ord("{")) | (b == ord("["))) & outside).astype(np.int8)
    steps -= ((b == ord("}")) | (b == ord("]"))) & outside
    return int(np.cumsum(steps, dtype=np.int64).max(initial=0))


def parse_json_object(raw: bytes, example: str) -> dict[str, Any]:
    """``raw`` as a JSON object, or :class:`BadJson` naming ``example`` as the shape."""
    if json_depth(raw) > MAX_JSON_DEPTH:
        raise BadJson(f"the body nests deeper than {MAX_JSON_DEPTH} levels; send {example}.")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadJson(f"the body must be JSON, e.g. {example}.") from None
    if not isinstance(data, dict):
        raise BadJson(f"the body must be a JSON object, e.g. {example}.")
    return data


def _header(scope: dict[str, Any], name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


@dataclass
class _BodyState:
    """How much of one request's body has come, and by when the rest must."""

    done: bool
    read: int = 0
    deadline: float | None = None


class BodyGuard:
    """ASGI middleware: the body cap and deadline (see the module docstring). The route
    sees :class:`BodyTooLarge` or :class:`BodyTimeout` from ``receive``; the app answers
    them (413, 408)."""

    def __init__(
        self,
        app: Any,
        max_bytes: int = MAX_BODY_BYTES,
        deadline_s: float = BODY_DEADLINE_S,
    ) -> None:
        self.app, self.max_bytes, self.deadline_s = app, max_bytes, deadline_s

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        length = _header(scope, b"content-length")
        chunked = b"chunked" in (_header(scope, b"transfer-encoding") or b"").lower()
        try:
            declared = int(length) if length is not None else 0
        except ValueError:
            declared = 0  # h11 refuses such a request before it gets here
        if declared > self.max_bytes:
            await _refuse(
                send, 413, f"the body is over the {self.max_bytes} bytes this agent takes."
            )
            return
        state = _BodyState(done=not (declared or chunked))
        loop = asyncio.get_running_loop()

        async def guarded_receive() -> Any:
            if state.deadline is None:
                state.deadline = loop.time() + self.deadline_s
            if state.done:
                return await receive()
            left = max(0.0, state.deadline - loop.time())
            try:
                message = await asyncio.wait_for(receive(), left)
            except TimeoutError:
                raise BodyTimeout from None
            if message.get("type") == "http.request":
                state.read += len(message.get("body", b""))
                if state.read > self.max_bytes:
                    raise BodyTooLarge
                if not message.get("more_body", False):
                    state.done = True
            return message

        async def guarded_send(message: Any) -> None:
            if message.get("type") == "http.response.start" and not state.done:
                # the body was not (all) read: close rather than read the rest of it
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, guarded_receive, guarded_send)


async def _refuse(send: Any, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class HeaderDeadlineH11(H11Protocol):
    """uvicorn's h11 protocol with a deadline on a request's head, for both servers (the
    agent's and energytui's API).

    uvicorn times a connection out only while it is idle *between* requests
    (``timeout_keep_alive``), and any byte received restarts that timer: a client that
    connects and sends nothing, or sends its request line and headers a byte at a time,
    would hold the connection (and its buffers) for as long as it likes. Here the head
    of every request, the first one included, must be complete within
    :data:`HEADER_DEADLINE_S` of its first byte (or of the connection), or the
    connection is closed; so must the rest of a body refused before it was read (uvicorn
    reads and drops it, and would wait as long as it keeps trickling in). The body's own
    deadline is the application's (:class:`BodyGuard`, energytui's ``RequestLimits``)."""

    header_deadline_s = HEADER_DEADLINE_S
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
            # answered before the body was read: uvicorn reads and drops the rest
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
        self._timer = self.loop.call_later(self.header_deadline_s, self._timed_out)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self) -> None:
        self._timer = None
        if self._waiting() and not self.transport.is_closing():
            self.transport.close()
