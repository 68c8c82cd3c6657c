"""The devices screen driven with Pilot, against the emulator through the real pypowerwall."""

from __future__ import annotations

import pytest

from devkit.demo import demo_app
from devkit.emulator import Emulator
from energytui.config import Config
from energytui.hub import Hub
from energytui.sources.powerwall import PowerwallSource
from energytui.tui.app import EnergyApp
from energytui.tui.screens.devices import ConfirmDialog, DevicesScreen, ModeDialog, ReserveDialog
from tests.gateway_support import PASSWORD, until


def _app(emulator: Emulator, tmp_path) -> EnergyApp:
    cfg = Config.model_validate(
        {
            "general": {"data_dir": str(tmp_path / "data")},
            "powerwall": {"host": emulator.host_port, "password": PASSWORD, "timeout_s": 1.0},
        }
    )
    return EnergyApp(cfg, Hub([PowerwallSource.from_config(cfg)]))


def text(app: EnergyApp, wid: str) -> str:
    return str(app.screen.query_one(f"#{wid}").render())


async def _open_devices(app: EnergyApp, pilot) -> DevicesScreen:
    await until(lambda: app.hub.health["powerwall"].state == "ok")
    await pilot.press("v")
    await until(lambda: isinstance(app.screen, DevicesScreen))
    screen = app.screen
    await until(lambda: screen.details is not None and screen.details.fetched_at is not None)
    await pilot.pause()
    return screen


async def test_devices_screen_shows_what_the_gateway_offers(emulator: Emulator, tmp_path):
    app = _app(emulator, tmp_path)
    async with app.run_test(size=(120, 60)) as pilot:
        await _open_devices(app, pilot)
        summary = text(app, "summary")
        assert "Emulated Home" in summary and emulator.gateway.firmware in summary
        assert "Self-Powered (self_consumption)" in summary and "20 %" in summary
        assert PASSWORD not in summary
        assert "SystemConnectedToGrid" in text(app, "alerts")
        assert "PVAC_a018_MciStringC" in text(app, "alerts")
        batteries = app.screen.query_one("#batteries").content
        assert batteries.row_count == 2  # a rich Table, one row per Powerwall
        assert app.screen.query_one("#strings").content.row_count == 4
        assert "not available on this firmware" in text(app, "vitals")
        assert "not available on this firmware" in text(app, "temps")
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, DevicesScreen)


async def test_reserve_change_needs_confirmation_and_reaches_the_gateway(
    emulator: Emulator, tmp_path
):
    app = _app(emulator, tmp_path)
    async with app.run_test(size=(120, 60)) as pilot:
        await _open_devices(app, pilot)
        # first say No: nothing is written
        await pilot.press("s")
        await until(lambda: isinstance(app.screen, ReserveDialog))
        await pilot.press("4", "5", "enter")
        await until(lambda: isinstance(app.screen, ConfirmDialog))
        assert "45 %" in str(app.screen.query_one("#question").render())
        await pilot.press("n")
        await until(lambda: isinstance(app.screen, DevicesScreen))
        assert "POST /api/operation" not in emulator.counts.by_path
        assert emulator.gateway.site.spec.reserve_pct == 20.0
        # an out-of-range value is refused in the dialog itself
        await pilot.press("s")
        await until(lambda: isinstance(app.screen, ReserveDialog))
        await pilot.press("1", "5", "0", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ReserveDialog)
        assert "0 to 100" in str(app.screen.query_one("#reserve-error").render())
        await pilot.press("escape")
        await until(lambda: isinstance(app.screen, DevicesScreen))
        # then Yes
        await pilot.press("s")
        await until(lambda: isinstance(app.screen, ReserveDialog))
        await pilot.press("3", "5", "enter")
        await until(lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await until(lambda: "Backup reserve set to 35 %." in text(app, "result"))
        assert emulator.gateway.site.spec.reserve_pct == pytest.approx(35.0, abs=0.01)
        await until(lambda: "35 %" in text(app, "summary"))


async def test_mode_change_through_the_dialogs(emulator: Emulator, tmp_path):
    app = _app(emulator, tmp_path)
    async with app.run_test(size=(120, 60)) as pilot:
        await _open_devices(app, pilot)
        await pilot.press("p")
        await until(lambda: isinstance(app.screen, ModeDialog))
        await pilot.press("down", "down", "enter")  # self_consumption -> autonomous -> backup
        await until(lambda: isinstance(app.screen, ConfirmDialog))
        assert "Backup-only (backup)" in str(app.screen.query_one("#question").render())
        await pilot.click("#yes")
        await until(lambda: "Operation mode set to Backup-only" in text(app, "result"))
        assert emulator.gateway.real_mode == "backup"


async def test_refused_change_is_one_sentence_on_screen(emulator: Emulator, tmp_path):
    emulator.gateway.allow_control = False
    app = _app(emulator, tmp_path)
    async with app.run_test(size=(120, 60)) as pilot:
        await _open_devices(app, pilot)
        await pilot.press("s", "3", "0", "enter")
        await until(lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await until(lambda: "HTTP 403" in text(app, "result"))
        assert app.is_running
        assert emulator.gateway.site.spec.reserve_pct == 20.0


async def test_simulated_site_says_changes_need_a_powerwall():
    app = demo_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("v")
        await until(lambda: isinstance(app.screen, DevicesScreen))
        await pilot.pause()
        summary = text(app, "summary")
        assert "simulated site" in summary and "Reserve" in summary
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, DevicesScreen)  # no dialog opened
        assert "needs a Powerwall" in text(app, "result")


def test_devices_screen_simulated_snapshot(snap_compare):
    async def run_before(pilot):
        await pilot.press("v")
        await pilot.pause()

    assert snap_compare(demo_app(), terminal_size=(100, 30), run_before=run_before)


async def test_devices_screen_with_vitals_on_older_firmware(tmp_path):
    with Emulator(password=PASSWORD, firmware="23.28.2 0a6b2c0f") as emu:
        app = _app(emu, tmp_path)
        async with app.run_test(size=(120, 60)) as pilot:
            await _open_devices(app, pilot)
            temps = text(app, "temps")
            assert "TETHC--" in temps and "21.5 °C" in temps
            vitals = text(app, "vitals")
            assert "TEPINV--" in vitals and "signals" in vitals
            table = app.screen.query_one("#batteries").content
            assert list(table.columns[4].cells) == ["21.5 °C", "23.0 °C"]


# -- issue 16: every fact on this screen is true -------------------------------------------
async def test_alerts_are_described_in_words_with_the_code_kept(emulator: Emulator, tmp_path):
    app = _app(emulator, tmp_path)
    async with app.run_test(size=(120, 60)) as pilot:
        await _open_devices(app, pilot)
        alerts = text(app, "alerts")
        lines = alerts.splitlines()
        described = next(i for i, line in enumerate(lines) if "string C" in line)
        assert "Solar inverter" in lines[described] and "rapid shutdown" in lines[described]
        assert lines[described + 1].strip() == "code PVAC_a018_MciStringC"
        assert not any(line.strip("! ") == "PVAC_a018_MciStringC" for line in lines)  # never bare
        assert "Connected to the grid." in alerts
        summary = text(app, "summary")
        assert "Capacity    13.5 kWh (reported by the gateway)" in summary


async def test_battery_blocks_from_vitals_and_capacity_of_two_batteries(tmp_path):
    from energytui.sources.simulated import SimulatedSite, SiteSpec

    site = SimulatedSite(SiteSpec(battery_kwh=27.0))
    with Emulator(password=PASSWORD, firmware="23.28.2 0a6b2c0f", site=site) as emu:
        emu.gateway.list_blocks = False  # like the outside simulator: vitals only
        app = _app(emu, tmp_path)
        async with app.run_test(size=(120, 60)) as pilot:
            await _open_devices(app, pilot)
            assert "No battery blocks reported" not in text(app, "batteries")
            table = app.screen.query_one("#batteries").content
            assert list(table.columns[0].cells) == ["TG0000000000PW1", "TG0000000000PW2"]
            assert "27 kWh (reported by the gateway)" in text(app, "summary")
            assert app.battery_kwh == pytest.approx(27.0)  # what the dashboard's times use


async def test_unknown_mode_and_reserve_say_why(emulator: Emulator, tmp_path):
    emulator.set_fault("error", status=404, paths=("/api/operation",))
    app = _app(emulator, tmp_path)
    async with app.run_test(size=(120, 60)) as pilot:
        await until(lambda: app.hub.health["powerwall"].state == "ok")
        await pilot.press("v")
        await until(lambda: isinstance(app.screen, DevicesScreen))
        screen = app.screen
        await until(lambda: screen.details is not None and bool(screen.details.notes))
        await pilot.pause()
        summary = text(app, "summary")
        mode = next(line for line in summary.splitlines() if line.startswith("Mode"))
        reserve = next(line for line in summary.splitlines() if line.startswith("Reserve"))
        for line in (mode, reserve):
            assert "unknown: " in line and "404" in line, line
            assert line.rstrip().endswith("—") is False


async def test_devices_keys_follow_the_key_map(emulator: Emulator, tmp_path):
    app = _app(emulator, tmp_path)
    async with app.run_test(size=(120, 60)) as pilot:
        screen = await _open_devices(app, pilot)
        keys = {b.key: b.action for b in screen.BINDINGS}
        assert keys.get("s") == "reserve" and keys.get("p") == "mode"
        assert "r" not in keys and "u" not in keys and "m" not in keys  # r is the global poll
        await pilot.press("s")
        await until(lambda: isinstance(app.screen, ReserveDialog))
        await pilot.press("escape")
        await pilot.press("p")
        await until(lambda: isinstance(app.screen, ModeDialog))


CONSOLE_OK = set("".join(chr(c) for c in range(32, 127)) + "─│┌┐└┘├┤┬┴┼━┃┏┓┗┛╭╮╰╯═║╔╗╚╝█░\n")


async def test_console_mode_draws_only_console_glyphs(emulator: Emulator, tmp_path):
    cfg = Config.model_validate(
        {
            "general": {"data_dir": str(tmp_path / "data")},
            "powerwall": {"host": emulator.host_port, "password": PASSWORD, "timeout_s": 1.0},
            "tui": {"console": True},
        }
    )
    app = EnergyApp(cfg, Hub([PowerwallSource.from_config(cfg)]))
    async with app.run_test(size=(120, 60)) as pilot:
        await _open_devices(app, pilot)
        for wid in ("summary", "alerts", "strings", "batteries", "temps", "vitals", "result"):
            widget = app.screen.query_one(f"#{wid}")
            content = widget.render()
            from rich.console import Console

            console = Console(width=118, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
            console.print(content if not hasattr(widget, "content") else widget.content)
            drawn = console.export_text()
            bad = {ch for ch in drawn if ch not in CONSOLE_OK}
            assert not bad, (wid, bad)
