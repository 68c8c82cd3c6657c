"""The hub and the app with a real PowerwallSource against the emulator.

What a kiosk owner cares about: the app keeps running when the gateway
misbehaves, the power data is marked stale, the cause is one sentence on
screen, and it recovers on the first polls after the fault clears.
"""

from __future__ import annotations

import pytest

from devkit.emulator import Emulator
from energytui.config import Config, PowerwallConfig
from energytui.hub import Hub
from energytui.tui.app import EnergyApp
from tests.gateway_support import one_sentence, until

FAULTS = [
    ("error", {"status": 500}, "answered HTTP 500"),
    ("hang", {"seconds": 5}, "did not answer within"),
    ("refuse", {}, "refused the connection"),
    ("garbage", {}, "not valid JSON"),
]


def fast(src):
    src.interval_s = 0.5  # below the config minimum, for a quick test
    return src


@pytest.mark.parametrize(("fault", "params", "words"), FAULTS)
async def test_hub_marks_power_stale_and_recovers(
    make_source, emulator: Emulator, fault, params, words
):
    src = fast(make_source())
    hub = Hub([src])
    await hub.start()
    try:
        health = hub.health["powerwall"]
        await until(lambda: health.state == "ok")
        assert hub.power_is_live
        emulator.set_fault(fault, **params)
        await until(lambda: health.consecutive_errors >= 1)
        assert not hub.power_is_live
        assert hub.latest_power.load_w > 0  # the last real sample stays; no zeros were accepted
        assert health.state == "error"
        assert words in health.last_error and one_sentence(health.last_error)
        before = hub.latest_power
        polls_at_clear = health.polls
        emulator.clear_faults()
        await until(lambda: health.state == "ok")
        assert health.polls - polls_at_clear <= 2  # back on the first or second poll
        assert hub.power_is_live
        assert hub.latest_power is not before
    finally:
        await hub.stop()


async def test_hub_with_wrong_password_enters_backoff_with_one_login(make_source, emulator):
    src = fast(make_source(password="wrong"))
    hub = Hub([src])
    await hub.start()
    try:
        health = hub.health["powerwall"]
        await until(lambda: health.consecutive_errors >= 1)
        assert health.state == "backoff"
        assert health.last_error == "Powerwall rejected the password; next login attempt in 60 s."
        assert not hub.power_is_live and hub.latest_power is None
        assert emulator.counts.login_attempts == 1
    finally:
        await hub.stop()


def _app(emulator: Emulator, tmp_path) -> tuple[EnergyApp, Hub]:
    cfg = Config.model_validate(
        {
            "general": {"data_dir": str(tmp_path / "data")},
            "powerwall": PowerwallConfig(
                host=emulator.host_port, password="s3cret-pw", interval_s=1.0, timeout_s=0.6
            ).model_dump(),
        }
    )
    from energytui.sources.powerwall import PowerwallSource

    src = fast(PowerwallSource.from_config(cfg))
    return EnergyApp(cfg, Hub([src])), src


async def test_app_shows_stale_and_the_cause_then_recovers(emulator: Emulator, tmp_path):
    app, src = _app(emulator, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        hub = app.hub
        health = hub.health["powerwall"]
        await until(lambda: health.state == "ok")
        app.refresh_view()
        await pilot.pause()
        assert "STALE" not in str(app.screen.query_one("#flow").render())

        emulator.set_fault("error", status=503)
        await until(lambda: health.consecutive_errors >= 1)
        app.refresh_view()
        await pilot.pause()
        flow = str(app.screen.query_one("#flow").render())
        panel = str(app.screen.query_one("#health").render())
        sentence = f"Powerwall at {emulator.host_port} answered HTTP 503 (Service Unavailable)."
        assert "STALE" in flow
        assert "powerwall" in panel and "ERROR" in panel and sentence in panel
        assert app.is_running

        polls_at_clear = health.polls
        emulator.clear_faults()
        await until(lambda: health.state == "ok")
        assert health.polls - polls_at_clear <= 2
        app.refresh_view()
        await pilot.pause()
        assert "STALE" not in str(app.screen.query_one("#flow").render())
        assert app.is_running
