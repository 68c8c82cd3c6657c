"""The runtime: one start path for serve, the TUI and the kiosk; real hubs, stores and sockets."""

from __future__ import annotations

import socket

import httpx
import pytest

from devkit.emulator import Emulator
from energytui.config import Config, load_config
from energytui.runtime import Runtime, build_hub
from energytui.serve import ApiStartError
from energytui.sources.powerwall import PowerwallSource
from tests.gateway_support import PASSWORD
from tests.mqtt_listener import Listener
from tests.support import free_port
from tests.victoria_support import wait_until


def config(tmp_path, port: int = 0, **sections) -> Config:
    overrides = {
        "general": {"data_dir": str(tmp_path / "data")},
        "simulated": {"interval_s": 0.2},
        "api": {"port": port},
        **sections,
    }
    return load_config(environ={}, overrides=overrides)


def refused(url: str) -> bool:
    try:
        httpx.get(url, timeout=2.0)
    except httpx.ConnectError:
        return True
    return False


async def test_the_powerwall_source_gets_the_configured_timezone(tmp_path, emulator: Emulator):
    cfg = config(
        tmp_path,
        general={"data_dir": str(tmp_path), "timezone": "Europe/Berlin"},
        powerwall={"host": emulator.host_port, "password": PASSWORD},
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


async def test_start_serves_from_the_hub_and_stop_closes_everything(tmp_path):
    cfg = config(tmp_path)
    hub = build_hub(cfg)
    runtime = Runtime(cfg, hub)
    async with runtime:
        assert hub.started and runtime.warnings == []
        url = runtime.api.url
        async with httpx.AsyncClient() as client:
            health = (await client.get(f"{url}/api/v1/health")).json()
        assert health["store"]["enabled"] and not health["store"]["readonly"]
    assert runtime.api is None and not hub.started
    assert refused(f"{url}/api/v1/health")
    # the store was closed: the next process writes it
    again = build_hub(cfg)
    try:
        assert not again.store.readonly
    finally:
        again.store.close()


async def test_a_busy_port_is_a_warning_in_the_tui_and_an_error_headless(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        cfg = config(tmp_path, port)
        with pytest.raises(ApiStartError, match=f"port {port} on 127.0.0.1 is already in use"):
            Runtime.open(cfg)
        assert not (tmp_path / "data" / "store").exists()  # nothing opened before the bind

        runtime = Runtime(cfg, build_hub(cfg))
        async with runtime:
            assert runtime.hub.started and runtime.api is None
            [warning] = runtime.warnings
            assert warning.startswith(f"HTTP API not started: port {port} on 127.0.0.1 is ")
            assert warning.endswith(".") and "\n" not in warning


async def test_a_viewer_leaves_the_api_to_the_first_instance(tmp_path):
    cfg = config(tmp_path, free_port())
    async with Runtime.open(cfg) as first:
        assert first.api is not None
        second = Runtime(cfg, build_hub(cfg))
        async with second:
            assert second.hub.store.readonly
            # the port is the first instance's: a viewer does not try it, nor warn about it
            assert second.api is None and second.warnings == [] and second.sinks == []
        assert not second.hub.started
    assert not first.hub.started


async def test_mqtt_publishes_with_the_api_disabled(tmp_path, broker):
    """The TUI used to skip MQTT when api.enabled was false; serve never coupled the two."""
    cfg = config(
        tmp_path,
        api={"enabled": False},
        mqtt={"enabled": True, "port": broker, "interval_s": 0.0},
    )
    listener = Listener(broker, topics=("energytui/status",))
    try:
        async with Runtime(cfg, build_hub(cfg)) as runtime:
            assert runtime.api is None and runtime.warnings == []
            assert len(runtime.sinks) == 1
            await listener.wait(lambda: listener.last("energytui/status") == "online", 20)
        assert runtime.sinks == []
        await listener.wait(lambda: listener.last("energytui/status") == "offline", 20)
    finally:
        listener.close()


async def test_influxdb_is_written_from_the_runtime_and_flushed_on_stop(tmp_path, victoria):
    """INFLUXDB_URL (or [influxdb] url) alone turns the writer on, for serve and the TUI alike:
    the simulated site's samples reach a real VictoriaMetrics, and stop sends the rest."""
    cfg = config(
        tmp_path,
        api={"enabled": False},
        influxdb={"url": victoria.url, "org": "solar", "flush_interval_s": 0.2},
    )
    async with Runtime(cfg, build_hub(cfg)) as runtime:
        assert runtime.warnings == [] and runtime.influx is not None
        influx = runtime.influx
        await wait_until(lambda: influx.status().points_written >= 3, what="3 points written")
    assert runtime.sinks == [] and runtime.influx is None
    assert influx.status().points_pending == 0  # stop flushed what was left
    assert len(victoria.settled("power_solar_w", 3)) >= 3


async def test_an_influxdb_spool_that_cannot_be_opened_is_a_warning(tmp_path):
    cfg = config(tmp_path, api={"enabled": False}, influxdb={"url": "http://127.0.0.1:9"})
    from energytui.sinks.influx import spool_dir

    spool = spool_dir(cfg)
    spool.parent.mkdir(parents=True, exist_ok=True)
    spool.write_text("a file where the spool's folder should be")
    async with Runtime(cfg, build_hub(cfg)) as runtime:
        assert runtime.influx is None and runtime.sinks == []
        assert len(runtime.warnings) == 1
        assert runtime.warnings[0].startswith("InfluxDB writer not started: ")
