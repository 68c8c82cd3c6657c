"""The runtime: one start path for serve, the TUI and the kiosk; real hubs, stores and sockets."""

from __future__ import annotations

import pytest

from energytui.config import Config, load_config
from energytui.emulator import Emulator
from energytui.runtime import build_hub
from energytui.sources.powerwall import PowerwallSource


def config(tmp_path, port: int = 0, **sections) -> Config:
    overrides = {
        "general": {"data_dir": str(tmp_path / "data")},
        "simulated": {"interval_s": 0.2},
        "api": {"port": port},
        **sections,
    }
    return load_config(environ={}, overrides=overrides)


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
async def test_the_powerwall_source_gets_the_configured_timezone(tmp_path):
    emu = Emulator(host="127.0.0.1", port=0, password="pw").start()
    try:
        cfg = config(
            tmp_path,
            general={"data_dir": str(tmp_path), "timezone": "Europe/Berlin"},
            powerwall={"host": emu.host_port, "password": "pw"},
        )
        hub = build_hub(cfg, with_store=False)
        src = hub.power_source
        assert isinstance(src, PowerwallSource)
        try:
            await src.poll()
            assert src.timezone == "Europe/Berlin"
            assert src._pw.timezone == "Europe/Berlin"  # what pypowerwall itself was given
        finally:
            await src.close()
    finally:
        emu.stop()
