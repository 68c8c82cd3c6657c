"""The defaults docs/migrating.md tells a user of the seed to change, and the changes it
gives them: the hub and the agent listen on loopback only, where the seed listened on
every address, and the keys the guide names are the real ones."""

from __future__ import annotations

import json
from pathlib import Path

from energytui.config import load_config
from meter_agent.config import load_agent_config
from tests.seed_pi_support import seed_config_in


def test_the_hub_listens_on_loopback_port_8000_until_told_otherwise():
    default = load_config(environ={})
    assert (default.api.host, default.api.port) == ("127.0.0.1", 8000)
    assert default.api.trusted_networks == [] and default.api.token == ""
    lan = load_config(
        environ={
            "ENERGYTUI_API__HOST": "0.0.0.0",
            "ENERGYTUI_API__TRUSTED_NETWORKS": "[192.168.1.0/24]",
        }
    )
    assert lan.api.host == "0.0.0.0" and lan.api.trusted_networks == ["192.168.1.0/24"]


def test_the_seeds_config_json_serves_on_loopback_until_server_host_is_set(tmp_path: Path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(seed_config_in(tmp_path)), encoding="utf-8")
    agent = load_agent_config(path)
    assert (agent.server.host, agent.server.port) == ("127.0.0.1", 5000)
    path.write_text(
        json.dumps(seed_config_in(tmp_path, server={"host": "0.0.0.0"})), encoding="utf-8"
    )
    assert load_agent_config(path).server.host == "0.0.0.0"
