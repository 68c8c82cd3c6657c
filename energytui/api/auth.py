"""Who may write: a Bearer token, or a client address inside a trusted network.

Reads stay open (Home Assistant's REST sensors and the original Flask API had
no auth, and the API binds to loopback by default). Writes need ``api.token``:
with none configured they are refused outright rather than left open, because
a meter reading accepted from anyone would poison the lifetime totals.

The one exception is ``api.trusted_networks``: the seed's Pi posts its readings
with no token, and a user switching over should not have to touch the Pi. A
client whose address is inside one of those networks writes without a token;
everyone else still needs it. The address is the TCP peer's (no proxy headers
are believed: a header is whatever the client says it is).
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from energytui.config import IPNetwork

NO_TOKEN = (
    "Writing is disabled because no API token is configured; "
    "set api.token in the config file (or ENERGYTUI_API__TOKEN) and send it as a Bearer token."
)
BAD_TOKEN = "Missing or wrong API token; send the header 'Authorization: Bearer <api.token>'."

#: a refused write: status, one sentence, extra headers
Refusal = tuple[int, str, dict[str, str]]

BEARER = HTTPBearer(auto_error=False, description="the configured api.token")


def is_trusted(host: str | None, networks: Iterable[IPNetwork]) -> bool:
    """Whether the client address ``host`` lies in one of ``networks``.

    An IPv4 client on a dual-stack socket arrives as ``::ffff:a.b.c.d``; it is compared
    as the IPv4 address it is. A host that is not an address (a test client's name, a
    Unix socket) is never trusted.
    """
    if not host:
        return False
    try:
        addr = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return any(addr.version == net.version and addr in net for net in networks)


@dataclass(frozen=True)
class WriteAuth:
    """Who may write, decided from the peer address and the Authorization header alone,
    so that it can run before a byte of the body is read (:mod:`energytui.api.limits`)."""

    token: str
    networks: tuple[IPNetwork, ...] = ()

    def refusal(self, host: str | None, authorization: str | None) -> Refusal | None:
        """None when the writer may write, else (status, one sentence, extra headers)."""
        if self.networks and is_trusted(host, self.networks):
            return None
        if not self.token:
            return status.HTTP_403_FORBIDDEN, NO_TOKEN, {}
        scheme, _, given = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode("utf-8"), self.token.encode("utf-8")
        ):
            return status.HTTP_401_UNAUTHORIZED, BAD_TOKEN, {"WWW-Authenticate": "Bearer"}
        return None


def make_write_guard(
    token: str, trusted: Iterable[IPNetwork] = ()
) -> Callable[..., Awaitable[None]]:
    """A FastAPI dependency that lets a request through from a trusted network, or with
    the configured token (the same rule :class:`RequestLimits` applies at the door; kept
    on the routes so that the OpenAPI document says they need a token)."""
    auth = WriteAuth(token, tuple(trusted))

    async def require_token(
        request: Request,
        creds: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    ) -> None:
        given = None if creds is None else f"Bearer {creds.credentials}"
        refused = auth.refusal(request.client.host if request.client else None, given)
        if refused is not None:
            code, detail, headers = refused
            raise HTTPException(code, detail, headers=headers or None)

    return require_token
