"""The power-flow diagram: solar, battery, grid and home around one bus.

Arrows point the way energy moves, and each arm names its direction in words,
with the gateway's signs (grid > 0 imports, battery > 0 discharges).
"""

from __future__ import annotations

from rich.text import Text

from energytui.model import IDLE_W, GridStatus, PowerSample, describe_battery, describe_grid
from energytui.tui.format import kw
from energytui.tui.glyphs import UNICODE, Glyphs
from energytui.tui.palette import DARK, FlowColours
from energytui.tui.widgets.flowmap import MIN_H, MIN_W, render_flow_map
from energytui.tui.widgets.sized import SizedStatic


def _arm(length: int, flows_right: bool | None, g: Glyphs) -> str:
    """A horizontal arm of ``length`` cells; the arrowhead shows the way energy flows."""
    if flows_right is None:
        return g.hline * length
    body = g.hline * (length - 1)
    return body + g.right if flows_right else g.left + body


def render_flow(
    sample: PowerSample | None,
    *,
    live: bool,
    glyphs: Glyphs = UNICODE,
    stale_note: str = "",
    colours: FlowColours = DARK,
) -> Text:
    """Render the compact diagram as Rich text (pure: tested without a terminal), in the
    flow colours of the theme shown."""
    g = glyphs
    SOLAR, BATTERY, GRID, HOME = colours.solar, colours.battery, colours.grid, colours.home
    DIM = colours.dim
    t = Text()
    if sample is None:
        t.append("Waiting for the first reading…\n", style=DIM)
        if stale_note:
            t.append(stale_note, style="bold red")
        return t
    dim = not live

    def st(color: str) -> str:
        return DIM if dim else f"bold {color}"

    solar_in = sample.solar_w > IDLE_W
    grid_dir = None if abs(sample.grid_w) <= IDLE_W else sample.grid_w > 0  # True: grid → bus
    batt_dir = (
        None if abs(sample.battery_w) <= IDLE_W else sample.battery_w > 0
    )  # True: battery → bus

    centre = 20
    # solar on top
    t.append(" " * (centre - 6))
    t.append(f"SOLAR {kw(sample.solar_w):>9}", style=st(SOLAR))
    t.append("\n")
    t.append(" " * centre)
    t.append((g.down if solar_in else g.vline) + "\n", style=st(SOLAR))
    # grid — bus — home
    t.append("GRID ", style=st(GRID))
    t.append(_arm(centre - 6, grid_dir, g), style=st(GRID))
    t.append(" ")
    t.append(g.node, style="bold" if live else DIM)
    t.append(" ")
    t.append(_arm(10, True if sample.load_w > IDLE_W else None, g), style=st(HOME))
    t.append(" HOME\n", style=st(HOME))
    t.append(f"{kw(sample.grid_w):>9}", style=st(GRID))
    t.append(" " * (centre - 9))
    t.append(g.vline if batt_dir is None else (g.up if batt_dir else g.down), style=st(BATTERY))
    t.append(" " * 10)
    t.append(f"{kw(sample.load_w):>9}\n", style=st(HOME))
    if sample.grid_status is GridStatus.DOWN:
        t.append(f"{'GRID DOWN (islanded)':<18}", style="bold red")
    else:
        t.append(f"{describe_grid(sample.grid_w):<18}", style=DIM if dim else GRID)
    t.append(" ")
    t.append("\n")
    t.append(" " * (centre - 8))
    t.append(f"BATTERY {kw(sample.battery_w):>9}", style=st(BATTERY))
    t.append("\n")
    t.append(" " * (centre - 8))
    t.append(describe_battery(sample.battery_w), style=DIM if dim else BATTERY)
    if not live:
        t.append("\n")
        t.append(f"STALE {stale_note}".rstrip(), style="bold red")
    return t


class PowerFlow(SizedStatic):
    """Shows the power flow at the size of its panel: :func:`flowmap.render_flow_map`
    when the panel has room, the compact :func:`render_flow` otherwise."""

    DEFAULT_CSS = """
    PowerFlow { height: 1fr; }
    """

    def show(
        self,
        sample: PowerSample | None,
        *,
        live: bool,
        glyphs: Glyphs,
        stale_note: str = "",
        phase: int = 0,
        colours: FlowColours = DARK,
    ) -> None:
        self._args = (sample, live, glyphs, stale_note, phase, colours)
        self.redraw()

    def render_at(self, width: int, height: int) -> Text:
        sample, live, glyphs, stale_note, phase, colours = self._args
        if sample is not None and width >= MIN_W and height >= MIN_H:
            text = render_flow_map(
                sample,
                width,
                height,
                live=live,
                glyphs=glyphs,
                colours=colours,
                phase=phase,
                stale_note=stale_note,
            )
        else:
            text = render_flow(
                sample, live=live, glyphs=glyphs, stale_note=stale_note, colours=colours
            )
        return text
