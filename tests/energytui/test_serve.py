"""`energytui serve` as a real process, the API inside a running loop, and the remote viewer."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from energytui.config import Config
from energytui.hub import Hub
from energytui.serve import ApiStartError, start_api_in_loop
from energytui.sources.base import SourceError
from energytui.sources.remote import RemoteHubSource, RemoteMeterSource
from energytui.sources.simulated import SimulatedSource
from tests.hub_support import wait_for
from tests.mqtt_listener import Listener
from tests.support import REPO, free_port


def write_config(tmp_path: Path, port: int, *, mqtt_port: int | None = None) -> Path:
    text = f"""
[general]
data_dir = "{tmp_path / "data"}"
log_level = "INFO"
[simulated]
interval_s = 0.2
[api]
port = {port}
token = "serve-token"
"""
    if mqtt_port is not None:
        text += (
            f"[mqtt]\nenabled = true\nport = {mqtt_port}\ninterval_s = 0\n"
            'username = "energytui"\npassword = "mqtt-secret-pw"\n'
        )
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def start_serve(config: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "energytui.cli", "serve", "--config", str(config), *extra],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_listening(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited early: {proc.stderr.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("serve did not start listening")


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> tuple[int, str]:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return proc.returncode, err


async def test_second_viewer_attaches_through_the_api(tmp_path, broker):
    port = free_port()
    listener = Listener(broker, topics=("energytui/status", "energytui/grid_import"))
    proc = start_serve(write_config(tmp_path, port, mqtt_port=broker))
    try:
        wait_listening(port, proc)
        base = f"http://127.0.0.1:{port}"
        viewer = Hub(
            [
                RemoteHubSource(base, interval_s=0.1, timeout_s=2.0),
                RemoteMeterSource(base, interval_s=0.1, timeout_s=2.0),
            ]
        )
        await viewer.start()
        try:
            await wait_for(lambda: viewer.power_is_live, timeout=20)
            async with httpx.AsyncClient(base_url=base) as c:
                posted = await c.post(
                    "/api/v1/meter_reading",
                    json={
                        "reading_kwh": 812.5,
                        "timestamp": datetime.now(UTC).isoformat(),
                        "confidence": 0.9,
                        "id": "srv-1",
                    },
                    headers={"Authorization": "Bearer serve-token"},
                )
                cur = (await c.get("/api/v1/current_readings")).json()
            assert posted.status_code == 201
            s = viewer.latest_power
            assert s.source == "simulated" and s.counters is not None
            assert s.soe_pct is not None and s.reserve_pct == 20.0
            assert s.grid_status.value == "up"
            assert s.counters.solar_produced_wh <= cur["powerwall"]["lifetime"]["solar_produced_wh"]
            await wait_for(lambda: viewer.latest_meter is not None, timeout=20)
            assert viewer.latest_meter.reading_kwh == 812.5 and viewer.latest_meter.id == "srv-1"
            assert viewer.store is None  # the viewer writes nothing
        finally:
            await viewer.stop()
        await listener.wait(lambda: listener.last("energytui/grid_import") is not None, 20)
        assert listener.last("energytui/status") == "online"
    finally:
        code, err = stop(proc)
    try:
        assert code == 0, err
        assert "Traceback" not in err
        log_text = (tmp_path / "data" / "energytui.log").read_text(encoding="utf-8")
        for secret in ("serve-token", "mqtt-secret-pw"):
            assert secret not in err and secret not in log_text
        assert "MQTT: connected" in log_text  # the log is really there
        await listener.wait(lambda: listener.last("energytui/status") == "offline")
    finally:
        listener.close()
    assert (tmp_path / "data" / "store").is_dir()


async def test_killed_serve_leaves_offline_through_the_will(tmp_path, broker):
    port = free_port()
    listener = Listener(broker, topics=("energytui/status",))
    proc = start_serve(write_config(tmp_path, port, mqtt_port=broker))
    try:
        wait_listening(port, proc)
        await listener.wait(lambda: listener.last("energytui/status") == "online", 20)
        proc.kill()
        proc.wait(10)
        # the broker notices the dead TCP connection at once and publishes the Will
        await listener.wait(lambda: listener.last("energytui/status") == "offline", 20)
    finally:
        stop(proc)
        listener.close()


def test_options_before_the_command_name_apply_to_serve(tmp_path):
    """``energytui --data-dir X serve`` keeps its store in X (argparse let the
    subcommand's own defaults erase options given before its name)."""
    port = free_port()
    other = tmp_path / "other"
    proc = subprocess.Popen(
        [sys.executable, "-m", "energytui.cli", "--data-dir", str(other), "serve"]
        + ["--config", str(write_config(tmp_path, port))],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_listening(port, proc)
        # /health answers once the hub (and so the store) is up
        health = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=10).json()
        assert health["store"]["enabled"] and not health["store"]["readonly"]
        assert (other / "store" / ".writer.lock").is_file()
        assert not (tmp_path / "data").exists()
    finally:
        code, err = stop(proc)
    assert code == 0, err


def test_port_in_use_is_one_sentence(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        proc = start_serve(write_config(tmp_path, port))
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("energytui: port ") and "already in use" in last
    assert not (tmp_path / "data" / "store").exists()  # nothing opened before the bind


async def test_api_in_a_running_loop_and_the_viewer_follows_staleness():
    src = SimulatedSource(interval_s=0.05)
    first = Hub([src])
    await first.start()
    cfg = Config.model_validate({"api": {"port": 0}})
    handle = await start_api_in_loop(first, cfg)
    try:
        with pytest.raises(ApiStartError, match="already in use"):
            await start_api_in_loop(first, Config.model_validate({"api": {"port": handle.port}}))
        remote = RemoteHubSource(handle.url, interval_s=0.05, timeout_s=2.0)
        await wait_for(lambda: first.power_is_live)
        got = await remote.poll()
        assert got.ts <= first.latest_power.ts
        assert got.source == "simulated" and got.counters is not None
        src.fail_with = "The simulated gateway is unplugged."
        first.poll_now()
        await wait_for(lambda: not first.power_is_live)
        with pytest.raises(SourceError, match="no live Powerwall data: The simulated gateway"):
            await remote.poll()
        await remote.close()
    finally:
        await handle.stop()
        await first.stop()
    unreachable = RemoteHubSource(handle.url, interval_s=1, timeout_s=1)
    with pytest.raises(SourceError) as exc:
        await unreachable.poll()
    await unreachable.close()
    assert exc.value.cause == "unreachable"
    assert str(exc.value).startswith(f"the energytui instance at {handle.url} cannot be reached")
