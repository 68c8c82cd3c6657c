"""Connection modes and settings mistakes: one sentence each, and no traffic off loopback."""

from __future__ import annotations

import sys

import pytest

from energytui.config import PowerwallConfig
from energytui.sources.base import SourceError
from energytui.sources.powerwall import PowerwallSource
from energytui.sources.powerwall_details import parse_counters, parse_power
from energytui.sources.powerwall_gate import LoginBackoff, human_duration
from tests.gateway_support import one_sentence

_CONNECTS: list[object] = []


def _audit(event: str, args: tuple) -> None:
    if event == "socket.connect":
        _CONNECTS.append(args[1])


sys.addaudithook(_audit)


@pytest.mark.parametrize(
    ("host", "words"),
    [
        ("https://10.0.0.1", "is not valid"),
        ("127.0.0.1:99999", "from 1 to 65535"),
        ("bad host name", "is not valid"),
        ("::1", "IPv6"),
    ],
)
async def test_bad_host_is_one_sentence_without_any_connection(tmp_path, host, words):
    _CONNECTS.clear()
    with pytest.raises(ValueError, match="powerwall|address|IPv6"):
        PowerwallConfig(host=host, password="pw")  # loading the config refuses it first
    # the source's own check stays, for a config built without validation
    cfg = PowerwallConfig.model_construct(**{**PowerwallConfig().model_dump(), "host": host})
    cfg = cfg.model_copy(update={"password": "pw"})
    src = PowerwallSource(cfg, state_dir=tmp_path)
    with pytest.raises(SourceError) as info:
        await src.poll()
    await src.close()
    assert words in str(info.value) and one_sentence(str(info.value))
    assert info.value.cause == "config" and info.value.retry_after >= 600
    assert _CONNECTS == []


@pytest.mark.parametrize(
    ("mode", "needed"), [("cloud", ".pypowerwall.auth"), ("fleetapi", ".pypowerwall.fleetapi")]
)
async def test_cloud_modes_without_sign_in_say_what_to_run(tmp_path, mode, needed):
    _CONNECTS.clear()
    cfg = PowerwallConfig(mode=mode, email="owner@example.com", auth_path=tmp_path / "auth")
    src = PowerwallSource(cfg, state_dir=tmp_path / "state")
    assert src.interval_s >= 60.0  # cloud data is slow and FleetAPI calls are metered
    with pytest.raises(SourceError) as info:
        await src.poll()
    assert needed in str(info.value) and "python -m pypowerwall" in str(info.value)
    assert one_sentence(str(info.value))
    details = await src.details()  # never raises; says why it is empty
    assert details.fetched_at is None and details.notes
    await src.close()
    assert _CONNECTS == []


async def test_tedapi_needs_the_gateway_password(tmp_path):
    src = PowerwallSource(PowerwallConfig(mode="tedapi"), state_dir=tmp_path)
    assert not src.can_control
    with pytest.raises(SourceError, match="gw_pwd"):
        await src.poll()
    with pytest.raises(SourceError, match="TEDAPI is read-only"):
        await src.set_mode("backup")
    await src.close()


def test_login_backoff_schedule_stays_within_twelve_an_hour():
    b = LoginBackoff()
    delays = [b.delay_for(n) for n in range(1, 9)]
    assert delays == [60, 120, 240, 480, 960, 1800, 1800, 1800]
    t, attempts = 0.0, []
    for n in range(1, 20):
        attempts.append(t)
        t += b.delay_for(n)
    for start in range(0, 3 * 3600, 300):
        assert sum(start <= a < start + 3600 for a in attempts) <= 12


@pytest.mark.parametrize(
    ("s", "text"), [(30, "30 s"), (60, "60 s"), (240, "4 min"), (5400, "1 h 30 min")]
)
def test_human_duration(s, text):
    assert human_duration(s) == text


def test_counters_map_each_meter_direction():
    agg = {
        "site": {"instant_power": 10, "energy_imported": 1, "energy_exported": 2},
        "battery": {"instant_power": -5, "energy_imported": 3, "energy_exported": 4},
        "solar": {"instant_power": 7, "energy_imported": 0, "energy_exported": 5},
        "load": {"instant_power": 12, "energy_imported": 6, "energy_exported": 0},
    }
    c = parse_counters(agg)
    assert (c.grid_imported_wh, c.grid_exported_wh) == (1, 2)
    assert (c.battery_charged_wh, c.battery_discharged_wh) == (3, 4)
    assert (c.solar_produced_wh, c.home_consumed_wh) == (5, 6)
    assert parse_power(agg) == {"site": 10, "battery": -5, "load": 12, "solar": 7}


def test_missing_meter_is_no_reading_not_zero():
    assert (
        parse_power({"site": {"instant_power": 1}, "battery": {}, "load": {}, "solar": {}}) is None
    )
    assert parse_power("TIMEOUT!") is None
    zeros = {
        k: {"instant_power": 0, "energy_imported": 0, "energy_exported": 0}
        for k in ("site", "battery", "load", "solar")
    }
    assert parse_counters(zeros) is None  # cloud modes send zeros: not counters


async def test_tedapi_without_a_tedapi_endpoint_is_one_sentence(tmp_path, monkeypatch, emulator):
    """TEDAPI against our emulator (which has no /tedapi): a clear failure, loopback only."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)  # else TEDAPI verifies our self-signed cert
    _CONNECTS.clear()
    cfg = PowerwallConfig(host=emulator.host_port, mode="tedapi", gw_pwd="ABCDEFGHIJ", timeout_s=2)
    src = PowerwallSource(cfg, state_dir=tmp_path)
    with pytest.raises(SourceError) as info:
        await src.poll()
    assert "over TEDAPI" in str(info.value) and one_sentence(str(info.value))
    assert "ABCDEFGHIJ" not in str(info.value)
    assert emulator.counts.by_path.get("GET /tedapi/din", 0) >= 1
    before = emulator.counts.total
    with pytest.raises(SourceError):
        await src.poll()  # connects again on the next poll rather than giving up for good
    assert emulator.counts.total > before
    await src.close()
    assert _CONNECTS and all(addr[0] in ("127.0.0.1", "::1") for addr in _CONNECTS)
