"""The utility meter, read from a meter_agent over HTTP (``GET /meter``).

``endpoint`` is the agent's base URL or the seed's full ``…/meter`` URL; both poll the
same ``GET /meter`` (see :func:`energytui.config.agent_base_url`).
"""

from __future__ import annotations

import httpx
from pydantic import ValidationError

from energytui.config import agent_base_url
from energytui.sources.base import Cause, SourceError
from energytui.sources.http_words import http_failure
from meter_agent.schema import MeterReading, MeterStatus


class MeterSource:
    """Polls a meter_agent; the agent already rejected implausible readings."""

    kind = "meter"

    def __init__(
        self,
        endpoint: str,
        *,
        token: str = "",
        name: str = "meter",
        interval_s: float = 30.0,
        timeout_s: float = 5.0,
    ) -> None:
        self.endpoint = agent_base_url(endpoint)
        self.name = name
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.AsyncClient(base_url=self.endpoint, timeout=timeout_s, headers=headers)

    async def poll(self) -> MeterReading:
        try:
            resp = await self._client.get("/meter")
        except httpx.TimeoutException:
            raise SourceError(
                f"meter agent at {self.endpoint} did not answer within {self.timeout_s:g} s.",
                cause=Cause.TIMEOUT,
            ) from None
        except httpx.HTTPError as exc:
            why, cause = http_failure(exc)
            raise SourceError(
                f"meter agent at {self.endpoint} cannot be reached ({why}).", cause=cause
            ) from None
        if resp.status_code == 503:
            raise SourceError("meter agent has no accepted reading yet.", cause=Cause.NO_READING)
        if resp.status_code != 200:
            raise SourceError(
                f"meter agent at {self.endpoint} answered HTTP {resp.status_code}.",
                cause=Cause.HTTP,
            )
        try:
            status = MeterStatus.model_validate(resp.json())
        except (ValueError, ValidationError):
            raise SourceError(
                f"meter agent at {self.endpoint} sent a reading that is not valid.",
                cause=Cause.BAD_DATA,
            ) from None
        return MeterReading.model_validate(status.model_dump(exclude={"last_update"}))

    async def close(self) -> None:
        await self._client.aclose()
