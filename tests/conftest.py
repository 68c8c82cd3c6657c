"""Shared fixtures: everything runs on loopback and in tmp_path.

The fixtures that tests in several folders use live in support modules registered
here: the gateway emulator and a PowerwallSource on it (``tests.gateway_support``),
real hubs, a scripted source and a real MQTT broker (``tests.hub_support``), a real
VictoriaMetrics that takes InfluxDB writes (``tests.victoria_support``).
"""

from __future__ import annotations

import pytest

from tests.support import REPO

pytest_plugins = ["tests.gateway_support", "tests.hub_support", "tests.victoria_support"]

SHARED = REPO.parent / "shared"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """Keep tests away from the user's real config, data dir and the seed's env names."""
    for name in (
        "POWERWALL_IP",
        "POWERWALL_PASSWORD",
        "METER_ENDPOINT",
        "TIMEZONE",
        "LOG_LEVEL",
        "INFLUXDB_URL",
        "INFLUXDB_TOKEN",
        "INFLUXDB_ORG",
        "INFLUXDB_BUCKET",
    ):
        monkeypatch.delenv(name, raising=False)
    import os

    for name in list(os.environ):
        if name.startswith("ENERGYTUI_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
