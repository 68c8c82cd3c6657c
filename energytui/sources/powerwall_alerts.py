"""Powerwall alert codes in words.

The gateway names alerts with codes such as ``SystemConnectedToGrid`` or
``PVAC_a018_MciStringC`` (device prefix, alert number, name). The devices screen
shows a sentence first and keeps the code beside it, since the code is what Tesla
support and community threads search on. Codes not listed here are still put in
words from their parts, never shown bare.
"""

from __future__ import annotations

import re

#: The devices the code prefixes name.
DEVICES: dict[str, str] = {
    "PVAC": "Solar inverter",
    "PVS": "Solar string switch",
    "PINV": "Battery inverter",
    "POD": "Battery pod",
    "THC": "Battery thermal controller",
    "BMS": "Battery management",
    "TESYNC": "Backup switch",
    "SYNC": "Backup switch",
    "STSTSM": "Site controller",
    "NEURIO": "Site meter",
}

#: Codes seen on real gateways, in words (whole-code match).
KNOWN: dict[str, str] = {
    "SystemConnectedToGrid": "Connected to the grid.",
    "GridServicesActive": "Grid services are active (the utility is using the battery).",
    "FWUpdateSucceeded": "The last firmware update succeeded.",
    "FWUpdateFailed": "The last firmware update failed.",
    "PodCommissionTime": "A battery was commissioned recently.",
    "GridCodesWrite": "Grid code settings were written.",
    "ScheduledIslandContactorOpen": "The site is islanded on purpose (grid contactor open).",
    "GridFaultContactorTrip": "A grid fault opened the grid contactor.",
    "SystemShutdown": "The system is shut down.",
    "SelfConsumptionReservedLimit": "Self-powering is limited by the backup reserve.",
    "RealPowerAvailableLimited": "Battery power is limited.",
    "RealPowerConfigLimited": "Battery power is limited by configuration.",
    "BatteryComms": "A battery is not communicating.",
    "BatteryUnexpectedPower": "A battery reports unexpected power.",
    "BackfeedLimited": "Export to the grid is limited.",
    "DeviceShutdownRequested": "A device was asked to shut down.",
    "ExcessiveVoltageDrop": "The voltage drops too much under load.",
}

#: Words for the parts of an alert's name (after the number).
NAME_WORDS: dict[str, str] = {
    "Mci": "mid-circuit interrupter (rapid shutdown) open on",
    "String": "string",
    "Overtemperature": "over temperature",
    "Undervoltage": "under voltage",
    "Overvoltage": "over voltage",
    "Relay": "relay",
}

_CODE = re.compile(r"^(?P<dev>[A-Z]+)_(?P<kind>[aw])(?P<num>\d+)_(?P<name>\w+)$")


def _words(name: str) -> str:
    """``MciStringC`` -> "mid-circuit interrupter (rapid shutdown) open on string C"."""
    name = name.replace("_", " ")
    parts = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", name)
    out = [NAME_WORDS.get(p, p if p.isupper() else p.lower()) for p in parts]
    return " ".join(out) if out else name


def describe_alert(code: str) -> str:
    """One sentence for an alert code (the code itself is kept by the caller)."""
    if code in KNOWN:
        return KNOWN[code]
    m = _CODE.match(code)
    if m is not None:
        device = DEVICES.get(m["dev"], f"{m['dev']} device")
        what = "warning" if m["kind"] == "w" else "alert"
        return f"{device} {what} {int(m['num'])}: {_words(m['name'])}."
    words = _words(code)
    return f"{words[:1].upper()}{words[1:]}."


def is_info(code: str) -> bool:
    """Alerts that say all is well (shown without the warning mark)."""
    return code in ("SystemConnectedToGrid", "FWUpdateSucceeded", "PodCommissionTime")
