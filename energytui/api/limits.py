"""The door of the API: who may write and how large and how slow a body may be, decided
before the body is read.

A pure ASGI middleware, outside FastAPI, because FastAPI reads and parses a declared
body before any dependency runs (the token check included), and because a route can
only refuse a body after something has started reading it. Here:

* a write (a POST to a write route) from a client that is neither trusted nor holds the
  token is refused from its headers and peer address alone (:class:`~energytui.api.auth.
  WriteAuth`), whatever body it carries;
* a request head over :data:`MAX_HEAD_BYTES` is refused with 431;
* a body whose Content-Length is over :data:`MAX_BODY_BYTES` is refused with 413 before a
  byte of it is read; a chunked one is counted as it arrives and refused when it passes;
* a body must arrive within :data:`BODY_TIMEOUT_S` of the request's headers, or the
  request is answered 408 and the connection closed: a client that promises more than it
  sends would otherwise hold a connection, and a task, for as long as it likes.

A refusal that leaves more than :data:`DRAIN_MAX_BYTES` of the body unread (or an
unknown amount: chunked) closes the connection rather than let the server read and
drop the rest; a smaller remainder is drained by the server so that a client reusing
its connection (the seed's Pi) reads the refusal cleanly.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from energytui.api.auth import WriteAuth

#: the largest body any route takes: a meter reading is about 200 bytes, so this leaves
#: room for a chatty sender and none for one that would make the hub parse megabytes
MAX_BODY_BYTES = 16 * 1024
#: longest from a request's headers to the last byte of its body (a reading is one packet)
BODY_TIMEOUT_S = 5.0
#: the largest request head taken (uvicorn's h11 only checks a head that arrives in pieces)
MAX_HEAD_BYTES = 16 * 1024
#: a refused body with at most this much left unread is drained, keeping the connection
DRAIN_MAX_BYTES = 1024 * 1024

TOO_LARGE = f"The request body is larger than {MAX_BODY_BYTES} bytes; a reading needs far less."
TOO_SLOW = (
    f"The request body did not arrive within {BODY_TIMEOUT_S:g} s of its headers, "
    "so the connection was closed."
)
HEAD_TOO_LARGE = f"The request's headers are larger than {MAX_HEAD_BYTES} bytes."
BAD_LENGTH = "The Content-Length header is not a number of bytes."
#: where a refusal is answered in the seed's shape (``status``/``reason``/``code``)
SEED_SHAPED = frozenset({"/meter_reading"})

CLOSE = {"Connection": "close"}


class BodyRefused(HTTPException):
    """The body was refused while a route read it (too large or too slow); answered by the
    app's HTTP error handler, or by :class:`RequestLimits` if it escapes."""

    def __init__(self, status_code: int, detail: str, code: str) -> None:
        super().__init__(status_code, detail, headers=dict(CLOSE))
        self.code = code


class BodyTooLarge(BodyRefused):
    def __init__(self) -> None:
        super().__init__(413, TOO_LARGE, "too_large")


class BodyTooSlow(BodyRefused):
    def __init__(self) -> None:
        super().__init__(408, TOO_SLOW, "too_slow")


def refusal_body(path: str, detail: str, code: str) -> dict[str, str]:
    """The one-sentence problem JSON; the seed's route keeps the seed's rejected shape."""
    if path in SEED_SHAPED and code in ("too_large", "too_slow"):
        return {"status": "rejected", "reason": detail, "code": code}
    return {"detail": detail}


async def answer(
    send: Send, status: int, body: Mapping[str, str], headers: Mapping[str, str] | None = None
) -> None:
    payload = json.dumps(body).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(payload))]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


class RequestLimits:
    """ASGI middleware enforcing the write guard, the body cap and the body deadline."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        auth: WriteAuth,
        write_paths: frozenset[str],
        max_body: int = MAX_BODY_BYTES,
        body_timeout_s: float = BODY_TIMEOUT_S,
    ) -> None:
        self.app = app
        self.auth = auth
        self.write_paths = write_paths
        self.max_body = max_body
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_headers = scope["headers"]
        if sum(len(k) + len(v) + 4 for k, v in raw_headers) + len(scope.get("raw_path", b"")) > (
            MAX_HEAD_BYTES
        ):
            await answer(send, 431, {"detail": HEAD_TOO_LARGE}, CLOSE)
            return
        headers = Headers(scope=scope)
        path: str = scope["path"]
        declared_raw = headers.get("content-length")
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        declared: int | None = None
        if declared_raw is not None:
            if not declared_raw.strip().isdigit():
                await answer(send, 400, {"detail": BAD_LENGTH}, CLOSE)
                return
            declared = int(declared_raw)
        has_body = chunked or bool(declared)
        # an unread remainder we would rather not drain: close instead
        close = {} if (declared or 0) <= DRAIN_MAX_BYTES and not chunked else CLOSE

        if scope["method"] == "POST" and path in self.write_paths:
            client = scope.get("client")
            refused = self.auth.refusal(client[0] if client else None, headers.get("authorization"))
            if refused is not None:
                status, detail, extra = refused
                await answer(send, status, {"detail": detail}, {**extra, **close})
                return
        if declared is not None and declared > self.max_body:
            await answer(send, 413, refusal_body(path, TOO_LARGE, "too_large"), close)
            return
        if not has_body:
            await self.app(scope, receive, send)
            return

        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.body_timeout_s
        size = 0
        complete = False
        started = False

        async def guarded_receive() -> Message:
            nonlocal size, complete
            if complete:  # the body is in: later calls wait for a disconnect, unbounded
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                raise BodyTooSlow() from None
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > self.max_body:
                    raise BodyTooLarge()
                complete = not message.get("more_body", False)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, guarded_receive, watched_send)
        except BodyRefused as exc:  # raised outside any handler that would answer it
            if started:
                raise
            await answer(send, exc.status_code, refusal_body(path, exc.detail, exc.code), CLOSE)
