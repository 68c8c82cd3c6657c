"""Attach to a running energytui through its HTTP API (a second viewer).

Only one process may poll the gateway (a second login loop risks locking the
owner out) and only one may write the store. A second ``energytui`` — say over
SSH while the kiosk runs — therefore reads the first one's
``/api/v1/current_readings`` instead: :class:`RemoteHubSource` yields the same
:class:`PowerSample` the first instance holds (lifetime counters, battery
level, reserve, grid status and the sample's own time included, read back
through the wire table), and :class:`RemoteMeterSource` its latest meter reading.

Stale data on the far side is not passed on as live: it becomes a
:class:`SourceError` here, so the viewer shows it as stale too.
"""

from __future__ import annotations

import time

import httpx
from pydantic import ValidationError

from energytui.api.schemas import CurrentReadings
from energytui.model import PowerSample, parse_iso
from energytui.sources.base import Cause, SourceError
from energytui.sources.http_words import http_failure
from energytui.wire.api import sample_from_readings
from meter_agent.schema import MeterReading


class _RemoteBase:
    """Reads the first instance's ``/api/v1/current_readings``; subclasses pick their part."""

    default_name = "remote"
    default_interval_s = 5.0

    def __init__(
        self,
        base_url: str,
        *,
        name: str | None = None,
        interval_s: float | None = None,
        timeout_s: float = 5.0,
        token: str = "",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.name = name or self.default_name
        self.interval_s = self.default_interval_s if interval_s is None else interval_s
        self.timeout_s = timeout_s
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.AsyncClient(
            base_url=self.base_url, timeout=timeout_s, headers=headers, trust_env=False
        )

    async def _current(self) -> CurrentReadings:
        where = f"the energytui instance at {self.base_url}"
        try:
            resp = await self._client.get("/api/v1/current_readings")
        except httpx.TimeoutException:
            raise SourceError(
                f"{where} did not answer within {self.timeout_s:g} s.", cause=Cause.TIMEOUT
            ) from None
        except httpx.HTTPError as exc:
            why, cause = http_failure(exc)
            raise SourceError(
                f"{where} cannot be reached ({why}); is `energytui serve` running there?",
                cause=cause,
            ) from None
        if resp.status_code != 200:
            raise SourceError(f"{where} answered HTTP {resp.status_code}.", cause=Cause.HTTP)
        try:
            return CurrentReadings.model_validate(resp.json())
        except (ValueError, ValidationError):
            raise SourceError(
                f"{where} sent readings this version cannot read (is it energytui?).",
                cause=Cause.PROTOCOL,
            ) from None

    async def close(self) -> None:
        await self._client.aclose()


class RemoteHubSource(_RemoteBase):
    """The first instance's Powerwall sample, as a ``power`` source.

    It also learns the battery's capacity from the first instance's
    ``/api/v1/powerwall/vitals`` (once, then hourly), so the viewer's battery times use
    what the gateway (or the simulated site) reports rather than a guess."""

    kind = "power"
    #: how often the capacity is asked again once known, s
    CAPACITY_EVERY_S = 3600.0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.capacity_kwh: float | None = None
        self._capacity_at: float | None = None

    async def _learn_capacity(self) -> None:
        now = time.monotonic()
        every = self.CAPACITY_EVERY_S if self.capacity_kwh is not None else 60.0
        if self._capacity_at is not None and now - self._capacity_at < every:
            return
        self._capacity_at = now
        try:
            resp = await self._client.get(
                "/api/v1/powerwall/vitals", timeout=min(2.5, self.timeout_s)
            )
            value = resp.json().get("capacity_kwh") if resp.status_code == 200 else None
        except (httpx.HTTPError, ValueError, AttributeError):
            return  # a nicety: the readings themselves are what poll() is for
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            self.capacity_kwh = float(value)

    async def poll(self) -> PowerSample:
        cur = await self._current()
        await self._learn_capacity()
        pw = cur.powerwall
        if pw is None:
            raise SourceError(
                f"the energytui instance at {self.base_url} has no Powerwall reading yet.",
                cause=Cause.NO_READING,
            )
        if pw.stale:
            err = next(
                (h.last_error for h in cur.sources.values() if h.kind == "power" and h.last_error),
                None,
            )
            why = f": {err.rstrip('.')}" if err else ""
            raise SourceError(
                f"the energytui instance at {self.base_url} has no live Powerwall data{why}.",
                cause=Cause.STALE,
            )
        return sample_from_readings(pw.model_dump())


class RemoteMeterSource(_RemoteBase):
    """The first instance's latest meter reading, as a ``meter`` source."""

    kind = "meter"
    default_name = "meter"
    default_interval_s = 15.0

    async def poll(self) -> MeterReading:
        cur = await self._current()
        m = cur.meter
        if m is None:
            raise SourceError(
                f"the energytui instance at {self.base_url} has no meter reading yet.",
                cause=Cause.NO_READING,
            )
        if m.stale:
            raise SourceError(
                f"the energytui instance at {self.base_url} has no recent meter reading.",
                cause=Cause.STALE,
            )
        fields = m.model_dump(include=set(MeterReading.model_fields))
        return MeterReading.model_validate({**fields, "timestamp": parse_iso(m.timestamp)})
