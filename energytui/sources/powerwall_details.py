"""The slow-changing Powerwall facts behind the devices screen, and their parsing.

Parsing is kept pure (dicts in, frozen dataclasses out) so it is tested
without a gateway and shared by every connection mode: the local API, TEDAPI,
cloud and FleetAPI all reach us through pypowerwall's same dict shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from energytui.model import EnergyCounters

#: Operation modes the gateway knows, with the Tesla app's words for them.
MODE_LABELS: dict[str, str] = {
    "self_consumption": "Self-Powered",
    "autonomous": "Time-Based Control",
    "backup": "Backup-only",
}


def app_pct(raw: float) -> float:
    """Gateway raw battery percentage -> the Tesla app's (the gateway hides 5 %)."""
    return max(0.0, min(100.0, (raw - 5.0) / 0.95))


def raw_pct(app: float) -> float:
    """Tesla app percentage -> the gateway's raw scale, for writes to the local API."""
    return app * 0.95 + 5.0


@dataclass(frozen=True, slots=True)
class BatteryBlock:
    """One Powerwall unit as the gateway's ``system_status.battery_blocks`` reports it."""

    serial: str
    part_number: str | None = None
    energy_remaining_wh: float | None = None
    full_pack_wh: float | None = None
    power_w: float | None = None  # Tesla sign: > 0 discharging
    temperature_c: float | None = None
    state: str | None = None
    backup_ready: bool | None = None
    disabled_reasons: tuple[str, ...] = ()

    @property
    def charge_pct(self) -> float | None:
        if not self.full_pack_wh or self.energy_remaining_wh is None:
            return None
        return 100.0 * self.energy_remaining_wh / self.full_pack_wh


@dataclass(frozen=True, slots=True)
class SolarString:
    """One PV string on a Powerwall+ inverter."""

    name: str
    connected: bool | None = None
    voltage_v: float | None = None
    current_a: float | None = None
    power_w: float | None = None
    state: str | None = None


@dataclass(frozen=True)
class PowerwallDetails:
    """Everything the devices screen shows, fetched on the slow schedule.

    ``vitals`` is None when the firmware no longer offers per-device vitals
    (23.44 and later in local mode); ``notes`` then says so in words.
    """

    alerts: tuple[str, ...] = ()
    battery_blocks: tuple[BatteryBlock, ...] = ()
    strings: tuple[SolarString, ...] = ()
    temperatures: dict[str, float] = field(default_factory=dict)
    vitals: dict[str, Any] | None = None
    reserve_pct: float | None = None
    operation_mode: str | None = None
    firmware: str | None = None
    site_name: str | None = None
    fetched_at: datetime | None = None
    connection_mode: str = "local"
    can_control: bool = False
    sitemaster: dict[str, Any] | None = None
    notes: tuple[str, ...] = ()
    #: the battery's full capacity as the gateway reports it (kWh); None: not reported
    capacity_kwh: float | None = None
    #: why ``operation_mode`` / ``reserve_pct`` are None, in one sentence each
    mode_unknown: str | None = None
    reserve_unknown: str | None = None

    @property
    def operation_mode_label(self) -> str | None:
        if self.operation_mode is None:
            return None
        return MODE_LABELS.get(self.operation_mode, self.operation_mode)


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def parse_power(agg: Any) -> dict[str, float] | None:
    """The four instant powers from ``/api/meters/aggregates``, or None if any is missing.

    Unlike pypowerwall's ``power()`` (which fills missing meters with 0.0), a
    missing meter here means "no reading": zeros would look like a quiet house.
    """
    if not isinstance(agg, dict):
        return None
    out: dict[str, float] = {}
    for key in ("site", "battery", "load", "solar"):
        meter = agg.get(key)
        value = _num(meter.get("instant_power")) if isinstance(meter, dict) else None
        if value is None:
            return None
        out[key] = value
    return out


def parse_counters(agg: Any) -> EnergyCounters | None:
    """Lifetime Wh counters per direction from the aggregates, when the gateway sends them.

    site: imported/exported; battery: exported = discharged, imported = charged;
    solar: exported = produced; load: imported = consumed. Cloud modes report
    no counters (or zeros); then we return None and daily energy is integrated.
    """
    if not isinstance(agg, dict):
        return None
    vals: dict[str, float] = {}
    wanted = {
        "grid_imported_wh": ("site", "energy_imported"),
        "grid_exported_wh": ("site", "energy_exported"),
        "battery_discharged_wh": ("battery", "energy_exported"),
        "battery_charged_wh": ("battery", "energy_imported"),
        "solar_produced_wh": ("solar", "energy_exported"),
        "home_consumed_wh": ("load", "energy_imported"),
    }
    for name, (meter, key) in wanted.items():
        m = agg.get(meter)
        v = _num(m.get(key)) if isinstance(m, dict) else None
        if v is None or v < 0:
            return None
        vals[name] = v
    if not any(vals.values()):
        return None
    return EnergyCounters(**vals)


def parse_capacity_kwh(system_status: Any, blocks: tuple[BatteryBlock, ...] = ()) -> float | None:
    """The battery's full capacity (kWh): ``system_status.nominal_full_pack_energy`` (Wh,
    all units together), else the sum of the blocks' full packs; None when neither is
    reported. It is what the time to full or to the reserve is worked out from."""
    if isinstance(system_status, dict):
        full = _num(system_status.get("nominal_full_pack_energy"))
        if full is not None and full > 0:
            return round(full / 1000.0, 2)
    packs = [b.full_pack_wh for b in blocks if b.full_pack_wh]
    if packs:
        return round(sum(packs) / 1000.0, 2)
    return None


def blocks_from_vitals(vitals: Any) -> tuple[BatteryBlock, ...]:
    """Battery blocks from the vitals, for gateways whose ``system_status`` lists none:
    one per battery pod (``TEPOD--…--serial``), with its inverter's power and state and
    its thermal controller's temperature (same serial)."""
    if not isinstance(vitals, dict):
        return ()

    def by(prefix: str) -> dict[str, dict]:
        out = {}
        for din, signals in vitals.items():
            if str(din).startswith(prefix + "--") and isinstance(signals, dict):
                out[str(din).rsplit("--", 1)[-1]] = signals
        return out

    pods, invs, thcs = by("TEPOD"), by("TEPINV"), by("TETHC")
    blocks = []
    for serial in sorted(pods):
        pod, inv, thc = pods[serial], invs.get(serial, {}), thcs.get(serial, {})
        kw = _num(inv.get("PINV_Pout"))
        state = inv.get("PINV_State")
        blocks.append(
            BatteryBlock(
                serial=serial,
                part_number=pod.get("partNumber")
                if isinstance(pod.get("partNumber"), str)
                else None,
                energy_remaining_wh=_num(pod.get("POD_nom_energy_remaining")),
                full_pack_wh=_num(pod.get("POD_nom_full_pack_energy")),
                power_w=None if kw is None else kw * 1000.0,  # vitals give kW
                temperature_c=_num(thc.get("THC_AmbientTemp")),
                state=state if isinstance(state, str) else None,
            )
        )
    return tuple(blocks)


def parse_battery_blocks(
    system_status: Any, temps: dict[str, float] | None = None
) -> tuple[BatteryBlock, ...]:
    """``system_status.battery_blocks`` as blocks; () when the gateway lists none."""
    if not isinstance(system_status, dict):
        return ()
    temps = temps or {}
    out = []
    for b in system_status.get("battery_blocks") or []:
        if not isinstance(b, dict):
            continue
        serial = str(b.get("PackageSerialNumber") or "?")
        temp = next((t for k, t in temps.items() if k.endswith(serial)), None)
        out.append(
            BatteryBlock(
                serial=serial,
                part_number=b.get("PackagePartNumber"),
                energy_remaining_wh=_num(b.get("nominal_energy_remaining")),
                full_pack_wh=_num(b.get("nominal_full_pack_energy")),
                power_w=_num(b.get("p_out")),
                temperature_c=_num(temp),
                state=b.get("pinv_state") or b.get("OpSeqState"),
                backup_ready=b.get("backup_ready")
                if isinstance(b.get("backup_ready"), bool)
                else None,
                disabled_reasons=tuple(str(r) for r in b.get("disabled_reasons") or ()),
            )
        )
    return tuple(out)


def parse_strings(strings: Any) -> tuple[SolarString, ...]:
    """pypowerwall ``strings()`` -> our strings, sorted by name."""
    if not isinstance(strings, dict):
        return ()
    out = []
    for name in sorted(strings):
        s = strings[name]
        if not isinstance(s, dict):
            continue
        state = s.get("State")
        out.append(
            SolarString(
                name=str(name),
                connected=s.get("Connected") if isinstance(s.get("Connected"), bool) else None,
                voltage_v=_num(s.get("Voltage")),
                current_a=_num(s.get("Current")),
                power_w=_num(s.get("Power")),
                state=None if state is None else str(state),
            )
        )
    return tuple(out)


def parse_temps(temps: Any) -> dict[str, float]:
    if not isinstance(temps, dict):
        return {}
    return {str(k): float(v) for k, v in temps.items() if _num(v) is not None}
