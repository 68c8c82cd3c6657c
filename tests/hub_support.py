"""Fixtures for the API, serve and MQTT tests: real hubs, real servers, all on loopback
(registered in tests/conftest.py)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime

import httpx
import pytest

from energytui.api import create_api
from energytui.config import Config
from energytui.hub import Hub
from energytui.model import EnergyCounters, GridStatus, PowerSample
from energytui.sources.base import SourceError
from energytui.sources.simulated import SimulatedSource
from tests.support import free_port

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


async def wait_for(pred: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"condition not met in time: {what or pred}")


def sample(**kw) -> PowerSample:
    base = PowerSample(
        ts=datetime.now(UTC),
        solar_w=3000.0,
        battery_w=0.0,
        grid_w=0.0,
        load_w=3000.0,
        soe_pct=64.0,
        reserve_pct=20.0,
        grid_status=GridStatus.UP,
        counters=EnergyCounters(
            solar_produced_wh=1_000_000.0,
            grid_imported_wh=2_000_000.0,
            grid_exported_wh=500_000.0,
            battery_charged_wh=300_000.0,
            battery_discharged_wh=250_000.0,
            home_consumed_wh=2_750_000.0,
        ),
        source="scripted",
    )
    return replace(base, **kw)


class ScriptedSource:
    """A power source that returns the sample the test sets (stamped now), or fails.

    Used where a test needs exact flows (sign words, a counter going down); the
    hub, the API and the broker around it are all real.
    """

    kind = "power"

    def __init__(self, first: PowerSample, *, interval_s: float = 0.05) -> None:
        self.name = "scripted"
        self.interval_s = interval_s
        self.timeout_s = 1.0
        self.next = first
        self.fail_with: str | None = None

    async def poll(self) -> PowerSample:
        if self.fail_with:
            raise SourceError(self.fail_with)
        return replace(self.next, ts=datetime.now(UTC))

    async def close(self) -> None:
        return None


@pytest.fixture
async def sim_hub() -> AsyncIterator[Hub]:
    hub = Hub([SimulatedSource(interval_s=0.05)])
    await hub.start()
    await wait_for(lambda: hub.power_is_live)
    yield hub
    await hub.stop()


def api_client(hub: Hub, config: Config | None = None) -> httpx.AsyncClient:
    app = create_api(hub, config or Config())
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://energytui")


@pytest.fixture
def broker(tmp_path):
    """A real mosquitto on a free loopback port, stopped after the test."""
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n", encoding="utf-8"
    )
    proc = subprocess.Popen(
        [MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("mosquitto did not start")
            time.sleep(0.05)
    yield port
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
