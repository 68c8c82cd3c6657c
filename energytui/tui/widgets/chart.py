"""A small line chart: series in braille lines, a frame with ticks, a legend in words.

The widget draws the plot with :mod:`energytui.tui.widgets.lines` (our own renderer:
plotext, used before, cost about 9 MB of memory on import, issue 15) at its own size
into a Rich ``Text`` and keeps it: it redraws only when the data or the size change,
never on a timer of its own. Series are averaged down to about twice the plot width
first, which is about the braille dots across, so nothing is lost.

Colours are the 16 basic ones (the theme maps them, and the Linux console has no
others); on the console a line is drawn in ``•`` cells instead of braille, which its
fonts lack.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.widget import Widget

from energytui.tui.widgets import lines

#: the basic colour numbers used by the history screen, one per flow in the hue the
#: dashboard's palette gives it (energytui.tui.palette: solar yellow, home blue, grid
#: purple, battery green); the normal, not the bright, colours: they stay readable on
#: light themes as on dark ones
YELLOW, BLUE, MAGENTA, GREEN, GREY = 3, 4, 5, 2, 8


@dataclass(frozen=True)
class Series:
    """One line: x in seconds from the chart's start, y in the chart's unit."""

    label: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    color: int  # one of the 16 basic colours (0–15)


@dataclass(frozen=True)
class ChartSpec:
    """Everything one chart shows; equal specs draw the same picture."""

    series: tuple[Series, ...]
    x_lim: tuple[float, float]
    x_ticks: tuple[tuple[float, str], ...] = ()
    y_lim: tuple[float, float] | None = None  # None: from the data, rounded to nice ticks
    y_unit: str = ""  # appended to the y tick labels ("%")
    gap: float | None = None  # break a line where readings are further apart than this
    zero_line: bool = False
    empty: str = "No data."


def downsample(
    xs: Sequence[float],
    ys: Sequence[float],
    max_points: int,
    lo: float | None = None,
    hi: float | None = None,
) -> tuple[list[float], list[float]]:
    """Bucket means: at most ``max_points`` points, each the mean x and mean y of the
    readings in one of ``max_points`` equal slices of [lo, hi]. Empty slices give no
    point, so gaps in the data stay gaps."""
    n = len(xs)
    if n <= max_points or max_points < 1:
        return list(xs), list(ys)
    lo = xs[0] if lo is None else lo
    hi = xs[-1] if hi is None else hi
    width = (hi - lo) / max_points or 1.0
    sums: dict[int, list[float]] = {}
    for x, y in zip(xs, ys, strict=True):
        i = min(max_points - 1, max(0, int((x - lo) / width)))
        acc = sums.get(i)
        if acc is None:
            sums[i] = [x, y, 1.0]
        else:
            acc[0] += x
            acc[1] += y
            acc[2] += 1.0
    out_x: list[float] = []
    out_y: list[float] = []
    for i in sorted(sums):
        sx, sy, c = sums[i]
        out_x.append(sx / c)
        out_y.append(sy / c)
    return out_x, out_y


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick positions covering [lo, hi], about ``count`` of them."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(1, count - 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.floor(lo / step + 1e-9) * step
    last = math.ceil(hi / step - 1e-9) * step
    ticks = []
    v = first
    while v <= last + step / 2:
        ticks.append(round(v, 10) + 0.0)
        v += step
    return ticks


def tick_label(value: float, *, ascii_minus: bool = False) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    if text in ("-0", ""):
        return "0"
    return text if ascii_minus else text.replace("-", "−")


def thin_ticks(
    ticks: Sequence[tuple[float, str]], lo: float, hi: float, columns: int
) -> list[tuple[float, str]]:
    """Drop x ticks whose labels would touch the previous one."""
    kept: list[tuple[float, str]] = []
    last_end: float = -(10**9)
    span = (hi - lo) or 1.0
    for x, label in ticks:
        if not lo <= x <= hi:
            continue
        col = (x - lo) / span * columns
        if col - len(label) / 2 < last_end + 2:
            continue
        kept.append((x, label))
        last_end = col + len(label) / 2
    return kept


class Chart(Widget):
    """Draws a :class:`ChartSpec` (with :mod:`.lines`) and a one-line legend in words below it."""

    DEFAULT_CSS = "Chart { width: 1fr; height: 1fr; }"

    def __init__(self, *, console: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.console = console
        self._spec: ChartSpec | None = None
        self._version = 0
        self._cache: tuple[tuple, Text] | None = None
        self.builds = 0  # how many times the plot was drawn: the tests check redraws stay rare

    @property
    def spec(self) -> ChartSpec | None:
        return self._spec

    def show(self, spec: ChartSpec | None) -> bool:
        """Replace what is drawn; False (and no redraw) when nothing changed."""
        if spec == self._spec:
            return False
        self._spec = spec
        self._version += 1
        self.refresh()
        return True

    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        key = (self._version, width, height, self.console)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        text = self._draw(width, height)
        self._cache = (key, text)
        return text

    # -- drawing ---------------------------------------------------------------
    def _draw(self, width: int, height: int) -> Text:
        spec = self._spec
        if spec is None:
            return Text("Loading…" if not self.console else "Loading...", style="dim")
        if not any(s.xs for s in spec.series):
            return Text(spec.empty, style="dim")
        if width < 24 or height < 5:
            return Text("Too small for a chart.", style="dim")
        legend = self._legend(spec)  # console fonts may lack "−": plain hyphens there
        plot_height = height - 1
        try:
            body = self._build(spec, width, plot_height)
        except Exception as exc:  # a plotting bug must not take the screen down
            return Text(f"The chart could not be drawn: {exc}", style="red")
        self.builds += 1
        body.append("\n")
        body.append_text(legend)
        return body

    def _legend(self, spec: ChartSpec) -> Text:
        swatch = "█" if self.console else "■"
        text = Text(no_wrap=True, overflow="crop")
        for i, s in enumerate(spec.series):
            if i:
                text.append("   ")
            text.append(swatch, style=f"color({s.color})")
            text.append(" " + (s.label.replace("−", "-") if self.console else s.label))
        return text

    def _build(self, spec: ChartSpec, width: int, height: int) -> Text:
        """The framed plot, ``height`` rows of ``width`` cells (the legend not included)."""
        x_lo, x_hi = spec.x_lim
        points = max(16, 2 * width)
        y_min = math.inf
        y_max = -math.inf
        drawn = []
        for s in spec.series:
            if not s.xs:
                continue
            xs, ys = downsample(s.xs, s.ys, points, x_lo, x_hi)
            y_min = min(y_min, min(ys))
            y_max = max(y_max, max(ys))
            drawn.append((s, xs, ys))
        count = max(2, min(5, height // 2))
        if spec.y_lim is not None:
            y_lo, y_hi = spec.y_lim
            y_ticks = nice_ticks(y_lo, y_hi, count)
        else:
            lo = min(y_min, 0.0) if spec.zero_line else y_min
            hi = max(y_max, 0.0) if spec.zero_line else y_max
            y_ticks = nice_ticks(lo, hi, count)
            y_lo, y_hi = y_ticks[0], y_ticks[-1]
        y_labels = [tick_label(v, ascii_minus=self.console) + spec.y_unit for v in y_ticks]
        label_width = max(len(label) for label in y_labels)
        canvas = lines.Canvas(
            max(1, width - label_width - 2), max(1, height - 3), braille=not self.console
        )
        x_scale = lines.Scale(x_lo, x_hi, canvas.width)
        y_scale = lines.Scale(y_lo, y_hi, canvas.height, flip=True)
        if spec.zero_line and y_lo < 0 < y_hi:
            canvas.fill_row(y_scale(0.0) // canvas.dot_h, lines.ZERO, GREY)
        bucket = (x_hi - x_lo) / points
        gap = max(spec.gap or 0.0, 2.5 * bucket)
        plot_lines = [lines.Line(xs, ys, s.color, gap) for s, xs, ys in drawn]
        lines.plot(canvas, plot_lines, x_scale, y_scale)
        ticks = thin_ticks(spec.x_ticks, x_lo, x_hi, max(1, width - label_width - 2))
        rows = lines.frame(
            canvas, list(zip(y_ticks, y_labels, strict=True)), ticks, x_scale, y_scale
        )
        text = Text(no_wrap=True, overflow="crop")
        for i, row in enumerate(rows):
            if i:
                text.append("\n")
            for chunk, color in row:
                text.append(chunk, style=None if color is None else f"color({color})")
        return text
