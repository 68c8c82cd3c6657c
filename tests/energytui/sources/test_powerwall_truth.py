"""Issue 16, the Powerwall's facts: what the gateway reports wins over guesses, waits
count down, a missing password costs no login, an outage's end is seen within two
polls, and no exception class name reaches a user. Real pypowerwall against the
emulator on loopback; the CLI as a real subprocess."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from devkit.emulator import Emulator
from energytui.config import PowerwallConfig
from energytui.hub import Hub
from energytui.sources.base import SourceError
from energytui.sources.meter import MeterSource
from energytui.sources.powerwall import PowerwallSource
from energytui.sources.remote import RemoteHubSource
from energytui.sources.simulated import SimulatedSite, SiteSpec
from tests.gateway_support import PASSWORD, one_sentence, until

ROOT = Path(__file__).resolve().parents[3]


def fast(src):
    src.interval_s = 0.5  # below the config minimum, for a quick test
    return src


async def test_capacity_is_the_gateways_not_a_default(tmp_path, clock):
    """Two Powerwalls of 13.5 kWh: the gateway says 27 kWh, and that is what is used."""
    site = SimulatedSite(SiteSpec(battery_kwh=27.0))
    with Emulator(password=PASSWORD, site=site) as emu:
        src = PowerwallSource(
            PowerwallConfig(host=emu.host_port, password=PASSWORD, timeout_s=2.0),
            state_dir=tmp_path,
            clock=clock,
        )
        try:
            assert src.capacity_kwh is None  # not made up before the gateway said it
            await src.poll()
            d = await src.details()
            assert d.capacity_kwh == pytest.approx(27.0)
            assert src.capacity_kwh == pytest.approx(27.0)
            assert d.mode_unknown is None and d.reserve_unknown is None
        finally:
            await src.close()


async def test_battery_blocks_come_from_vitals_when_system_status_lists_none(tmp_path, clock):
    with Emulator(password=PASSWORD, firmware="23.28.2 0a6b2c0f") as emu:
        emu.gateway.list_blocks = False
        src = PowerwallSource(
            PowerwallConfig(host=emu.host_port, password=PASSWORD, timeout_s=2.0),
            state_dir=tmp_path,
            clock=clock,
        )
        try:
            await src.poll()
            d = await src.details()
        finally:
            await src.close()
    assert d.vitals is not None
    assert [b.serial for b in d.battery_blocks] == ["TG0000000000PW1", "TG0000000000PW2"]
    assert all(b.full_pack_wh and b.energy_remaining_wh is not None for b in d.battery_blocks)
    assert all(b.temperature_c is not None and b.power_w is not None for b in d.battery_blocks)
    assert d.capacity_kwh == pytest.approx(13.5)  # the system's figure, not the blocks' sum


async def test_missing_password_is_a_config_error_and_no_login(make_source, emulator):
    src = make_source(password="")
    with pytest.raises(SourceError) as info:
        await src.poll()
    assert info.value.cause == "config"
    assert "No password is set" in str(info.value) and one_sentence(str(info.value))
    assert "rejected" not in str(info.value)
    assert emulator.counts.login_attempts == 0


async def test_login_wait_counts_down_in_views_and_health(make_source, emulator):
    src = fast(make_source(password="wrong"))
    hub = Hub([src])
    await hub.start()
    try:
        health = hub.health["powerwall"]
        await until(lambda: health.consecutive_errors >= 1)

        def shown() -> str:
            status = next(s for s in hub.publish_view().sources if s.name == "powerwall")
            return status.last_error or ""

        first = shown()
        assert first == "Powerwall rejected the password; next login attempt in 60 s."
        await until(lambda: "in 60 s" not in shown(), limit_s=10)
        later = shown()
        m = re.search(r"next login attempt in (\d+) s\.$", later)
        assert m is not None and int(m.group(1)) < 60, later
        api = health.to_dict()["last_error"]  # what /api/v1/health says
        m = re.search(r"next login attempt in (\d+) s\.$", api)
        assert m is not None and int(m.group(1)) < 60, api
        assert emulator.counts.login_attempts == 1
    finally:
        await hub.stop()


async def test_refused_connection_is_retried_every_poll_not_backed_off(make_source, emulator):
    """After a long outage data returns within two polls, not after a 5-minute back-off."""
    src = fast(make_source())
    hub = Hub([src])
    await hub.start()
    try:
        health = hub.health["powerwall"]
        await until(lambda: health.state == "ok")
        emulator.set_fault("refuse")
        await until(lambda: health.consecutive_errors >= 5)
        wait = (health.next_poll_at - health.last_attempt).total_seconds()
        assert wait <= 2 * src.interval_s + 0.1, wait  # the old back-off: 8 s and growing
        polls = health.polls
        emulator.clear_faults()
        await until(lambda: health.state == "ok")
        assert health.polls - polls <= 2
    finally:
        await hub.stop()


async def test_peer_failures_are_words_not_class_names():
    """An address without a scheme and a closed port: sentences, no "(ConnectError)"."""
    for src in (
        RemoteHubSource("127.0.0.1:9"),
        RemoteHubSource("http://127.0.0.1:9"),
        MeterSource("127.0.0.1:9"),
        MeterSource("http://127.0.0.1:9"),
    ):
        try:
            with pytest.raises(SourceError) as info:
                await src.poll()
        finally:
            await src.close()
        text = str(info.value)
        assert not re.search(r"\b[A-Z][a-z]+[A-Z]\w*(Error|Protocol)\b", text), text
        assert "Error)" not in text and "Protocol)" not in text


def test_cli_refuses_a_url_as_powerwall_address(tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "POWERWALL_PASSWORD": "pw",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
    }
    env.pop("ENERGYTUI_CONFIG", None)
    proc = subprocess.run(
        [sys.executable, "-m", "energytui.cli", "--powerwall", "https://10.0.0.1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert "powerwall.host" in lines[0] and "https://10.0.0.1" in lines[0]
    assert proc.stdout == ""
