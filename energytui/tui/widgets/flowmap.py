"""The power-flow diagram drawn to the size of its panel.

Solar above, the grid on the left, the home on the right and the battery below, around
one bus in the middle; arms stretch with the panel, so at 200×60 the diagram fills the
space the fixed 45×7 drawing left empty. Each arm carries arrowheads that move one step
per second (``phase``, whole seconds) the way the energy flows: along the bus row, one
every ``SPACING`` cells; down the solar and battery arms, one travelling the arm, since
each row a head leaves or enters is a line the terminal draws again (one head: two rows
a second, not half the arm). An idle arm is a plain dim line. Signs are the gateway's:
grid > 0 imports, battery > 0 discharges.
"""

from __future__ import annotations

from rich.text import Text

from energytui.model import IDLE_W, GridStatus, PowerSample, describe_battery, describe_grid
from energytui.tui.format import kw
from energytui.tui.glyphs import UNICODE, Glyphs
from energytui.tui.palette import DARK, FlowColours

#: below this the panel gets the compact drawing (see ``flow.render_flow``)
MIN_W, MIN_H = 44, 9
#: cells between two arrowheads on an arm
SPACING = 4


class _Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.w, self.h = width, height
        self.cells: list[list[tuple[str, str]]] = [[(" ", "")] * width for _ in range(height)]

    def put(self, x: int, y: int, text: str, style: str = "") -> None:
        if not 0 <= y < self.h:
            return
        for i, ch in enumerate(text):
            if 0 <= x + i < self.w:
                self.cells[y][x + i] = (ch, style)

    def centred(self, cx: int, y: int, text: str, style: str = "") -> None:
        self.put(max(0, min(self.w - len(text), cx - len(text) // 2)), y, text, style)

    def text(self) -> Text:
        out = Text(no_wrap=True, overflow="crop")
        for y, row in enumerate(self.cells):
            if y:
                out.append("\n")
            run, style = "", None
            for ch, st in row:
                if st != style and run:
                    out.append(run, style=style or None)
                    run = ""
                style = st
                run += ch
            out.append(run.rstrip() if not style else run, style=style or None)
        return out


def _arm_cells(
    length: int,
    forward: bool | None,
    phase: int,
    line: str,
    ahead: str,
    back: str,
    spacing: int | None = SPACING,
):
    """The glyphs of an arm ``length`` long, an arrowhead every ``spacing`` cells (None:
    one head travelling the whole arm); ``forward`` True: energy flows from its start to
    its end, None: idle."""
    if forward is None or length <= 0:
        return [line] * max(length, 0)
    spacing = spacing or length
    out = []
    for i in range(length):
        k = i if forward else length - 1 - i
        out.append((ahead if forward else back) if (k - phase) % spacing == 0 else line)
    return out


def render_flow_map(
    sample: PowerSample,
    width: int,
    height: int,
    *,
    live: bool,
    glyphs: Glyphs = UNICODE,
    colours: FlowColours = DARK,
    phase: int = 0,
    stale_note: str = "",
) -> Text:
    """The diagram in ``width`` × ``height`` cells (at least ``MIN_W`` × ``MIN_H``)."""
    g = glyphs
    c = _Canvas(width, height)

    def st(flow: str, bold: bool = True) -> str:
        if not live:
            return colours.dim
        return f"{'bold ' if bold else ''}{colours.of(flow)}"

    rows_free = height - (1 if not live else 0)
    cx, cy = width // 2, rows_free // 2
    # solar on top: name and value, then the arm down to the bus
    c.centred(cx, 0, f"SOLAR {kw(sample.solar_w)}", st("solar"))
    # battery below: value and words
    c.centred(cx, rows_free - 2, f"BATTERY {kw(sample.battery_w)}", st("battery"))
    c.centred(cx, rows_free - 1, describe_battery(sample.battery_w), st("battery", False))
    # grid on the left, home on the right, three lines each around the bus row
    grid_lines = [
        "GRID",
        kw(sample.grid_w),
        "GRID DOWN" if sample.grid_status is GridStatus.DOWN else describe_grid(sample.grid_w),
    ]
    grid_w = max(len(s) for s in grid_lines)
    home_lines = ["HOME", kw(sample.load_w), "using"]
    home_w = max(len(s) for s in home_lines)
    for i, s in enumerate(grid_lines):
        style = "bold red" if i == 2 and sample.grid_status is GridStatus.DOWN and live else None
        c.put(0, cy - 1 + i, s.ljust(grid_w), style or st("grid", i < 2))
    for i, s in enumerate(home_lines):
        c.put(width - home_w, cy - 1 + i, s.rjust(home_w), st("home", i < 2))
    # the bus and its arms
    c.put(cx, cy, g.node, "bold" if live else colours.dim)

    def direction(watts: float) -> bool | None:
        return None if abs(watts) <= IDLE_W else watts > 0

    solar = _arm_cells(cy - 1, direction(sample.solar_w), phase, g.vline, g.down, g.up, None)
    for i, ch in enumerate(solar):
        c.put(cx, 1 + i, ch, st("solar", False))
    battery = _arm_cells(
        rows_free - 3 - cy, direction(sample.battery_w), phase, g.vline, g.up, g.down, None
    )
    # listed from the bus down: discharging (> 0) flows up toward the bus
    for i, ch in enumerate(reversed(battery)):
        c.put(cx, cy + 1 + i, ch, st("battery", False))
    left = _arm_cells(cx - grid_w - 2, direction(sample.grid_w), phase, g.hline, g.right, g.left)
    c.put(grid_w + 1, cy, "".join(left), st("grid", False))
    right_len = width - home_w - 2 - (cx + 2)
    home = _arm_cells(right_len, direction(sample.load_w), phase, g.hline, g.right, g.left)
    c.put(cx + 2, cy, "".join(home), st("home", False))
    if not live:
        c.put(0, height - 1, f"STALE {stale_note}".rstrip()[:width], "bold red")
    return c.text()
