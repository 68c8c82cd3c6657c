"""The history screen: spans and steps over a real store, the in-memory fallback,
SVG snapshots at 120×36, and the chart's downsampling."""

from __future__ import annotations

import re
from collections import deque
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from devkit.demo import DEMO_START, demo_config, demo_hub
from energytui.clock import ManualClock
from energytui.hub import Hub
from energytui.model import parse_iso
from energytui.sources.simulated import SimulatedSite, SimulatedSource, SiteSpec
from energytui.store import Store
from energytui.tui.app import EnergyApp
from energytui.tui.screens.history import (
    BOX_IDS,
    SPANS,
    HistoryScreen,
    spacing_s,
    x_ticks,
)
from energytui.tui.widgets.chart import Chart, ChartSpec, Series, downsample, nice_ticks

ZONE = "Europe/Berlin"


# -- fixtures ---------------------------------------------------------------------------
def write_store(path) -> list[tuple]:
    """Three days of 1-min readings, then two hours of 5-s readings up to the demo's
    frozen now, through ``Store.append``; returns (ts, record, seconds it stands for)."""
    site = SimulatedSite(SiteSpec(timezone=ZONE))
    written: list[tuple] = []
    store = Store.open(path, _fsync=False)
    t = DEMO_START - timedelta(days=3)
    while t < DEMO_START:
        step = 60 if t < DEMO_START - timedelta(hours=2) else 5
        rec = site.advance(t).to_record()
        store.append("power", rec)
        written.append((t, rec, step))
        t += timedelta(seconds=step)
    store.maintain(DEMO_START - timedelta(minutes=30))  # most in files, the rest in the journal
    store.close()
    return written


@pytest.fixture
def store_readings(tmp_path):
    return tmp_path / "store", write_store(tmp_path / "store")


def store_app(path) -> EnergyApp:
    hub, _, _ = demo_hub()
    hub.store = Store.open(path, _fsync=False)
    return EnergyApp(demo_config(), hub, serve_api=False)


def memory_app(*, console: bool = False) -> EnergyApp:
    """The demo site with a day of 1-min samples in memory and no store (the fallback)."""
    clock = ManualClock(DEMO_START - timedelta(hours=24))
    site = SimulatedSite(SiteSpec(timezone=ZONE))
    src = SimulatedSource(site, clock, interval_s=999.0)
    hub = Hub([src], clock=clock, zone=ZoneInfo(ZONE))
    hub.state.history = deque(maxlen=24 * 60 + 10)
    while clock.now() < DEMO_START - timedelta(seconds=60):
        clock.advance(60)
        hub.state.history.append(site.advance(clock.now()))
    clock.advance(60)
    return EnergyApp(demo_config(console=console), hub)


async def _first_poll(pilot) -> None:
    app = pilot.app
    for _ in range(100):
        await pilot.pause()
        if all(h.state == "ok" for h in app.hub.health.values()):
            break
    for h in app.hub.health.values():
        h.latency_ms = 3.0


async def _loaded(pilot) -> HistoryScreen:
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, HistoryScreen)
    await screen.workers.wait_for_complete()
    await pilot.pause()
    return screen


async def _press(pilot, key: str) -> HistoryScreen:
    await pilot.press(key)
    return await _loaded(pilot)


def _truth_kwh(written, start, end, field: str, sign: float) -> float:
    return (
        sum(max(0.0, sign * rec[field]) * step for t, rec, step in written if start <= t < end)
        / 3.6e6
    )


# -- Pilot: keys, worker, store ---------------------------------------------------------------
async def test_keys_change_span_and_fetch_from_the_store(store_readings):
    path, written = store_readings
    app = store_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await _first_poll(pilot)
        screen = await _press(pilot, "y")
        now = app.hub.clock.now()

        # opens on 24 h, ending now, from the store
        assert screen.span.label == "24 h"
        assert screen.window == (now - timedelta(hours=24), now)
        assert screen.origin == "store"
        assert 100 < len(screen.rows) <= 2 * 120
        assert all(now - timedelta(hours=24) <= parse_iso(r["ts"]) <= now for r in screen.rows)
        power = screen.query_one("#power-chart", Chart).spec
        assert [s.label for s in power.series] == [
            "solar",
            "home",
            "grid: +import −export",
            "battery: +discharge −charge",
        ]
        assert all(len(s.xs) == len(screen.rows) for s in power.series)
        soe = screen.query_one("#soe-chart", Chart).spec
        assert soe.y_lim == (0.0, 100.0) and soe.series[0].xs
        assert "from the store" in str(screen.query_one("#history-spans").render())
        # the energy is the counters' difference over the window, per direction: from
        # the last reading before it (the window starts on a 15-minute slot) to the last
        start = now - timedelta(hours=24)
        before = [rec for t, rec, _ in written if t < start]
        inside = [before[-1]] + [rec for t, rec, _ in written if start <= t <= now]
        t = screen.totals
        for got, counter in (
            (t.solar_kwh, "solar_produced_wh"),
            (t.home_kwh, "home_consumed_wh"),
            (t.grid_import_kwh, "grid_imported_wh"),
            (t.grid_export_kwh, "grid_exported_wh"),
            (t.battery_charge_kwh, "battery_charged_wh"),
            (t.battery_discharge_kwh, "battery_discharged_wh"),
        ):
            truth = (inside[-1][counter] - inside[0][counter]) / 1000
            assert got == pytest.approx(truth, abs=1e-6)
        assert "Energy, kWh, from counters" in str(screen.query_one("#history-totals").render())
        assert screen.message == ""

        # 6 h: the 5-s readings are in it, averaged down by the store
        screen = await _press(pilot, "1")
        assert screen.span.label == "6 h"
        assert screen.window == (now - timedelta(hours=6), now)
        assert 100 < len(screen.rows) <= 2 * 120

        # 7 d: only the three days there are
        screen = await _press(pilot, "3")
        assert screen.window == (now - timedelta(days=7), now)
        first = parse_iso(screen.rows[0]["ts"])
        assert abs(first - (now - timedelta(days=3))) <= timedelta(hours=1)  # one bucket

        # one span back: nothing was recorded then, said in one line
        loads = screen.loads
        screen = await _press(pilot, "left_square_bracket")
        assert screen.loads == loads + 1
        assert screen.window == (now - timedelta(days=14), now - timedelta(days=7))
        assert screen.rows == []
        assert screen.message == "No data in this span (07 Jun 2026 – 14 Jun 2026)."
        assert "\n" not in screen.message
        assert str(screen.query_one("#power-chart", Chart).render()) == screen.message

        # and forward again; forward past now is refused without a reload
        screen = await _press(pilot, "right_square_bracket")
        assert screen.window == (now - timedelta(days=7), now) and screen.rows
        loads = screen.loads
        screen = await _press(pilot, "right_square_bracket")
        assert screen.loads == loads

        # 30 d and 1 y use the coarser rollups
        screen = await _press(pilot, "4")
        assert screen.window == (now - timedelta(days=30), now) and screen.rows
        screen = await _press(pilot, "5")
        assert screen.window == (now - timedelta(days=365), now)
        assert 3 <= len(screen.rows) <= 5  # daily means of three-odd days
        assert "1-day means" in str(screen.query_one("#history-spans").render())

        # escape goes back to the dashboard
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HistoryScreen)


async def test_no_redraw_on_the_app_tick_nor_for_the_same_span(store_readings):
    path, _ = store_readings
    app = store_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await _first_poll(pilot)
        screen = await _press(pilot, "y")
        chart = screen.query_one("#power-chart", Chart)
        builds, loads = chart.builds, screen.loads
        assert builds == 1
        for _ in range(3):
            app.hub.publish_view()  # what the hub does every second
            await pilot.pause()
        screen = await _press(pilot, "2")  # the span already shown
        assert (chart.builds, screen.loads) == (builds, loads)
        # the slow timer's reload brings the same data: no new plot
        screen._reload_if_live()
        screen = await _loaded(pilot)
        assert screen.loads == loads + 1 and chart.builds == builds
        # a new size is a new plot
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        assert chart.builds == builds + 1


async def test_a_short_terminal_keeps_the_power_chart_and_drops_the_battery_chart_first(tmp_path):
    """Found in tmux at 80×24: the power chart had 3 rows and said "Too small for a
    chart." under a battery chart of 8."""
    write_store(tmp_path / "store")
    app = tariff_app(tmp_path / "store", tmp_path / "data")
    async with app.run_test(size=(80, 24)) as pilot:
        await _first_poll(pilot)
        screen = await _press(pilot, "y")

        async def at(width: int, height: int) -> dict[str, bool]:
            await pilot.resize_terminal(width, height)
            await pilot.pause()
            await pilot.pause()
            return {box: screen.query_one(box).display for box in BOX_IDS}

        def power_rows() -> int:
            return screen.query_one("#history-power").size.height

        assert not screen.query_one("#history-status").display  # nothing to say: no row
        assert await at(80, 24) == {
            "#history-power": True,
            "#history-soe": False,  # its figure is on the dashboard
            "#history-energy": True,
        }
        assert power_rows() >= 8
        drawn = str(screen.query_one("#power-chart", Chart).render())
        assert "Too small" not in drawn
        assert drawn.splitlines()[-1].rstrip().endswith("−charge")  # the legend, whole
        assert all((await at(120, 40)).values())
        assert await at(60, 12) == {
            "#history-power": True,
            "#history-soe": False,
            "#history-energy": False,
        }
        assert power_rows() <= 12 - 5  # header, spans, two lines of totals, footer
        assert all((await at(80, 30)).values())


async def test_without_a_store_the_screen_uses_memory_and_says_so():
    hub, _, _ = demo_hub()
    app = EnergyApp(demo_config(), hub)
    async with app.run_test(size=(120, 36)) as pilot:
        await _first_poll(pilot)
        screen = await _press(pilot, "y")
        assert screen.origin == "memory"
        assert len(screen.rows) == len(hub.state.history)
        assert screen.message.startswith("No store is configured")
        assert "in memory only (no store)" in str(screen.query_one("#history-spans").render())


async def test_at_80_columns_the_span_line_keeps_the_whole_period(store_readings):
    """At 80×24 the span line cut the period shown at its end ("01 Dec 17:58 – 02 Dec"):
    the step hint (the footer names [ and ]) and then the data's source give way first,
    and come back when the screen is wide enough."""
    path, _ = store_readings
    app = store_app(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await _first_poll(pilot)
        screen = await _press(pilot, "y")
        when = screen._detail[0]
        assert when.count(":") == 2  # both ends with their times
        line = str(screen.query_one("#history-spans").render())
        assert when in line and "…" not in line
        assert "[ ] step" not in line
        await pilot.resize_terminal(160, 36)
        await pilot.pause()
        wide = str(screen.query_one("#history-spans").render())
        assert when in wide and "[ ] step" in wide and "from the store" in wide


# -- snapshots --------------------------------------------------------------------------------
async def _open_history(pilot) -> None:
    await _first_poll(pilot)
    await _press(pilot, "y")


def test_history_24h_from_memory(snap_compare):
    assert snap_compare(memory_app(), terminal_size=(120, 36), run_before=_open_history)


def test_history_console_mode(snap_compare):
    assert snap_compare(memory_app(console=True), terminal_size=(120, 36), run_before=_open_history)


# -- pieces -----------------------------------------------------------------------------------
def test_downsample_keeps_the_mean_and_the_length_bound():
    xs = [5.0 * i for i in range(17280)]  # a day of 5-s readings
    ys = [(i * 7919) % 1000 - 300.0 for i in range(len(xs))]
    for max_points in (240, 233, 100, 7):
        dx, dy = downsample(xs, ys, max_points, 0.0, 86400.0)
        assert len(dx) == len(dy) <= max_points
        assert len(dx) >= max_points - 1
        assert sum(dy) / len(dy) == pytest.approx(sum(ys) / len(ys), rel=0.01)
        assert dx == sorted(dx) and xs[0] <= dx[0] and dx[-1] <= xs[-1]
    # evenly filled buckets: the mean is kept exactly
    dx, dy = downsample(xs, ys, 240, 0.0, 86400.0)
    assert sum(dy) / len(dy) == pytest.approx(sum(ys) / len(ys), rel=1e-9)
    # a gap stays a gap, and short series pass through untouched
    gap_x = [x for x in xs if not 30000 <= x < 40000]
    dx, _ = downsample(gap_x, [1.0] * len(gap_x), 240, 0.0, 86400.0)
    assert not any(30000 + 400 <= x < 40000 - 400 for x in dx)
    assert downsample([1.0, 2.0], [3.0, 4.0], 240) == ([1.0, 2.0], [3.0, 4.0])


def test_chart_downsamples_to_about_twice_its_width_and_caches(monkeypatch):
    from energytui.tui.widgets import lines

    seen = []
    real = lines.plot

    def spy(canvas, drawn, x, y):
        seen.extend(len(ln.xs) for ln in drawn)
        return real(canvas, drawn, x, y)

    monkeypatch.setattr(lines, "plot", spy)
    n = 17280
    spec = ChartSpec(
        series=(
            Series(
                "solar",
                tuple(5.0 * i for i in range(n)),
                tuple(float(i % 50) for i in range(n)),
                11,
            ),
        ),
        x_lim=(0.0, 86400.0),
        zero_line=True,
    )
    chart = Chart()
    text = chart._build(spec, 100, 12)
    assert seen and max(seen) <= 200
    assert any(0x2800 <= ord(c) <= 0x28FF for c in text.plain)  # braille in a terminal emulator
    console = Chart(console=True)
    out = console._build(spec, 100, 12)
    assert not any(0x2800 <= ord(c) <= 0x28FF for c in out.plain)  # no braille on the console
    styles = {str(span.style) for span in out.spans}
    assert styles and all(re.fullmatch(r"color\((\d|1[0-5])\)", s) for s in styles)
    assert not any("on " in s for s in styles)  # no background painted


def test_helpers():
    assert nice_ticks(-4.2, 6.1) == [-5.0, 0.0, 5.0, 10.0]
    assert nice_ticks(0, 100, 5) == [0.0, 25.0, 50.0, 75.0, 100.0]
    assert spacing_s([0, 5, 10, 15, 100]) == 5
    zone = ZoneInfo(ZONE)
    ticks = x_ticks(DEMO_START - timedelta(hours=24), DEMO_START, zone, SPANS[1])
    assert [label for _, label in ticks][:3] == ["12:00", "15:00", "18:00"]
    ticks = x_ticks(DEMO_START - timedelta(days=365), DEMO_START, zone, SPANS[4])
    assert ticks[0][1] == "Jul" and "Jan 2026" in [label for _, label in ticks]


# -- energy that agrees, cost, export (issue 15) ----------------------------------------------
TARIFF = {
    "currency": "EUR",
    "import_price": 0.30,
    "export_price": 0.08,
    "daily_charge": 0.40,
    "rates": [{"name": "peak", "start": "17:00", "end": "21:00", "import_price": 0.45}],
}


def tariff_app(path, data_dir, *, console: bool = False, minutes: int = 0) -> EnergyApp:
    """The demo hub over the store at ``path``, with a tariff and its data dir; with
    ``minutes``, the last minutes of the demo site's readings are written there first
    (the hub's own polls then carry on the same counters)."""
    from energytui.config import load_config

    hub, _, _ = demo_hub()
    if minutes:
        store = Store.open(path, _fsync=False)
        since = DEMO_START - timedelta(minutes=minutes)
        for s in hub.state.history:
            if s.ts >= since:
                store.append("power", s.to_record())
        store.maintain(DEMO_START - timedelta(minutes=1))  # folded, the last in the journal
        store.close()
    hub.store = Store.open(path, _fsync=False)
    config = load_config(
        environ={"TIMEZONE": ZONE},
        overrides={
            "general": {"data_dir": str(data_dir)},
            "tariff": TARIFF,
            "tui": {"console": console},
        },
    )
    return EnergyApp(config, hub, serve_api=False)


async def test_every_span_shows_the_same_energy_for_the_same_minutes(tmp_path):
    app = tariff_app(tmp_path / "store", tmp_path / "data", minutes=5)
    history = [s for s in app.hub.state.history if s.ts >= DEMO_START - timedelta(minutes=5)]
    async with app.run_test(size=(120, 36)) as pilot:
        await _first_poll(pilot)
        screen = await _press(pilot, "y")
        seen = {}
        for key in ("1", "2", "3", "4", "5"):
            screen = await _press(pilot, key)
            assert screen.totals is not None, screen.span.label  # 1 y too
            seen[screen.span.label] = (screen.totals.solar_kwh, screen.totals.home_kwh)
            text = str(screen.query_one("#history-totals").render())
            assert text.startswith("Energy, kWh, from counters: solar ")
            assert "Cost, EUR: " in text and "saved" in text
        assert len(set(seen.values())) == 1, seen
        # and they are the counters' difference from the first reading to the last
        first, last = history[0].counters, app.hub.state.history[-1].counters
        assert first is not None and last is not None
        solar, home = seen["1 y"]
        assert solar == pytest.approx((last.solar_produced_wh - first.solar_produced_wh) / 1000)
        assert home == pytest.approx((last.home_consumed_wh - first.home_consumed_wh) / 1000)
        assert home > 0


async def test_energy_bars_and_csv_export(tmp_path):
    write_store(tmp_path / "store")
    app = tariff_app(tmp_path / "store", tmp_path / "data")
    async with app.run_test(size=(120, 36)) as pilot:
        await _first_poll(pilot)
        screen = await _press(pilot, "y")
        screen = await _press(pilot, "3")
        e = screen.energy
        assert e is not None and e.unit == "day" and len(e.periods) == 4  # three days and a bit
        bars = str(screen.query_one("#history-bars").render())
        lines = bars.splitlines()
        assert lines[0].split()[:3] == ["per", "day", "solar"] and "cost EUR" in lines[0]
        assert lines[1].startswith("Sun 21 Jun") and "█" in bars  # newest first
        # the days add up to the span
        assert sum(p.energy.home_kwh for p in e.periods) == pytest.approx(e.total.home_kwh)
        assert e.cost is not None
        assert sum(p.cost.cost for p in e.periods if p.cost) == pytest.approx(e.cost.cost)

        await pilot.press("x")
        await pilot.pause()
        path = screen.last_export
        assert path is not None and path.parent == tmp_path / "data" / "exports"
        assert path.name == "energytui-7d-20260614-1100-20260621-1100.csv"
        notes = [n.message for n in app._notifications]
        assert any(str(path) in m for m in notes), notes
        import csv

        with path.open(encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        assert list(rows[0])[:4] == ["start", "end", "solar_kwh", "home_kwh"]
        assert {"grid_import_kwh", "grid_export_kwh", "cost_EUR", "savings_EUR"} <= set(rows[0])
        assert len(rows) >= 3 * 24  # one row per hour on 7 d
        assert any(m.startswith(f"Exported {len(rows)} rows (7 d, per hour)") for m in notes)
        assert sum(float(r["home_kwh"]) for r in rows) == pytest.approx(e.total.home_kwh, abs=0.05)
        assert sum(float(r["cost_EUR"]) for r in rows) == pytest.approx(e.cost.cost, abs=0.01)


async def test_an_export_of_one_row_says_one_row(tmp_path):
    """Found in tmux: a fresh site's year exported as "Exported 1 rows"."""
    app = tariff_app(tmp_path / "store", tmp_path / "data", minutes=5)
    async with app.run_test(size=(120, 36)) as pilot:
        await _first_poll(pilot)
        await _press(pilot, "y")
        screen = await _press(pilot, "5")
        assert screen.span.label == "1 y"
        await pilot.press("x")
        await pilot.pause()
        notes = [n.message for n in app._notifications]
        assert any(m.startswith("Exported 1 row (1 y, per day) to ") for m in notes), notes


async def test_console_bars_use_whole_cells_only(tmp_path):
    write_store(tmp_path / "store")
    app = tariff_app(tmp_path / "store", tmp_path / "data", console=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await _first_poll(pilot)
        screen = await _press(pilot, "y")
        bars = str(screen.query_one("#history-bars").render())
        assert "█" in bars
        assert not set(bars) & set("▏▎▍▌▋▊▉")
