"""Today's energy: integrated from power samples and, where the gateway gives
lifetime counters, taken from their difference since local midnight.

Counters are the truth when present (they survive our own downtime); the
integral is kept beside them so the two can be reconciled on screen and a
gap in either is visible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from energytui.model import DailyEnergy, EnergyCounters, PowerSample

#: Samples further apart than this are a gap (we were down): do not integrate across it.
MAX_GAP_S = 300.0


@dataclass
class EnergyToday:
    """Running totals for the local day that contains the latest sample."""

    zone: ZoneInfo
    day: date | None = None
    integrated: DailyEnergy = field(default_factory=DailyEnergy)
    baseline: EnergyCounters | None = None
    latest_counters: EnergyCounters | None = None
    #: what the counters had counted today before they went back (a counter reset)
    carried: EnergyCounters = field(default_factory=EnergyCounters)
    _last: PowerSample | None = None

    def add(self, s: PowerSample) -> None:
        local_day = s.ts.astimezone(self.zone).date()
        if self.day != local_day:
            self.day = local_day
            self.integrated = DailyEnergy()
            self.baseline = s.counters
            self.latest_counters = None
            self.carried = EnergyCounters()
            self._last = None
        if self._last is not None:
            dt = (s.ts - self._last.ts).total_seconds()
            if 0 < dt <= MAX_GAP_S:
                self.integrated.add_interval(self._last, dt)
        if s.counters is not None:
            if self.baseline is None:
                self.baseline = s.counters
            elif self.latest_counters is not None and s.counters.went_back(self.latest_counters):
                self._counters_reset(s.counters)
            self.latest_counters = s.counters
        self._last = s

    def _counters_reset(self, new: EnergyCounters) -> None:
        """Lifetime counters that go back were reset (a replaced gateway, or the
        simulated site started again): keep what they had counted today, count on from
        the new values. Without this, today's energy fell to zero and stayed there."""
        assert self.baseline is not None and self.latest_counters is not None
        self.carried = self.carried.plus(self.latest_counters.minus(self.baseline))
        self.baseline = new

    @property
    def from_counters(self) -> DailyEnergy | None:
        if self.baseline is None or self.latest_counters is None:
            return None
        return DailyEnergy.from_counters(
            self.carried.plus(self.latest_counters.minus(self.baseline))
        )

    @property
    def best(self) -> DailyEnergy:
        """Counters where present, else the integral."""
        return self.from_counters or self.integrated

    def reconciliation(self) -> dict[str, float] | None:
        """Difference counters − integral per flow, kWh; None without counters."""
        c = self.from_counters
        if c is None:
            return None
        i = self.integrated
        return {
            "solar_kwh": c.solar_kwh - i.solar_kwh,
            "home_kwh": c.home_kwh - i.home_kwh,
            "grid_import_kwh": c.grid_import_kwh - i.grid_import_kwh,
            "grid_export_kwh": c.grid_export_kwh - i.grid_export_kwh,
            "battery_charge_kwh": c.battery_charge_kwh - i.battery_charge_kwh,
            "battery_discharge_kwh": c.battery_discharge_kwh - i.battery_discharge_kwh,
        }


def local_midnight(ts: datetime, zone: ZoneInfo) -> datetime:
    """The start of the local day containing ``ts``, as an aware datetime."""
    local = ts.astimezone(zone)
    start = datetime(local.year, local.month, local.day, tzinfo=zone)
    # a DST change at midnight can make that time not exist; fold to the next valid instant
    return start if start.utcoffset() is not None else start + timedelta(hours=1)
