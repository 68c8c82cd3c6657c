"""Time-of-use prices and what energy cost: the ``[tariff]`` section made usable.

A tariff has a base import and export price per kWh, a fixed charge per day, and
rates: periods of the day (on some weekdays, in some months) with their own prices,
the first matching one winning. Costs are worked out per 15-minute slot of energy
(:mod:`energytui.energy`) at the price of the slot's local start, so a span's cost is
the sum of its slots' and agrees with the sum of its days'. *Savings* compare with
the same home supplied all from the grid (no solar, no battery, nothing exported) at
the same prices; the fixed charge is paid either way and cancels out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from energytui.config import WEEKDAYS, TariffConfig
from energytui.model import DailyEnergy


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


@dataclass(frozen=True)
class Rate:
    name: str
    start_min: int
    end_min: int  # may be <= start_min: the period wraps midnight
    weekdays: frozenset[int]
    months: frozenset[int]
    import_price: float | None
    export_price: float | None

    def applies(self, local: datetime) -> bool:
        if local.month not in self.months:
            return False
        minute = local.hour * 60 + local.minute
        if self.start_min < self.end_min:
            return self.start_min <= minute < self.end_min and local.weekday() in self.weekdays
        # wraps midnight: the early-morning part belongs to the previous day's period
        if minute >= self.start_min:
            return local.weekday() in self.weekdays
        if minute < self.end_min:
            return (local.weekday() - 1) % 7 in self.weekdays
        return False


@dataclass(frozen=True)
class Cost:
    """Money for some energy, in the tariff's currency."""

    cost: float = 0.0  # imports − exports + fixed charge
    without_solar: float = 0.0  # the home all from the grid + fixed charge
    fixed: float = 0.0
    currency: str = ""

    @property
    def savings(self) -> float:
        return self.without_solar - self.cost

    def plus(self, other: Cost) -> Cost:
        return Cost(
            self.cost + other.cost,
            self.without_solar + other.without_solar,
            self.fixed + other.fixed,
            self.currency or other.currency,
        )


@dataclass(frozen=True)
class Tariff:
    currency: str
    import_price: float
    export_price: float
    daily_charge: float
    rates: tuple[Rate, ...] = ()

    @classmethod
    def from_config(cls, cfg: TariffConfig) -> Tariff | None:
        """None when no tariff is configured (no cost is shown anywhere then)."""
        if cfg.import_price is None:
            return None
        rates = tuple(
            Rate(
                name=r.name or f"rate {i + 1}",
                start_min=_minutes(r.start),
                end_min=_minutes(r.end),
                weekdays=frozenset(WEEKDAYS.index(d) for d in r.days),
                months=frozenset(r.months),
                import_price=r.import_price,
                export_price=r.export_price,
            )
            for i, r in enumerate(cfg.rates)
        )
        return cls(cfg.currency, cfg.import_price, cfg.export_price, cfg.daily_charge, rates)

    def prices_at(self, local: datetime) -> tuple[float, float]:
        """(import, export) price per kWh at a local time."""
        for rate in self.rates:
            if rate.applies(local):
                imp = self.import_price if rate.import_price is None else rate.import_price
                exp = self.export_price if rate.export_price is None else rate.export_price
                return imp, exp
        return self.import_price, self.export_price

    def cost_of(self, energy: DailyEnergy, local: datetime, seconds: float) -> Cost:
        """The cost of ``energy`` moved in ``seconds`` starting at ``local``; the fixed
        charge is counted for those seconds (a day's worth per 24 h covered)."""
        imp, exp = self.prices_at(local)
        fixed = self.daily_charge * seconds / 86_400.0
        return Cost(
            cost=energy.grid_import_kwh * imp - energy.grid_export_kwh * exp + fixed,
            without_solar=energy.home_kwh * imp + fixed,
            fixed=fixed,
            currency=self.currency,
        )
