"""Bearer-token check for the routes that write.

Reads stay open (Home Assistant's REST sensors and the original Flask API had
no auth, and the API binds to loopback by default). Writes need ``api.token``:
with none configured they are refused outright rather than left open, because
a meter reading accepted from anyone would poison the lifetime totals.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

NO_TOKEN = (
    "Writing is disabled because no API token is configured; "
    "set api.token in the config file (or ENERGYTUI_API__TOKEN) and send it as a Bearer token."
)
BAD_TOKEN = "Missing or wrong API token; send the header 'Authorization: Bearer <api.token>'."

BEARER = HTTPBearer(auto_error=False, description="the configured api.token")


def make_write_guard(token: str):
    """A FastAPI dependency that lets a request through only with the configured token."""
    expected = token.encode("utf-8")

    async def require_token(
        creds: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    ) -> None:
        if not expected:
            raise HTTPException(status.HTTP_403_FORBIDDEN, NO_TOKEN)
        given = b"" if creds is None else creds.credentials.encode("utf-8")
        if not hmac.compare_digest(given, expected):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, BAD_TOKEN, headers={"WWW-Authenticate": "Bearer"}
            )

    return require_token
