"""The JSON the emulated gateway answers on each GET path.

Shapes follow captures of real gateways (firmware 23.x/24.x): the field
names pypowerwall and other clients read, the raw battery scale, Go-style
uptime strings, RFC 3339 nanosecond stamps. Each function reads the gateway
under its lock (see :meth:`Gateway.get`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from devkit.emulator.gateway import BATTERY_SERIALS, DIN, Gateway, Reply, iso_s, raw_from_app


def aggregates(gw: Gateway) -> Reply:
    s = gw.sample()
    c = s.counters
    assert c is not None
    stamp = _iso_ns(s.ts)

    def meter(power: float, exported: float, imported: float, *, count: int | None) -> dict:
        volts = 240.1
        m = {
            "last_communication_time": stamp,
            "instant_power": power,
            "instant_reactive_power": 0.0,
            "instant_apparent_power": abs(power),
            "frequency": 60.0,
            "energy_exported": round(exported, 3),
            "energy_imported": round(imported, 3),
            "instant_average_voltage": volts,
            "instant_average_current": round(abs(power) / 240.1, 3),
            "i_a_current": 0,
            "i_b_current": 0,
            "i_c_current": 0,
            "last_phase_voltage_communication_time": "0001-01-01T00:00:00Z",
            "last_phase_power_communication_time": "0001-01-01T00:00:00Z",
            "last_phase_energy_communication_time": "0001-01-01T00:00:00Z",
            "timeout": 1500000000,
            "instant_total_current": round(abs(power) / 240.1, 3),
        }
        if count is not None:
            m["num_meters_aggregated"] = count
        return m

    body = {
        "site": meter(s.grid_w, c.grid_exported_wh, c.grid_imported_wh, count=1),
        "battery": meter(
            s.battery_w,
            c.battery_discharged_wh,
            c.battery_charged_wh,
            count=len(BATTERY_SERIALS),
        ),
        "load": meter(s.load_w, 0.0, c.home_consumed_wh, count=None),
        "solar": meter(s.solar_w, c.solar_produced_wh, 0.0, count=1),
    }
    return Reply.json(200, body)


def soe(gw: Gateway) -> Reply:
    s = gw.sample()
    return Reply.json(200, {"percentage": raw_from_app(s.soe_pct or 0.0)})


def grid_status(gw: Gateway) -> Reply:
    return Reply.json(200, {"grid_status": gw.island_state(), "grid_services_active": False})


def sitemaster(gw: Gateway) -> Reply:
    return Reply.json(
        200,
        {
            "status": "StatusUp",
            "running": True,
            "connected_to_tesla": True,
            "power_supply_mode": False,
            "can_reboot": "Yes",
        },
    )


def status(gw: Gateway) -> Reply:
    up = (gw.clock.now() - gw.started).total_seconds()
    h, rem = divmod(up, 3600)
    m, sec = divmod(rem, 60)
    return Reply.json(
        200,
        {
            "din": DIN,
            "start_time": gw.started.strftime("%Y-%m-%d %H:%M:%S +0000"),
            "up_time_seconds": f"{int(h)}h{int(m)}m{sec:.3f}s",
            "is_new": False,
            "version": gw.firmware,
            "git_hash": "c58c2df3emulated",
            "commission_count": 0,
            "device_type": "teg",
            "teg_type": "unknown",
            "sync_type": "v2.1",
            "cellular_disabled": False,
            "can_reboot": True,
        },
    )


def get_operation(gw: Gateway) -> Reply:
    return Reply.json(200, gw.operation())


def system_status(gw: Gateway) -> Reply:
    s = gw.sample()
    spec = gw.site.spec
    full = spec.battery_kwh * 1000.0
    remaining = full * (s.soe_pct or 0.0) / 100.0
    n = len(BATTERY_SERIALS)
    blocks = []
    for serial in BATTERY_SERIALS:
        blocks.append(
            {
                "Type": "",
                "PackagePartNumber": "3012170-10-B",
                "PackageSerialNumber": serial,
                "disabled_reasons": [],
                "pinv_state": "PINV_GridFollowing" if not gw.site.outage else "PINV_GridForming",
                "pinv_grid_state": "Grid_Compliant" if not gw.site.outage else "Grid_Uncompliant",
                "nominal_energy_remaining": round(remaining / n, 1),
                "nominal_full_pack_energy": round(full / n, 1),
                "p_out": round(s.battery_w / n, 1),
                "q_out": 0,
                "v_out": 240.1,
                "f_out": 60.0,
                "i_out": round(s.battery_w / n / 240.1, 2),
                "energy_charged": round(s.counters.battery_charged_wh / n) if s.counters else 0,
                "energy_discharged": round(s.counters.battery_discharged_wh / n)
                if s.counters
                else 0,
                "off_grid": gw.site.outage,
                "vf_mode": gw.site.outage,
                "wobble_detected": False,
                "charge_power_clamped": False,
                "backup_ready": True,
                "OpSeqState": "Active",
                "version": "d7f2f1f1e7a2f8",
            }
        )
    body = {
        "command_source": "Configuration",
        "battery_target_power": s.battery_w,
        "battery_target_reactive_power": 0,
        "nominal_full_pack_energy": full,
        "nominal_energy_remaining": round(remaining, 1),
        "max_power_energy_remaining": 0,
        "max_power_energy_to_be_charged": 0,
        "max_charge_power": spec.battery_max_w,
        "max_discharge_power": spec.battery_max_w,
        "max_apparent_power": spec.battery_max_w,
        "instantaneous_max_discharge_power": spec.battery_max_w,
        "instantaneous_max_charge_power": spec.battery_max_w,
        "instantaneous_max_apparent_power": spec.battery_max_w,
        "hardware_capability_charge_power": 0,
        "hardware_capability_discharge_power": 0,
        "grid_services_power": 0,
        "system_island_state": gw.island_state(),
        "available_blocks": n,
        "available_charger_blocks": 0,
        "battery_blocks": blocks if gw.list_blocks else [],
        "ffr_power_availability_high": 0,
        "ffr_power_availability_low": 0,
        "load_charge_constraint": 0,
        "max_sustained_ramp_rate": 0,
        "grid_faults": [],
        "can_reboot": "Yes",
        "smart_inv_delta_p": 0,
        "smart_inv_delta_q": 0,
        "last_toggle_timestamp": iso_s(gw.started),
        "solar_real_power_limit": -1,
        "score": 10000,
        "blocks_controlled": n,
        "primary": True,
        "auxiliary_load": 0,
        "all_enable_lines_high": True,
        "inverter_nominal_usable_power": spec.battery_max_w,
        "expected_energy_remaining": 0,
    }
    return Reply.json(200, body)


def site_info(gw: Gateway) -> Reply:
    spec = gw.site.spec
    return Reply.json(
        200,
        {
            "max_system_energy_kWh": spec.battery_kwh,
            "max_system_power_kW": spec.battery_max_w / 1000.0,
            "site_name": gw.site_name,
            "timezone": spec.timezone,
            "max_site_meter_power_kW": 1000000000,
            "min_site_meter_power_kW": -1000000000,
            "nominal_system_energy_kWh": spec.battery_kwh,
            "nominal_system_power_kW": spec.battery_max_w / 1000.0,
            "panel_max_current": 100,
            "grid_code": {
                "grid_code": "60Hz_240V_s_UL1741SA:2019_California",
                "grid_voltage_setting": 240,
                "grid_freq_setting": 60,
                "grid_phase_setting": "Split",
                "country": "United States",
                "state": "California",
                "utility": "Emulated Power & Light",
            },
        },
    )


def site_name(gw: Gateway) -> Reply:
    return Reply.json(200, {"site_name": gw.site_name, "timezone": gw.site.spec.timezone})


def problems(gw: Gateway) -> Reply:
    return Reply.json(200, {"problems": []})


def powerwalls(gw: Gateway) -> Reply:
    pws: list[dict[str, Any]] = [
        {
            "Type": "",
            "PackagePartNumber": "3012170-10-B",
            "PackageSerialNumber": serial,
            "type": "SolarPowerwall" if i == 0 else "ACPW",
            "grid_state": "Grid_Compliant",
            "grid_reconnection_time_seconds": 0,
            "under_phase_detection": False,
            "updating": False,
            "commissioning_diagnostic": {
                "name": "Commissioning",
                "category": "InternalComms",
                "disruptive": False,
                "inputs": None,
                "checks": [],
                "alert": False,
            },
            "update_diagnostic": {
                "name": "Firmware Update",
                "category": "InternalComms",
                "disruptive": True,
                "inputs": None,
                "checks": [],
                "alert": False,
            },
            "bc_type": None,
            "in_config": True,
        }
        for i, serial in enumerate(BATTERY_SERIALS)
    ]
    return Reply.json(
        200,
        {
            "enumerating": False,
            "updating": False,
            "checking_if_offgrid": False,
            "running_phase_detection": False,
            "phase_detection_last_error": "no phase information",
            "bubble_shedding": False,
            "on_grid_check_error": "on grid check not run",
            "grid_qualifying": False,
            "grid_code_validating": False,
            "phase_detection_not_available": True,
            "powerwalls": pws,
            "gateway_din": DIN,
            "sync": {},
            "msa": None,
            "states": None,
        },
    )


def solar_powerwall(gw: Gateway) -> Reply:
    s = gw.sample()
    half = s.solar_w / 2.0
    strings = []
    for sid, share in (("A", half), ("B", s.solar_w - half), ("C", 0.0), ("D", 0.0)):
        on = sid in ("A", "B")
        volts = 380.0 if (on and share > 0) else (12.0 if on else 0.0)
        strings.append(
            {
                "string_id": sid,
                "connected": on,
                "measured_voltage": volts,
                "current": round(share / volts, 2) if volts > 20 else 0.0,
                "measured_power": round(share, 1),
            }
        )
    return Reply.json(
        200,
        {
            "pvac_status": {
                "state": "PVAC_Active" if s.solar_w > 0 else "PVAC_Standby",
                "disabled": False,
                "disabled_reasons": [],
                "grid_state": "Grid_Compliant",
                "inv_state": "INV_GridFollowing",
                "v_out": 240.1,
                "f_out": 60.0,
                "p_out": s.solar_w,
                "q_out": 0,
                "i_out": 0,
                "string_vitals": strings,
            },
            "pvs_status": {
                "state": "PVS_Active",
                "disabled": False,
                "enable_output": True,
                "v_ll": 240.1,
                "self_test_state": "PVS_SelfTestOff",
            },
            "pv_power_limit": 7600.0,
            "power_status_setpoint": "on",
            "pvac_alerts": {
                "LastRxTime": iso_s(s.ts),
                "ReceivedMuxBitmask": 1,
                "PVAC_alertMatrixIndex": 0,
                "PVAC_a018_MciStringC": True,
                "PVAC_a019_MciStringD": True,
            },
            "pvs_alerts": {
                "LastRxTime": iso_s(s.ts),
                "ReceivedMuxBitmask": 0,
                "PVS_a018_MciStringC": True,
                "PVS_a019_MciStringD": True,
            },
        },
    )


def registration(gw: Gateway) -> Reply:
    return Reply.json(
        200,
        {
            "privacy_notice": None,
            "limited_warranty": None,
            "grid_services": None,
            "marketing": None,
            "registered": True,
            "timed_out_registration": False,
        },
    )


def networks(gw: Gateway) -> Reply:
    return Reply.json(
        200,
        [
            {
                "network_name": "ethernet_tesla_internal_default",
                "interface": "EthType",
                "enabled": True,
                "active": True,
                "primary": True,
            }
        ],
    )


def empty_list(gw: Gateway) -> Reply:
    return Reply.json(200, [])


def meters_site(gw: Gateway) -> Reply:
    return Reply.json(
        200,
        [
            {
                "id": 0,
                "location": "site",
                "type": "synchrometerX",
                "cts": [True, True, False, False],
                "inverted": [False] * 4,
                "connection": {"short_id": "EMU", "device_serial": "EMU000", "https_conf": {}},
            }
        ],
    )


def null(gw: Gateway) -> Reply:
    return Reply.json(200, None)


def auth_toggle(gw: Gateway) -> Reply:
    return Reply.json(200, {"toggle_auth_supported": True})


def _iso_ns(ts: datetime) -> str:
    """RFC 3339 with nanoseconds, the way the gateway stamps meter readings."""
    t = ts.astimezone(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond:06d}000Z"


ROUTES: dict[str, Callable[[Gateway], Reply]] = {
    "/api/meters/aggregates": aggregates,
    "/api/system_status/soe": soe,
    "/api/system_status/grid_status": grid_status,
    "/api/sitemaster": sitemaster,
    "/api/status": status,
    "/api/operation": get_operation,
    "/api/system_status": system_status,
    "/api/site_info": site_info,
    "/api/site_info/site_name": site_name,
    "/api/troubleshooting/problems": problems,
    "/api/powerwalls": powerwalls,
    "/api/solar_powerwall": solar_powerwall,
    "/api/customer/registration": registration,
    "/api/networks": networks,
    "/api/system_status/grid_faults": empty_list,
    "/api/meters/site": meters_site,
    "/api/meters/solar": null,
    "/api/auth/toggle/supported": auth_toggle,
}
