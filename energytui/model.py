"""Power samples and the state derived from them.

Signs follow the Tesla gateway so that every part of the program (and every
integration that reads our API) agrees on one convention:

* grid (site)  > 0 imports from the grid,  < 0 exports to it
* battery      > 0 discharges (feeds the home), < 0 charges
* solar        >= 0 produces
* home load    >= 0 consumes

The original Flask design described battery and grid backwards; the words
produced here are pinned by tests.
"""

from __future__ import annotations

import enum
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

#: Below this many watts a flow is treated as idle: meters jitter by a few watts
#: around zero and we do not want the mode to flicker.
IDLE_W = 50.0


class GridStatus(enum.StrEnum):
    """Whether the site is connected to the grid (gateway ``system_island_state``)."""

    UP = "up"
    DOWN = "down"  # islanded: the battery and solar carry the house
    SYNCING = "syncing"  # transitioning between the two
    UNKNOWN = "unknown"

    @classmethod
    def from_gateway(cls, value: str | None) -> GridStatus:
        """Map the gateway's island-state words (or pypowerwall's short ones) to ours."""
        if not value:
            return cls.UNKNOWN
        v = value.strip()
        table = {
            "SystemGridConnected": cls.UP,
            "UP": cls.UP,
            "up": cls.UP,
            "SystemIslandedActive": cls.DOWN,
            "SystemIslandedReady": cls.DOWN,
            "SystemMicroGridFaulted": cls.DOWN,
            "DOWN": cls.DOWN,
            "down": cls.DOWN,
            "SystemTransitionToGrid": cls.SYNCING,
            "SystemTransitionToIsland": cls.SYNCING,
            "SystemWaitForUser": cls.SYNCING,
            "SYNCING": cls.SYNCING,
            "syncing": cls.SYNCING,
        }
        return table.get(v, cls.UNKNOWN)


class SystemMode(enum.StrEnum):
    """What the site is doing right now, in the seed's words (plus a few it lacked)."""

    SOLAR_CHARGING_BATTERY = "solar_charging_battery"
    EXPORTING_TO_GRID = "exporting_to_grid"
    DRAWING_FROM_BATTERY = "drawing_from_battery"
    GRID_POWERED = "grid_powered"
    SOLAR_POWERED = "solar_powered"
    GRID_CHARGING_BATTERY = "grid_charging_battery"
    OFF_GRID = "off_grid"
    IDLE = "idle"
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        return _MODE_LABELS[self]


_MODE_LABELS = {
    SystemMode.SOLAR_CHARGING_BATTERY: "Solar charging battery",
    SystemMode.EXPORTING_TO_GRID: "Exporting to grid",
    SystemMode.DRAWING_FROM_BATTERY: "Drawing from battery",
    SystemMode.GRID_POWERED: "Grid powered",
    SystemMode.SOLAR_POWERED: "Solar powered",
    SystemMode.GRID_CHARGING_BATTERY: "Grid charging battery",
    SystemMode.OFF_GRID: "Off grid (islanded)",
    SystemMode.IDLE: "Idle",
    SystemMode.UNKNOWN: "Unknown",
}


@dataclass(frozen=True, slots=True)
class EnergyCounters:
    """Lifetime energy counters from the gateway, in watt-hours.

    Names say which way the energy went, never a signed number, because the
    gateway itself keeps separate monotonic counters for each direction.
    """

    solar_produced_wh: float = 0.0
    grid_imported_wh: float = 0.0
    grid_exported_wh: float = 0.0
    battery_charged_wh: float = 0.0
    battery_discharged_wh: float = 0.0
    home_consumed_wh: float = 0.0

    def minus(self, other: EnergyCounters) -> EnergyCounters:
        """Energy moved between two counter readings (self later than other), never negative."""
        return EnergyCounters(
            **{k: max(0.0, v - getattr(other, k)) for k, v in asdict(self).items()}
        )

    def plus(self, other: EnergyCounters) -> EnergyCounters:
        return EnergyCounters(**{k: v + getattr(other, k) for k, v in asdict(self).items()})

    def went_back(self, earlier: EnergyCounters) -> bool:
        """Any counter lower than in ``earlier``: lifetime counters only grow, so they
        were reset. (A counter the gateway left out reads 0 and counts as reset too.)"""
        return any(v < getattr(earlier, k) for k, v in asdict(self).items())

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class PowerSample:
    """One reading of the whole site at one instant, Tesla signs (see module doc)."""

    ts: datetime
    solar_w: float
    battery_w: float
    grid_w: float
    load_w: float
    soe_pct: float | None = None
    reserve_pct: float | None = None
    grid_status: GridStatus = GridStatus.UNKNOWN
    counters: EnergyCounters | None = None
    source: str = "unknown"

    def __post_init__(self) -> None:
        if self.ts.tzinfo is None:
            raise ValueError("PowerSample.ts must be timezone-aware")

    # -- derived state ---------------------------------------------------
    @property
    def mode(self) -> SystemMode:
        return classify_mode(self)

    @property
    def battery_charging(self) -> bool:
        return self.battery_w < -IDLE_W

    @property
    def battery_discharging(self) -> bool:
        return self.battery_w > IDLE_W

    @property
    def grid_importing(self) -> bool:
        return self.grid_w > IDLE_W

    @property
    def grid_exporting(self) -> bool:
        return self.grid_w < -IDLE_W

    @property
    def seed_mode(self) -> SeedMode:
        return classify_seed_mode(self)

    @property
    def self_powered_pct(self) -> float | None:
        """Share of the home's load not taken from the grid right now (0–100)."""
        if self.load_w <= 0:
            return None
        from_grid = max(0.0, self.grid_w)
        return max(0.0, min(100.0, 100.0 * (1.0 - from_grid / self.load_w)))

    @property
    def solar_self_consumption_pct(self) -> float | None:
        """Share of solar production used on site (home or battery) rather than exported."""
        if self.solar_w <= IDLE_W:
            return None
        exported = max(0.0, -self.grid_w)
        return max(0.0, min(100.0, 100.0 * (1.0 - exported / self.solar_w)))

    def to_record(self) -> dict:
        """Flat dict for the store: ``ts`` as ISO Z, enums as their words, counters as
        ``*_wh`` fields. Every field of the sample is a column, so a new one is stored
        without another edit here."""
        rec: dict = {"ts": iso_z(self.ts)}
        for name, _ in _COLUMNS:
            v = getattr(self, name)
            rec[name] = v.value if isinstance(v, enum.Enum) else v
        if self.counters is not None:
            rec.update(self.counters.to_dict())
        return rec

    to_dict = to_record

    @classmethod
    def from_record(cls, rec: dict) -> PowerSample:
        """The sample back from :meth:`to_record`'s dict; a missing or null column takes the
        field's default (a field without one is required)."""
        names = EnergyCounters.__dataclass_fields__
        has = all(rec.get(k) is not None for k in names)
        counters = EnergyCounters(**{k: float(rec[k]) for k in names}) if has else None
        values = {name: _column(default, rec.get(name)) for name, default in _COLUMNS}
        return cls(
            ts=parse_iso(rec["ts"]) if isinstance(rec["ts"], str) else rec["ts"],
            counters=counters,
            **values,
        )

    def with_(self, **changes) -> PowerSample:
        return replace(self, **changes)


#: The sample's record columns besides ``ts`` and the counters' ``*_wh``: every other
#: field, in field order, with its default (MISSING: required).
_COLUMNS: tuple[tuple[str, object], ...] = tuple(
    (f.name, f.default) for f in fields(PowerSample) if f.name not in ("ts", "counters")
)


def classify_mode(s: PowerSample) -> SystemMode:
    """Name what the site is doing, from the signs of the flows.

    Order matters: islanding trumps everything, then what feeds the home.
    """
    if s.grid_status is GridStatus.DOWN:
        return SystemMode.OFF_GRID
    solar = s.solar_w > IDLE_W
    if s.battery_charging and solar and not s.grid_importing:
        return SystemMode.SOLAR_CHARGING_BATTERY
    if s.battery_charging and s.grid_importing and s.grid_w > s.load_w + IDLE_W:
        return SystemMode.GRID_CHARGING_BATTERY
    if s.battery_charging and solar:
        return SystemMode.SOLAR_CHARGING_BATTERY
    if s.grid_exporting:
        return SystemMode.EXPORTING_TO_GRID
    if s.battery_discharging:
        return SystemMode.DRAWING_FROM_BATTERY
    if s.grid_importing:
        return SystemMode.GRID_POWERED
    if solar:
        return SystemMode.SOLAR_POWERED
    if s.load_w <= IDLE_W:
        return SystemMode.IDLE
    return SystemMode.UNKNOWN


class SeedMode(enum.StrEnum):
    """What the site is doing in the original Flask API's six words (its
    ``system_summary.mode``), which Home Assistant configurations written for it match on.

    Decided as that API's ``_get_system_mode`` meant to, with Tesla's signs (it took a
    battery > 0 for charging, which is discharging) and the idle band of :data:`IDLE_W`.
    """

    SOLAR_CHARGING_BATTERY = "solar_charging_battery"
    SOLAR_EXPORTING = "solar_exporting"
    SOLAR_POWERING_HOME = "solar_powering_home"
    EXPORTING_TO_GRID = "exporting_to_grid"
    DRAWING_FROM_BATTERY = "drawing_from_battery"
    GRID_POWERED = "grid_powered"


#: Solar above this many watts makes the seed's modes "solar_…" (the seed's own threshold).
SEED_SOLAR_W = 1000.0


def classify_seed_mode(s: PowerSample) -> SeedMode:
    """The seed's mode words: strong sun first (charging the battery, else exporting,
    else powering the home), then exporting, then the battery feeding the home, else
    the grid."""
    if s.solar_w > SEED_SOLAR_W:
        if s.battery_charging:
            return SeedMode.SOLAR_CHARGING_BATTERY
        if s.grid_exporting:
            return SeedMode.SOLAR_EXPORTING
        return SeedMode.SOLAR_POWERING_HOME
    if s.grid_exporting:
        return SeedMode.EXPORTING_TO_GRID
    if s.battery_discharging:
        return SeedMode.DRAWING_FROM_BATTERY
    return SeedMode.GRID_POWERED


#: The API's words for the grid and battery flows (its OpenAPI enums, in this order).
GridDirection = Literal["importing", "exporting", "idle"]
BatteryStatus = Literal["charging", "discharging", "standby"]
Word = TypeVar("Word", bound=str)


@dataclass(frozen=True, slots=True)
class SignWords(Generic[Word]):
    """What a signed flow is doing, in words: the one table of Tesla's sign convention.

    ``word`` is the API's short word (``grid_direction``, ``battery_status``),
    ``text`` the phrase a screen shows. Within ``IDLE_W`` of zero the flow is idle.
    """

    positive: Word  # value > IDLE_W
    negative: Word  # value < -IDLE_W
    idle: Word
    positive_text: str
    negative_text: str
    idle_text: str

    @property
    def words(self) -> tuple[Word, Word, Word]:
        return (self.positive, self.negative, self.idle)

    def word(self, watts: float) -> Word:
        if watts > IDLE_W:
            return self.positive
        if watts < -IDLE_W:
            return self.negative
        return self.idle

    def text(self, watts: float) -> str:
        if watts > IDLE_W:
            return self.positive_text
        if watts < -IDLE_W:
            return self.negative_text
        return self.idle_text


#: Tesla signs: grid > 0 imports from the grid, < 0 exports to it.
GRID_WORDS: SignWords[GridDirection] = SignWords(
    "importing", "exporting", "idle", "importing from grid", "exporting to grid", "grid idle"
)
#: Tesla signs: battery > 0 discharges (feeds the home), < 0 charges.
BATTERY_WORDS: SignWords[BatteryStatus] = SignWords(
    "discharging", "charging", "standby", "discharging", "charging", "standby"
)


def describe_grid(grid_w: float) -> str:
    """Words for the grid flow, Tesla signs: positive imports."""
    return GRID_WORDS.text(grid_w)


def describe_battery(battery_w: float) -> str:
    """Words for the battery flow, Tesla signs: positive discharges."""
    return BATTERY_WORDS.text(battery_w)


def battery_eta_hours(
    soe_pct: float | None,
    battery_w: float,
    capacity_kwh: float,
    reserve_pct: float | None = None,
) -> float | None:
    """Hours until full (charging) or until the reserve (discharging), None when idle."""
    if soe_pct is None or capacity_kwh <= 0:
        return None
    if battery_w < -IDLE_W:
        remaining_kwh = capacity_kwh * max(0.0, 100.0 - soe_pct) / 100.0
        return remaining_kwh / (-battery_w / 1000.0)
    if battery_w > IDLE_W:
        floor = reserve_pct or 0.0
        remaining_kwh = capacity_kwh * max(0.0, soe_pct - floor) / 100.0
        return remaining_kwh / (battery_w / 1000.0)
    return None


@dataclass(slots=True)
class DailyEnergy:
    """Energy moved today, kWh, by direction."""

    solar_kwh: float = 0.0
    home_kwh: float = 0.0
    grid_import_kwh: float = 0.0
    grid_export_kwh: float = 0.0
    battery_charge_kwh: float = 0.0
    battery_discharge_kwh: float = 0.0
    method: str = "integrated"  # or "counters"
    extra: dict = field(default_factory=dict)

    def add_interval(self, s: PowerSample, seconds: float) -> None:
        """Integrate one sample held for ``seconds`` (left Riemann sum)."""
        h = seconds / 3600.0 / 1000.0
        self.solar_kwh += max(0.0, s.solar_w) * h
        self.home_kwh += max(0.0, s.load_w) * h
        self.grid_import_kwh += max(0.0, s.grid_w) * h
        self.grid_export_kwh += max(0.0, -s.grid_w) * h
        self.battery_discharge_kwh += max(0.0, s.battery_w) * h
        self.battery_charge_kwh += max(0.0, -s.battery_w) * h

    @classmethod
    def from_counters(cls, delta: EnergyCounters) -> DailyEnergy:
        return cls(
            solar_kwh=delta.solar_produced_wh / 1000.0,
            home_kwh=delta.home_consumed_wh / 1000.0,
            grid_import_kwh=delta.grid_imported_wh / 1000.0,
            grid_export_kwh=delta.grid_exported_wh / 1000.0,
            battery_charge_kwh=delta.battery_charged_wh / 1000.0,
            battery_discharge_kwh=delta.battery_discharged_wh / 1000.0,
            method="counters",
        )

    def to_dict(self) -> dict:
        return {
            "solar_kwh": round(self.solar_kwh, 3),
            "home_kwh": round(self.home_kwh, 3),
            "grid_import_kwh": round(self.grid_import_kwh, 3),
            "grid_export_kwh": round(self.grid_export_kwh, 3),
            "battery_charge_kwh": round(self.battery_charge_kwh, 3),
            "battery_discharge_kwh": round(self.battery_discharge_kwh, 3),
            "method": self.method,
        }


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso_z(ts: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, the wire format everywhere."""
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    """Parse ISO 8601 (``Z`` or offset); naive times are taken as UTC."""
    ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC)


def _column(default: object, v: Any) -> Any:
    """One record column as the field's type, told by its default (none: a required float)."""
    if isinstance(default, enum.Enum):
        return type(default)(v or default.value)
    if isinstance(default, str):
        return str(v or default)
    if v is None:
        if default is MISSING:
            raise KeyError("a required power column is missing")
        return default
    return float(v)
