"""The seed's whole setup, switched to energytui without editing a file of it.

One test walks what a user of the original system has: `energytui serve` started with the
seed's environment names only (its `.env` and compose: POWERWALL_IP, POWERWALL_PASSWORD,
INFLUXDB_URL/TOKEN/ORG/BUCKET, TIMEZONE, LOG_LEVEL) in front of the gateway emulator; the
Pi's `meter-agent` run with the seed's own config.json (its upload endpoint pointed at this
hub, its camera the synthetic meter); and the seed's clients reading the result: the
`/current_readings` JSON Home Assistant reads, the seed's Prometheus names, and a real
VictoriaMetrics taking InfluxDB writes. The hub trusts loopback (`api.trusted_networks`), as
a user trusts the Pi's LAN, since the seed's Pi sends no token.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from devkit.emulator import Emulator
from tests.gateway_support import PASSWORD
from tests.seed.test_pi_config import start_agent, stop_agent, wait_until
from tests.seed_pi_support import seed_config_in
from tests.support import REPO, free_port, wait_for_http
from tests.victoria_support import Victoria

pytestmark = pytest.mark.slow

SEED_NAMES = (
    "solar_production_watts",
    "battery_level_percent",
    "grid_power_watts",
    "home_load_watts",
    "meter_reading_kwh",
    "energy_readings_total",
    "api_errors_total",
)


def _serve(tmp_path: Path, emulator: Emulator, vm: Victoria, port: int) -> subprocess.Popen:
    """`energytui serve` configured by the seed's environment names; the file holds only
    what the seed had no name for (where to keep data, which port, whom to trust)."""
    config = tmp_path / "energytui.toml"
    config.write_text(
        f"""
[general]
data_dir = "{tmp_path / "data"}"
[powerwall]
interval_s = 1
timeout_s = 2
[api]
host = "127.0.0.1"
port = {port}
trusted_networks = ["127.0.0.0/8"]
[influxdb]
flush_interval_s = 0.5
""",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ENERGYTUI_", "INFLUXDB_"))}
    env.update(
        POWERWALL_IP=emulator.host_port,
        POWERWALL_PASSWORD=PASSWORD,
        INFLUXDB_URL=vm.url,
        INFLUXDB_TOKEN="your_influxdb_token",
        INFLUXDB_ORG="solar",
        INFLUXDB_BUCKET="energy",
        TIMEZONE="America/Los_Angeles",
        LOG_LEVEL="INFO",
        PYTHONPATH=str(REPO),
    )
    return subprocess.Popen(
        [sys.executable, "-m", "energytui.cli", "serve", "--config", str(config)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _current(url: str) -> dict[str, Any] | None:
    r = httpx.get(f"{url}/current_readings", timeout=10)
    return r.json() if r.status_code == 200 else None


def test_the_seeds_pi_env_and_clients_work_against_energytui(tmp_path: Path, victoria) -> None:
    emulator = Emulator(host="127.0.0.1", port=0, password=PASSWORD).start()
    hub_port, agent_port = free_port(), free_port()
    url = f"http://127.0.0.1:{hub_port}"
    serve = _serve(tmp_path, emulator, victoria, hub_port)
    agent = None
    try:
        wait_for_http(f"{url}/api/v1/health", serve)
        wait_until(lambda: _current(url), serve, "live /current_readings")

        # the Pi: the seed's config.json as written, but for where it uploads, where it
        # keeps files and which camera (the synthetic meter stands in for camera 0)
        pi = seed_config_in(
            tmp_path / "pi",
            camera={"source": "synthetic"},
            server={"host": "127.0.0.1", "port": agent_port},
            upload={"api_endpoint": f"{url}/meter_reading"},
        )
        pi_path = tmp_path / "pi" / "config.json"
        pi_path.parent.mkdir()
        pi_path.write_text(json.dumps(pi, indent=2), encoding="utf-8")
        assert "token" not in json.dumps(pi["upload"])  # the seed's Pi sends none
        agent = start_agent(pi_path)
        read = wait_until(
            lambda: (
                httpx.get(f"http://127.0.0.1:{agent_port}/meter", timeout=5).json()
                if _agent_up(agent_port)
                else None
            ),
            agent,
            "a reading on the agent",
        )
        kwh = read["reading_kwh"]

        # Home Assistant's REST sensor: status "ok", the reading in utility_meter
        current = wait_until(
            lambda: (c := _current(url)) and c["utility_meter"]["reading_kwh"] == kwh and c,
            serve,
            "the Pi's reading on /current_readings",
        )
        assert current["status"] == "ok"
        assert current["utility_meter"]["method"] == read["method"]
        assert current["powerwall"]["grid"]["status"] == "UP"
        assert current["system_summary"]["grid_tied"] is True

        # Prometheus: the seed's seven names, the meter's value among them
        metrics = httpx.get(f"{url}/metrics", timeout=10).text
        for name in SEED_NAMES:
            assert f"\n{name}" in f"\n{metrics}", name
        values = {
            sample.name: sample.value
            for family in text_string_to_metric_families(metrics)
            for sample in family.samples
        }
        assert values["meter_reading_kwh"] == kwh

        # InfluxDB (here VictoriaMetrics): power samples and the meter reading arrive
        assert len(victoria.settled("power_solar_w", 2, timeout=30)) >= 2
        assert [v for _, v in victoria.settled("meter_reading_kwh", 1, timeout=30)] == [kwh]
    finally:
        if agent is not None:
            stop_agent(agent)
        serve.terminate()
        _, err = serve.communicate(timeout=30)
        emulator.stop()
    assert serve.returncode == 0, err
    assert "Traceback" not in err


def _agent_up(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/meter", timeout=5).status_code == 200
    except httpx.TransportError:
        return False
