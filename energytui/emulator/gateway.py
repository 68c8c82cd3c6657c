"""What the emulated gateway knows and how it answers, without any sockets.

The JSON shapes follow captures of real gateways (firmware 23.x/24.x, see
docs/powerwall.md): field names, the raw battery scale that includes Tesla's
hidden 5 % (the app shows ``(raw - 5) / 0.95``), Go-style uptime strings and
the island-state words. Values come from :class:`SimulatedSite`, moved to the
emulator clock's "now" at most once per second of site time so the three
requests of one client poll see one consistent instant.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from energytui.clock import Clock
from energytui.model import PowerSample
from energytui.sources.simulated import SimulatedSite

#: Modes the gateway accepts in ``real_mode``.
MODES = ("self_consumption", "backup", "autonomous")

DIN = "1232100-00-E--TG0000000000EMU"
BATTERY_SERIALS = ("TG0000000000PW1", "TG0000000000PW2")


def raw_from_app(pct: float) -> float:
    """Tesla app percentage -> the gateway's raw scale (which keeps 5 % hidden)."""
    return pct * 0.95 + 5.0


def app_from_raw(raw: float) -> float:
    """Gateway raw percentage -> what the Tesla app (and energytui) shows."""
    return max(0.0, (raw - 5.0) / 0.95)


@dataclass(frozen=True)
class Reply:
    """An answer before it is put on the wire."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    cookies: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, status: int, obj: Any, cookies: tuple[tuple[str, str], ...] = ()) -> Reply:
        return cls(status, json.dumps(obj).encode(), "application/json", cookies)


UNAUTHORIZED = Reply.json(401, {"code": 401, "error": "Token Expired", "message": "Token Expired"})
BAD_LOGIN = Reply.json(401, {"code": 401, "error": "bad credentials", "message": "Login Error"})
RATE_LIMITED = Reply.json(
    429,
    {"code": 429, "error": "Api Limit reached for this endpoint", "message": "API Limit Reached"},
)
NOT_FOUND = Reply.json(404, {"code": 404, "error": "Not Found", "message": "Not Found"})


@dataclass
class Counts:
    """Requests seen, for tests and the benchmark (a copy; it does not change)."""

    by_path: dict[str, int] = field(default_factory=dict)  # "GET /api/…" -> n
    total: int = 0
    login_attempts: int = 0
    login_failures: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "login_attempts": self.login_attempts,
            "login_failures": self.login_failures,
            "by_path": dict(sorted(self.by_path.items())),
        }


class Gateway:
    """The emulated Tesla Energy Gateway: sessions, settings and the site behind them."""

    def __init__(
        self,
        site: SimulatedSite,
        clock: Clock,
        password: str,
        *,
        firmware: str = "24.44.1 c58c2df3",
        site_name: str = "Emulated Home",
        allow_control: bool = True,
    ) -> None:
        self.site = site
        self.clock = clock
        self.password = password
        self.firmware = firmware
        self.site_name = site_name
        self.allow_control = allow_control
        self.real_mode = "self_consumption"
        self.started = clock.now()
        self._lock = threading.RLock()
        self._sessions: set[str] = set()
        self._counter: Counter[str] = Counter()
        self._logins = 0
        self._login_failures = 0
        self._sample: PowerSample | None = None

    # -- bookkeeping ---------------------------------------------------------
    def count(self, method: str, path: str) -> None:
        with self._lock:
            self._counter[f"{method} {path}"] += 1

    def counts(self) -> Counts:
        with self._lock:
            return Counts(
                dict(self._counter), sum(self._counter.values()), self._logins, self._login_failures
            )

    def reset_counts(self) -> None:
        with self._lock:
            self._counter.clear()
            self._logins = self._login_failures = 0

    def end_sessions(self) -> None:
        """Forget every session (a gateway restart, or the password changed)."""
        with self._lock:
            self._sessions.clear()

    def set_password(self, password: str) -> None:
        with self._lock:
            self.password = password
            self._sessions.clear()

    def set_outage(self, on: bool) -> None:
        with self._lock:
            self.site.outage = on
            self._sample = None  # the next read shows the islanded site at once

    # -- auth ----------------------------------------------------------------
    def login(self, body: bytes, content_type: str, *, reject_all: bool = False) -> Reply:
        """``POST /api/login/Basic``: accept form or JSON bodies like real firmware."""
        with self._lock:
            self._logins += 1
            fields: dict[str, Any] = {}
            try:
                if "json" in content_type:
                    loaded = json.loads(body or b"{}")
                    fields = loaded if isinstance(loaded, dict) else {}
                else:
                    fields = {
                        k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()
                    }
            except (ValueError, UnicodeDecodeError):
                fields = {}
            ok = (
                not reject_all
                and fields.get("username", "customer") == "customer"
                and secrets.compare_digest(str(fields.get("password", "")), self.password)
            )
            if not ok:
                self._login_failures += 1
                return BAD_LOGIN
            token = secrets.token_urlsafe(24)
            self._sessions.add(token)
            reply = {
                "email": str(fields.get("email", "")),
                "firstname": "Tesla",
                "lastname": "Energy",
                "roles": ["Home_Owner"],
                "token": token,
                "provider": "Basic",
                "loginTime": _iso(self.clock.now()),
            }
            record = secrets.token_urlsafe(12)
            return Reply.json(200, reply, (("AuthCookie", token), ("UserRecord", record)))

    def authorized(self, cookie_header: str, authorization: str) -> bool:
        """A request is in a session if its AuthCookie or Bearer token is one we issued.

        pypowerwall sends each cookie pair twice (its dict and the session jar),
        so duplicates are normal and harmless here.
        """
        tokens = []
        for part in cookie_header.split(";"):
            name, _, value = part.strip().partition("=")
            if name == "AuthCookie" and value:
                tokens.append(value)
        if authorization.lower().startswith("bearer "):
            tokens.append(authorization[7:].strip())
        with self._lock:
            return any(t in self._sessions for t in tokens)

    def logout(self, cookie_header: str, authorization: str) -> None:
        with self._lock:
            for part in cookie_header.split(";"):
                name, _, value = part.strip().partition("=")
                if name == "AuthCookie":
                    self._sessions.discard(value)
            if authorization.lower().startswith("bearer "):
                self._sessions.discard(authorization[7:].strip())

    # -- the site --------------------------------------------------------------
    def sample(self) -> PowerSample:
        """The site now; advanced at most once per second of site time."""
        with self._lock:
            now = self.clock.now()
            if self._sample is None or (now - self._sample.ts).total_seconds() >= 1.0:
                self._sample = self.site.advance(now)
            return self._sample

    @property
    def reserve_raw(self) -> float:
        return raw_from_app(self.site.spec.reserve_pct)

    def set_operation(self, obj: Any) -> Reply:
        """``POST /api/operation``: the full overwrite real firmware expects."""
        if not self.allow_control:
            return Reply.json(403, {"code": 403, "error": "Forbidden", "message": "Unauthorized"})
        if not isinstance(obj, dict):
            return Reply.json(
                400, {"code": 400, "error": "Bad Request", "message": "expected a JSON object"}
            )
        with self._lock:
            mode = obj.get("real_mode", self.real_mode)
            level = obj.get("backup_reserve_percent", self.reserve_raw)
            if mode not in MODES:
                return Reply.json(
                    400,
                    {"code": 400, "error": "Bad Request", "message": f"invalid real_mode {mode!r}"},
                )
            try:
                level = float(level)
            except (TypeError, ValueError):
                level = -1.0
            if not 0.0 <= level <= 100.0:
                return Reply.json(
                    400,
                    {
                        "code": 400,
                        "error": "Bad Request",
                        "message": "backup_reserve_percent out of range",
                    },
                )
            self.real_mode = mode
            self.site.spec.reserve_pct = round(app_from_raw(level), 3)
            return Reply.json(200, self._operation())

    # -- GET routes --------------------------------------------------------------
    def get(self, path: str) -> Reply | None:
        """The answer to an authenticated GET, or None for an unknown path."""
        route = _ROUTES.get(path)
        if route is None:
            return None
        with self._lock:
            return route(self)

    def _aggregates(self) -> Reply:
        s = self.sample()
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

    def _soe(self) -> Reply:
        s = self.sample()
        return Reply.json(200, {"percentage": raw_from_app(s.soe_pct or 0.0)})

    def _island_state(self) -> str:
        return "SystemIslandedActive" if self.site.outage else "SystemGridConnected"

    def _grid_status(self) -> Reply:
        return Reply.json(200, {"grid_status": self._island_state(), "grid_services_active": False})

    def _sitemaster(self) -> Reply:
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

    def _status(self) -> Reply:
        up = (self.clock.now() - self.started).total_seconds()
        h, rem = divmod(up, 3600)
        m, sec = divmod(rem, 60)
        return Reply.json(
            200,
            {
                "din": DIN,
                "start_time": self.started.strftime("%Y-%m-%d %H:%M:%S +0000"),
                "up_time_seconds": f"{int(h)}h{int(m)}m{sec:.3f}s",
                "is_new": False,
                "version": self.firmware,
                "git_hash": "c58c2df3emulated",
                "commission_count": 0,
                "device_type": "teg",
                "teg_type": "unknown",
                "sync_type": "v2.1",
                "cellular_disabled": False,
                "can_reboot": True,
            },
        )

    def _operation(self) -> dict:
        return {
            "real_mode": self.real_mode,
            "backup_reserve_percent": round(self.reserve_raw, 3),
            "freq_shift_load_shed_soe": 0,
            "freq_shift_load_shed_delta_f": 0,
        }

    def _get_operation(self) -> Reply:
        return Reply.json(200, self._operation())

    def _system_status(self) -> Reply:
        s = self.sample()
        spec = self.site.spec
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
                    "pinv_state": "PINV_GridFollowing"
                    if not self.site.outage
                    else "PINV_GridForming",
                    "pinv_grid_state": "Grid_Compliant"
                    if not self.site.outage
                    else "Grid_Uncompliant",
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
                    "off_grid": self.site.outage,
                    "vf_mode": self.site.outage,
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
            "system_island_state": self._island_state(),
            "available_blocks": n,
            "available_charger_blocks": 0,
            "battery_blocks": blocks,
            "ffr_power_availability_high": 0,
            "ffr_power_availability_low": 0,
            "load_charge_constraint": 0,
            "max_sustained_ramp_rate": 0,
            "grid_faults": [],
            "can_reboot": "Yes",
            "smart_inv_delta_p": 0,
            "smart_inv_delta_q": 0,
            "last_toggle_timestamp": _iso(self.started),
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

    def _site_info(self) -> Reply:
        spec = self.site.spec
        return Reply.json(
            200,
            {
                "max_system_energy_kWh": spec.battery_kwh,
                "max_system_power_kW": spec.battery_max_w / 1000.0,
                "site_name": self.site_name,
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

    def _site_name(self) -> Reply:
        return Reply.json(200, {"site_name": self.site_name, "timezone": self.site.spec.timezone})

    def _problems(self) -> Reply:
        return Reply.json(200, {"problems": []})

    def _powerwalls(self) -> Reply:
        pws = [
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

    def _solar_powerwall(self) -> Reply:
        s = self.sample()
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
                    "LastRxTime": _iso(s.ts),
                    "ReceivedMuxBitmask": 1,
                    "PVAC_alertMatrixIndex": 0,
                    "PVAC_a018_MciStringC": True,
                    "PVAC_a019_MciStringD": True,
                },
                "pvs_alerts": {
                    "LastRxTime": _iso(s.ts),
                    "ReceivedMuxBitmask": 0,
                    "PVS_a018_MciStringC": True,
                    "PVS_a019_MciStringD": True,
                },
            },
        )

    def _registration(self) -> Reply:
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

    def _networks(self) -> Reply:
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

    def _empty_list(self) -> Reply:
        return Reply.json(200, [])

    def _meters_site(self) -> Reply:
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

    def _null(self) -> Reply:
        return Reply.json(200, None)

    def _auth_toggle(self) -> Reply:
        return Reply.json(200, {"toggle_auth_supported": True})


_ROUTES = {
    "/api/meters/aggregates": Gateway._aggregates,
    "/api/system_status/soe": Gateway._soe,
    "/api/system_status/grid_status": Gateway._grid_status,
    "/api/sitemaster": Gateway._sitemaster,
    "/api/status": Gateway._status,
    "/api/operation": Gateway._get_operation,
    "/api/system_status": Gateway._system_status,
    "/api/site_info": Gateway._site_info,
    "/api/site_info/site_name": Gateway._site_name,
    "/api/troubleshooting/problems": Gateway._problems,
    "/api/powerwalls": Gateway._powerwalls,
    "/api/solar_powerwall": Gateway._solar_powerwall,
    "/api/customer/registration": Gateway._registration,
    "/api/networks": Gateway._networks,
    "/api/system_status/grid_faults": Gateway._empty_list,
    "/api/meters/site": Gateway._meters_site,
    "/api/meters/solar": Gateway._null,
    "/api/auth/toggle/supported": Gateway._auth_toggle,
}

#: Paths a real gateway answers without a session.
PUBLIC_PATHS = frozenset(
    {"/api/status", "/api/customer/registration", "/api/auth/toggle/supported"}
)


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _iso_ns(ts: datetime) -> str:
    """RFC 3339 with nanoseconds, the way the gateway stamps meter readings."""
    t = ts.astimezone(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond:06d}000Z"
