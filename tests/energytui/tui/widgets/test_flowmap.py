"""The power-flow diagram grows with its panel and shows the way energy flows."""

from __future__ import annotations

from datetime import UTC, datetime

from energytui.model import GridStatus, PowerSample
from energytui.tui.glyphs import CONSOLE
from energytui.tui.palette import DARK, LIGHT, contrast
from energytui.tui.widgets.flowmap import render_flow_map

SAMPLE = PowerSample(
    datetime(2026, 6, 1, 12, tzinfo=UTC),
    3200.0,
    -1500.0,
    -200.0,
    1500.0,
    soe_pct=60.0,
    grid_status=GridStatus.UP,
)


def _where(text: str, needle: str) -> tuple[int, int]:
    for y, line in enumerate(text.split("\n")):
        if needle in line:
            return line.index(needle), y
    raise AssertionError(needle)


def test_the_diagram_fills_a_large_panel() -> None:
    small = render_flow_map(SAMPLE, 46, 9, live=True).plain
    large = render_flow_map(SAMPLE, 180, 40, live=True).plain
    assert len(large.split("\n")) == 40 and len(small.split("\n")) == 9
    sx, sy = _where(large, "SOLAR")
    bx, by = _where(large, "BATTERY")
    gx, gy = _where(large, "GRID")
    hx, hy = _where(large, "HOME")
    assert sy == 0 and by >= 37  # solar on top, battery at the bottom
    assert gx == 0 and hx > 170  # grid on the left, home on the right
    assert gy == hy and sy < gy < by


def test_arrows_point_the_way_energy_flows_and_move() -> None:
    a = render_flow_map(SAMPLE, 80, 15, live=True, phase=0).plain
    b = render_flow_map(SAMPLE, 80, 15, live=True, phase=1).plain
    assert a != b  # the arrowheads step along the arms each second
    _, y = _where(a, "HOME")
    bus_row = a.split("\n")[y + 1]
    left, right = bus_row.split("●")
    assert "◄" in left and "►" not in left  # exporting: away from the bus to the grid
    assert "►" in right  # the home draws from the bus
    column = [line[40] if len(line) > 40 else " " for line in a.split("\n")]
    assert "▼" in column[: y + 1]  # solar flows down into the bus
    assert "▼" in column[y + 2 :]  # charging: down into the battery


def test_console_glyphs_only_in_console_mode() -> None:
    text = render_flow_map(SAMPLE, 80, 15, live=True, glyphs=CONSOLE).plain
    assert all(ord(ch) < 128 or ch in "─│" for ch in text)


def test_stale_says_so() -> None:
    text = render_flow_map(SAMPLE, 80, 15, live=False, stale_note="(last data 3 min)").plain
    assert text.split("\n")[-1].startswith("STALE (last data 3 min)")


def test_flow_colours_are_readable_on_light_and_dark_backgrounds() -> None:
    for flow in ("solar", "home", "grid", "battery"):
        assert contrast(LIGHT.of(flow), "#ffffff") >= 3.0, flow
        assert contrast(DARK.of(flow), "#121212") >= 3.0, flow


def test_a_step_redraws_two_rows_of_each_upright_arm() -> None:
    # each row an arrowhead leaves or enters is a line the terminal draws again: one
    # head travelling each upright arm, not one every four rows of it
    a = render_flow_map(SAMPLE, 120, 40, live=True, phase=7).plain
    b = render_flow_map(SAMPLE, 120, 40, live=True, phase=8).plain
    x, bus = _where(a, "●")
    rows = zip(a.split("\n"), b.split("\n"), strict=True)
    changed = [y for y, (one, two) in enumerate(rows) if one != two]
    assert len([y for y in changed if y < bus]) == 2
    assert len([y for y in changed if y > bus]) == 2
    column = [line[x] for line in a.split("\n")]
    assert column[:bus].count("▼") == 1  # solar: one head on its way down to the bus
    assert column[bus + 1 :].count("▼") == 1  # charging: one on its way to the battery
