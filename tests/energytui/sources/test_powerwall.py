"""PowerwallSource through the real pypowerwall against the HTTPS emulator on loopback."""

from __future__ import annotations

import contextlib

import pytest

from devkit.emulator import Emulator, raw_from_app
from energytui.model import GridStatus
from energytui.sources.base import SourceError
from tests.gateway_support import PASSWORD, one_sentence, warm

FAST_PATHS = {
    "GET /api/meters/aggregates",
    "GET /api/system_status/soe",
    "GET /api/system_status/grid_status",
}


async def test_poll_reads_the_site_with_tesla_signs_and_counters(make_source, emulator: Emulator):
    src = make_source()
    sample = await src.poll()
    truth = emulator.gateway.sample()  # what the gateway served for this poll
    assert sample.source == "powerwall"
    assert (sample.solar_w, sample.battery_w, sample.grid_w, sample.load_w) == (
        truth.solar_w,
        truth.battery_w,
        truth.grid_w,
        truth.load_w,
    )
    assert sample.soe_pct == pytest.approx(truth.soe_pct, abs=0.01)
    assert sample.grid_status is GridStatus.UP
    assert sample.counters is not None
    c, t = sample.counters, truth.counters
    assert c.grid_imported_wh == pytest.approx(t.grid_imported_wh, abs=0.01)
    assert c.grid_exported_wh == pytest.approx(t.grid_exported_wh, abs=0.01)
    assert c.battery_discharged_wh == pytest.approx(t.battery_discharged_wh, abs=0.01)
    assert c.battery_charged_wh == pytest.approx(t.battery_charged_wh, abs=0.01)
    assert c.solar_produced_wh == pytest.approx(t.solar_produced_wh, abs=0.01)
    assert c.home_consumed_wh == pytest.approx(t.home_consumed_wh, abs=0.01)
    # the first poll logged in once; nothing else touched the password
    assert emulator.counts.login_attempts == 1


async def test_steady_state_costs_three_requests_per_cycle(make_source, emulator: Emulator):
    src = make_source()
    await src.poll()
    await src.details()  # let the first slow refresh finish before counting
    emulator.reset_counts()
    for _ in range(5):
        await src.poll()
    counts = emulator.counts
    assert counts.total == 15
    assert set(counts.by_path) == FAST_PATHS


@pytest.mark.parametrize(
    ("fault", "params", "words", "cause"),
    [
        ("hang", {"seconds": 5}, "did not answer within 0.6 s", "timeout"),
        ("error", {"status": 500}, "answered HTTP 500", "http"),
        ("error", {"status": 503}, "answered HTTP 503", "http"),
        ("garbage", {}, "not valid JSON", "bad_data"),
        ("not_json", {}, "not JSON", "bad_data"),
        ("refuse", {}, "refused the connection", "refused"),
        ("error", {"status": 404, "paths": ["/api/meters"]}, "HTTP 404", "http"),
    ],
)
async def test_fault_gives_one_sentence_then_recovers(
    make_source, emulator: Emulator, fault, params, words, cause
):
    src = make_source()
    await warm(src)
    emulator.set_fault(fault, **params)
    with pytest.raises(SourceError) as info:
        await src.poll()  # a failure is raised, never a sample of zeros
    err = info.value
    assert words in str(err)
    assert emulator.host_port in str(err)
    assert one_sentence(str(err))
    assert err.cause == cause
    emulator.clear_faults()
    sample = await src.poll()
    assert sample.load_w > 0 and sample.soe_pct is not None


async def test_slow_gateway_within_timeout_still_answers(make_source, emulator: Emulator):
    src = make_source(timeout_s=2.0)
    await warm(src)
    emulator.set_fault("slow", delay_s=0.2, paths=["/api/system_status/soe"])
    sample = await src.poll()
    assert sample.soe_pct is not None
    assert emulator.counts.by_path["GET /api/system_status/soe"] == 2


async def test_grid_outage_is_reported_as_islanded(make_source, emulator: Emulator):
    src = make_source()
    emulator.set_fault("outage")
    sample = await src.poll()
    assert sample.grid_status is GridStatus.DOWN
    assert sample.grid_w == 0.0
    emulator.clear_faults("outage")
    assert (await src.poll()).grid_status is GridStatus.UP


async def test_expired_session_logs_in_again_without_an_error(make_source, emulator: Emulator):
    src = make_source()
    await warm(src)
    emulator.set_fault("session_expired")
    before = emulator.counts.by_path["GET /api/meters/aggregates"]
    sample = await src.poll()
    assert sample.load_w > 0
    assert emulator.counts.login_attempts == 2
    assert emulator.counts.login_failures == 0
    # the 401 and a real retry: not pypowerwall's cached answer from the previous poll
    assert emulator.counts.by_path["GET /api/meters/aggregates"] == before + 2


async def test_wrong_password_backs_off_and_does_not_hammer_the_gateway(
    make_source, emulator: Emulator, clock
):
    src = make_source(password="wrong")
    with pytest.raises(SourceError) as info:
        await src.poll()
    assert str(info.value) == "Powerwall rejected the password; next login attempt in 60 s."
    assert info.value.retry_after == pytest.approx(60.0)
    assert info.value.cause == "auth"
    assert emulator.counts.login_attempts == 1
    # a caller that ignores retry_after and polls again at once gets the gate, not a login
    for _ in range(5):
        with pytest.raises(SourceError) as again:
            await src.poll()
        assert "next login attempt in" in str(again.value)
    assert emulator.counts.login_attempts == 1
    # after the delay, one more attempt, and the delay doubles
    clock.advance(61)
    with pytest.raises(SourceError) as second:
        await src.poll()
    assert "next login attempt in 2 min" in str(second.value)
    assert emulator.counts.login_attempts == 2


async def test_password_fixed_on_the_gateway_recovers_after_the_gate(
    make_source, emulator: Emulator, clock
):
    src = make_source()
    await warm(src)
    emulator.set_fault("wrong_password")  # the owner changed the password on the gateway
    with pytest.raises(SourceError) as info:
        await src.poll()
    assert info.value.cause == "auth"
    emulator.clear_faults("wrong_password")
    with pytest.raises(SourceError):
        await src.poll()  # still gated: we do not know yet that it is fixed
    clock.advance(60)
    sample = await src.poll()
    assert sample.load_w > 0
    assert src.login_backoff.failures == 0


async def test_login_attempts_in_a_simulated_hour_stay_within_budget(
    make_source, emulator: Emulator, clock
):
    """A naive caller polling every 5 s for an hour with a wrong password: at most 12 logins."""
    src = make_source(password="wrong")
    for _ in range(720):
        with contextlib.suppress(SourceError):
            await src.poll()
        clock.advance(5)
    assert emulator.counts.login_attempts <= 12
    assert emulator.counts.login_attempts == 6  # 0, 1, 3, 7, 15, 31 min


async def test_rate_limit_pauses_every_call_then_resumes(make_source, emulator: Emulator, clock):
    src = make_source(rate_limit_pause_s=300.0)
    await warm(src)
    emulator.set_fault("rate_limit")
    with pytest.raises(SourceError) as info:
        await src.poll()
    assert str(info.value) == "Powerwall asked us to slow down (HTTP 429); resuming in 5 min."
    assert info.value.retry_after == pytest.approx(300.0)
    seen = emulator.counts.total
    with pytest.raises(SourceError) as again:
        await src.poll()
    assert "resuming in 5 min" in str(again.value)
    assert emulator.counts.total == seen  # no request during the pause
    emulator.clear_faults()
    clock.advance(301)
    assert (await src.poll()).load_w > 0


async def test_rate_limited_login_pauses_too(make_source, emulator: Emulator):
    src = make_source()
    emulator.set_fault("rate_limit", paths=["/api/login"])
    with pytest.raises(SourceError) as info:
        await src.poll()
    assert info.value.cause == "rate_limit"
    assert info.value.retry_after == pytest.approx(300.0)


async def test_details_from_the_slow_schedule(make_source, emulator: Emulator):
    src = make_source()
    await src.poll()
    d = await src.details()
    assert d.fetched_at is not None
    assert d.firmware == emulator.gateway.firmware
    assert d.site_name == "Emulated Home"
    assert d.operation_mode == "self_consumption"
    assert d.reserve_pct == pytest.approx(emulator.gateway.site.spec.reserve_pct, abs=0.1)
    assert [b.serial for b in d.battery_blocks] == ["TG0000000000PW1", "TG0000000000PW2"]
    assert [s.name for s in d.strings] == ["A", "B", "C", "D"]
    assert "SystemConnectedToGrid" in d.alerts
    assert d.vitals is None  # firmware 24.44 answers 404 for vitals
    assert any("not available on this firmware" in n for n in d.notes)
    # the reserve reaches the samples once the slow cache has it
    assert (await src.poll()).reserve_pct == d.reserve_pct


async def test_set_reserve_and_mode_reach_the_gateway(make_source, emulator: Emulator):
    src = make_source()
    await src.poll()
    assert await src.set_reserve(35) == "Backup reserve set to 35 %."
    assert emulator.gateway.site.spec.reserve_pct == pytest.approx(35.0, abs=0.01)
    assert emulator.gateway.reserve_raw == pytest.approx(raw_from_app(35.0))
    assert await src.set_mode("backup") == "Operation mode set to Backup-only (backup)."
    assert emulator.gateway.real_mode == "backup"
    d = await src.details()
    assert d.operation_mode == "backup"
    assert d.reserve_pct == pytest.approx(35.0, abs=0.1)


async def test_settings_refused_by_a_read_only_gateway(make_source, emulator: Emulator):
    emulator.gateway.allow_control = False
    src = make_source()
    await src.poll()
    with pytest.raises(SourceError) as info:
        await src.set_reserve(50)
    assert "HTTP 403" in str(info.value) and one_sentence(str(info.value))
    assert emulator.gateway.site.spec.reserve_pct == 20.0


@pytest.mark.parametrize("bad", [-1, 101, "lots"])
async def test_reserve_input_is_checked_before_any_request(make_source, emulator: Emulator, bad):
    src = make_source()
    with pytest.raises(SourceError) as info:
        await src.set_reserve(bad)
    assert one_sentence(str(info.value))
    assert emulator.counts.total == 0


async def test_unknown_mode_is_refused(make_source):
    src = make_source()
    with pytest.raises(SourceError, match="Unknown operation mode"):
        await src.set_mode("turbo")


async def test_session_cache_is_private_and_reused(make_source, emulator: Emulator, tmp_path):
    src = make_source()
    await src.poll()
    await src.close()
    cache = tmp_path / "state" / "powerwall-session.json"
    assert cache.stat().st_mode & 0o077 == 0
    assert PASSWORD not in cache.read_text()
    again = make_source()
    await again.poll()
    assert emulator.counts.login_attempts == 1  # the second source reused the session


async def test_corrupt_session_cache_does_not_log_in_at_construction(
    make_source, emulator: Emulator, tmp_path
):
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "powerwall-session.json").write_text("{not json")
    src = make_source(password="wrong")
    with pytest.raises(SourceError):
        await src.poll()
    assert emulator.counts.login_attempts == 1  # the gated attempt only


async def test_all_calls_run_on_one_worker_thread(make_source):
    import threading

    src = make_source()
    names: set[str] = set()
    real = src._fast_cycle

    def spy():
        names.add(threading.current_thread().name)
        return real()

    src._fast_cycle = spy
    for _ in range(3):
        await src.poll()
    await src.details()
    assert len(names) == 1 and next(iter(names)).startswith("pypowerwall-")
    assert threading.current_thread().name not in names


async def test_refused_after_a_good_login_is_gated_like_a_wrong_password(
    make_source, emulator: Emulator, clock
):
    """A gateway that accepts the login but answers 403 would make pypowerwall log in on every call."""
    src = make_source()
    await warm(src)
    emulator.set_fault("error", status=403, paths=["/api/meters/aggregates"])
    logins = emulator.counts.login_attempts
    with pytest.raises(SourceError) as info:
        await src.poll()
    assert str(info.value) == (
        f"Powerwall at {emulator.host_port} accepted the login but refused "
        "/api/meters/aggregates (HTTP 403); next login attempt in 60 s."
    )
    assert info.value.retry_after == pytest.approx(60.0)
    for _ in range(3):
        with pytest.raises(SourceError, match="accepted the login but refused"):
            await src.poll()
    assert emulator.counts.login_attempts == logins + 1
    emulator.clear_faults()
    clock.advance(60)
    assert (await src.poll()).load_w > 0


async def test_older_firmware_gives_vitals_temperatures_and_string_states(tmp_path, clock):
    from energytui.config import PowerwallConfig
    from energytui.sources.powerwall import PowerwallSource

    with Emulator(password=PASSWORD, firmware="23.28.2 0a6b2c0f") as emu:
        cfg = PowerwallConfig(host=emu.host_port, password=PASSWORD, timeout_s=1.0)
        src = PowerwallSource(cfg, state_dir=tmp_path, clock=clock)
        try:
            await src.poll()
            d = await src.details()
            assert d.vitals is not None and any(k.startswith("TEPOD--") for k in d.vitals)
            assert [b.temperature_c for b in d.battery_blocks] == [21.5, 23.0]
            assert len(d.temperatures) == 2
            assert {s.name: s.state for s in d.strings}["A"] in ("PV_Active", "PV_Disabled")
            assert not any("vitals" in n for n in d.notes)
            # one vitals request per refresh, shared by vitals, temps, strings and alerts
            assert emu.counts.by_path["GET /api/devices/vitals"] == 1
        finally:
            await src.close()


async def test_lifetime_counters_advance_with_the_site_clock(tmp_path, clock):
    """Daily energy comes from the counters: an hour of emulated noon shows up as Wh moved."""
    from energytui.clock import ManualClock
    from energytui.config import PowerwallConfig
    from energytui.sources.powerwall import PowerwallSource

    site_clock = ManualClock(clock.now())  # 12:00 UTC, the simulated sun is up
    with Emulator(password=PASSWORD, clock=site_clock) as emu:
        cfg = PowerwallConfig(host=emu.host_port, password=PASSWORD, timeout_s=1.0)
        src = PowerwallSource(cfg, state_dir=tmp_path, clock=clock)
        try:
            first = await src.poll()
            site_clock.advance(3600)
            second = await src.poll()
        finally:
            await src.close()
    moved = second.counters.minus(first.counters)
    assert 1000 < moved.solar_produced_wh < 8000  # one sunny hour of a 7.6 kW array
    assert moved.home_consumed_wh > 0
    assert (
        moved.solar_produced_wh + moved.grid_imported_wh + moved.battery_discharged_wh
        == pytest.approx(
            moved.home_consumed_wh + moved.grid_exported_wh + moved.battery_charged_wh, rel=1e-3
        )
    )
