"""A believable simulated home solar site.

It is the embedded default when no Powerwall is configured (so a newcomer sees
the monitor work at once), the data behind the gateway emulator, and the
fixture every test and benchmark can use. It is deterministic for a given seed
and sequence of times, so snapshots are stable.

Physics in one paragraph: solar follows a half-sine between sunrise and sunset
in the configured zone, dimmed by drifting clouds; the house draws a base load
with a morning and evening hump and short appliance spikes; the battery covers
the difference within its power limit, stops charging at full and discharging
at the reserve; the grid takes whatever is left, so solar + battery + grid =
load always holds. During an outage the grid is zero and, if the battery
cannot cover the load, the load is shed to what is available.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from energytui.clock import Clock
from energytui.model import EnergyCounters, GridStatus, PowerSample


@dataclass
class SiteSpec:
    """The fixed facts of a simulated site."""

    timezone: str = "UTC"
    solar_peak_w: float = 7600.0
    sunrise_hour: float = 6.5
    sunset_hour: float = 19.5
    base_load_w: float = 450.0
    battery_kwh: float = 13.5
    battery_max_w: float = 5000.0
    reserve_pct: float = 20.0
    initial_soe_pct: float = 55.0
    seed: int = 7


@dataclass
class SimulatedSite:
    """State of the simulated site; :meth:`advance` moves it to a new instant."""

    spec: SiteSpec = field(default_factory=SiteSpec)
    soe_pct: float = field(init=False)
    counters: EnergyCounters = field(init=False)
    outage: bool = False
    last: PowerSample | None = field(init=False, default=None)
    _last_ts: datetime | None = field(init=False, default=None)
    _rng: random.Random = field(init=False)
    _spike_until: datetime | None = field(init=False, default=None)
    _spike_w: float = field(init=False, default=0.0)
    _cloud: float = field(init=False, default=1.0)

    def __post_init__(self) -> None:
        self.soe_pct = self.spec.initial_soe_pct
        self._rng = random.Random(self.spec.seed)
        self.counters = EnergyCounters(
            solar_produced_wh=8_123_000.0,
            grid_imported_wh=5_412_000.0,
            grid_exported_wh=3_977_000.0,
            battery_charged_wh=2_840_000.0,
            battery_discharged_wh=2_610_000.0,
            home_consumed_wh=9_938_000.0,
        )
        self.zone = ZoneInfo(self.spec.timezone)

    # -- pieces of the model ---------------------------------------------
    def solar_at(self, ts: datetime) -> float:
        local = ts.astimezone(self.zone)
        hour = local.hour + local.minute / 60 + local.second / 3600
        rise, set_ = self.spec.sunrise_hour, self.spec.sunset_hour
        if not rise < hour < set_:
            return 0.0
        # seasonal scale: weaker in winter (northern hemisphere)
        doy = local.timetuple().tm_yday
        season = 0.75 + 0.25 * math.cos(2 * math.pi * (doy - 172) / 365)
        sun = math.sin(math.pi * (hour - rise) / (set_ - rise)) ** 1.3
        return max(0.0, self.spec.solar_peak_w * season * sun * self._cloud)

    def load_at(self, ts: datetime) -> float:
        local = ts.astimezone(self.zone)
        hour = local.hour + local.minute / 60
        morning = 900 * math.exp(-((hour - 7.5) ** 2) / 1.2)
        evening = 1600 * math.exp(-((hour - 19.0) ** 2) / 3.0)
        w = self.spec.base_load_w + morning + evening
        if self._spike_until is not None and ts < self._spike_until:
            w += self._spike_w
        return w * (0.95 + 0.1 * self._rng.random())

    def _weather(self, ts: datetime, dt: float) -> None:
        # clouds drift as a bounded random walk; appliance spikes start at random
        steps = max(1, min(int(dt / 5), 50))
        for _ in range(steps):
            self._cloud += self._rng.gauss(0, 0.04)
            self._cloud += (0.85 - self._cloud) * 0.02
            self._cloud = min(1.0, max(0.15, self._cloud))
        if (self._spike_until is None or ts >= self._spike_until) and self._rng.random() < min(
            1.0, dt / 2400
        ):
            self._spike_w = self._rng.choice([1200.0, 1500.0, 2200.0, 3000.0, 6500.0])
            self._spike_until = ts + timedelta(seconds=self._rng.uniform(60, 600))

    # -- the step ----------------------------------------------------------
    def advance(self, ts: datetime) -> PowerSample:
        """Move the site to ``ts`` and return the sample seen there."""
        dt = 5.0 if self._last_ts is None else max(0.0, (ts - self._last_ts).total_seconds())
        self._last_ts = ts
        self._weather(ts, dt)
        solar = self.solar_at(ts)
        load = self.load_at(ts)
        spec = self.spec
        need = load - solar  # > 0: the house needs more than the sun gives
        hours = dt / 3600.0
        if need > 0:
            room_kwh = spec.battery_kwh * max(0.0, self.soe_pct - spec.reserve_pct) / 100.0
            if self.outage:
                room_kwh = spec.battery_kwh * max(0.0, self.soe_pct - 1.0) / 100.0
            cap_w = room_kwh * 1000.0 / hours if hours > 0 else spec.battery_max_w
            battery = min(need, spec.battery_max_w, cap_w)
        else:
            room_kwh = spec.battery_kwh * max(0.0, 100.0 - self.soe_pct) / 100.0
            cap_w = room_kwh * 1000.0 / hours if hours > 0 else spec.battery_max_w
            battery = -min(-need, spec.battery_max_w, cap_w)
        if self.outage:
            grid = 0.0
            if need > battery:  # not enough: shed load
                load = solar + battery
            elif need < battery:  # surplus the battery cannot take: curtail solar
                solar = load - battery
        else:
            grid = load - solar - battery
        battery_kwh = battery * hours / 1000.0
        self.soe_pct = min(100.0, max(0.0, self.soe_pct - 100.0 * battery_kwh / spec.battery_kwh))
        c = self.counters
        self.counters = EnergyCounters(
            solar_produced_wh=c.solar_produced_wh + solar * hours,
            grid_imported_wh=c.grid_imported_wh + max(0.0, grid) * hours,
            grid_exported_wh=c.grid_exported_wh + max(0.0, -grid) * hours,
            battery_charged_wh=c.battery_charged_wh + max(0.0, -battery) * hours,
            battery_discharged_wh=c.battery_discharged_wh + max(0.0, battery) * hours,
            home_consumed_wh=c.home_consumed_wh + load * hours,
        )
        self.last = PowerSample(
            ts=ts,
            solar_w=round(solar, 1),
            battery_w=round(battery, 1) + 0.0,
            grid_w=round(grid, 1) + 0.0,
            load_w=round(load, 1),
            soe_pct=round(self.soe_pct, 2),
            reserve_pct=spec.reserve_pct,
            grid_status=GridStatus.DOWN if self.outage else GridStatus.UP,
            counters=self.counters,
            source="simulated",
        )
        return self.last


class SimulatedSource:
    """The simulated site as a hub source."""

    kind = "power"

    def __init__(
        self,
        site: SimulatedSite | None = None,
        clock: Clock | None = None,
        *,
        name: str = "simulated",
        interval_s: float = 5.0,
        timeout_s: float = 2.0,
    ) -> None:
        self.site = site or SimulatedSite()
        self.clock = clock or Clock()
        self.name = name
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.fail_with: str | None = None  # a message to raise, for demos of failure

    async def poll(self) -> PowerSample:
        from energytui.sources.base import SourceError

        if self.fail_with:
            raise SourceError(self.fail_with)
        return self.site.advance(self.clock.now())

    def set_outage(self, on: bool) -> None:
        self.site.outage = on

    async def close(self) -> None:
        return None
