"""``/api/devices/vitals`` for emulated firmware older than 23.44.

Real gateways answer a ``DevicesWithVitals`` protobuf (octet-stream) keyed by
device DIN: thermal controllers (TETHC, ambient temperature), battery pods
(TEPOD, energy), inverters (TEPINV), the PV inverter and its strings (PVAC,
PVS) and the site controller (STSTSM, alerts). We build it with the message
classes pypowerwall itself decodes with, filled from the simulated site.
"""

from __future__ import annotations

from pypowerwall.local import tesla_pb2

from devkit.emulator.gateway import BATTERY_SERIALS, DIN
from energytui.model import PowerSample

PART = "1092170-03-E"


def _device(msg: tesla_pb2.DevicesWithVitals, din: str, vitals: dict, alerts: tuple[str, ...] = ()):
    entry = msg.devices.add()
    entry.device.device.din.value = din
    entry.device.device.partNumber.value = din.split("--")[1] if din.count("--") >= 2 else PART
    for name, value in vitals.items():
        v = entry.vitals.add()
        v.name = name
        if isinstance(value, bool):
            v.boolValue = value
        elif isinstance(value, int):
            v.intValue = value
        elif isinstance(value, float):
            v.floatValue = value
        else:
            v.stringValue = str(value)
    entry.alerts.extend(alerts)


def vitals_bytes(sample: PowerSample, battery_kwh: float, outage: bool) -> bytes:
    """The protobuf body for one instant of the site."""
    msg = tesla_pb2.DevicesWithVitals()
    n = len(BATTERY_SERIALS)
    full_wh = battery_kwh * 1000.0 / n
    left_wh = full_wh * (sample.soe_pct or 0.0) / 100.0
    for i, serial in enumerate(BATTERY_SERIALS):
        _device(
            msg,
            f"TETHC--{PART}--{serial}",
            {"THC_State": "THC_STATE_AUTONOMOUSCONTROL", "THC_AmbientTemp": 21.5 + 1.5 * i},
        )
        _device(
            msg,
            f"TEPOD--{PART}--{serial}",
            {
                "POD_nom_energy_remaining": round(left_wh, 1),
                "POD_nom_full_pack_energy": round(full_wh, 1),
                "POD_ActiveHeating": False,
            },
        )
        _device(
            msg,
            f"TEPINV--{PART}--{serial}",
            {
                "PINV_Fout": 60.0,
                "PINV_Pout": round(sample.battery_w / n / 1000.0, 3),
                "PINV_VSplit1": 120.1,
                "PINV_VSplit2": 120.0,
                "PINV_State": "PINV_GridForming" if outage else "PINV_GridFollowing",
            },
        )
    half = sample.solar_w / 2.0
    pvac: dict = {"PVAC_Pout": sample.solar_w, "PVAC_State": "PVAC_Active"}
    for letter, share in (("A", half), ("B", sample.solar_w - half), ("C", 0.0), ("D", 0.0)):
        volts = 380.0 if share > 0 else 0.0
        pvac[f"PVAC_PVCurrent_{letter}"] = round(share / volts, 2) if volts else 0.0
        pvac[f"PVAC_PVMeasuredVoltage_{letter}"] = volts
        pvac[f"PVAC_PVMeasuredPower_{letter}"] = round(share, 1)
        pvac[f"PVAC_PvState_{letter}"] = "PV_Active" if share > 0 else "PV_Disabled"
    _device(msg, f"PVAC--{PART}--{BATTERY_SERIALS[0]}", pvac)
    _device(
        msg,
        f"PVS--{PART}--{BATTERY_SERIALS[0]}",
        {f"PVS_String{x}_Connected": x in "AB" for x in "ABCD"},
    )
    _device(
        msg,
        f"STSTSM--{DIN.split('--', 1)[0]}--{DIN.rsplit('-', 1)[-1]}",
        {"STSTSM-Location": "Gateway", "ISLAND_GridConnected": not outage},
        ("SystemConnectedToGrid",) if not outage else ("SystemIslandedActive",),
    )
    return msg.SerializeToString()
