"""Sparklines of the last minutes for each flow, with the current value beside them."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Sparkline

from energytui.model import PowerSample
from energytui.tui.format import kw, kw_signed

FLOWS = (
    ("solar", "Solar", lambda s: s.solar_w),
    ("load", "Home", lambda s: s.load_w),
    ("grid", "Grid", lambda s: s.grid_w),
    ("battery", "Battery", lambda s: s.battery_w),
)


def _text_trend(values: list[float]) -> str:
    """Console fallback (no eighth blocks): min / now / max in numbers."""
    if not values:
        return "—"
    return f"min {kw_signed(min(values))}  max {kw_signed(max(values))}"


class SparkPanel(Vertical):
    """One row per flow: name, sparkline (or text trend on the console), current value."""

    DEFAULT_CSS = """
    SparkPanel { height: auto; }
    SparkPanel > Horizontal { height: 1; }
    SparkPanel .spark-name { width: 8; color: $text-muted; }
    SparkPanel .spark-now { width: 10; text-align: right; }
    SparkPanel Sparkline { width: 1fr; height: 1; }
    SparkPanel .spark-text { width: 1fr; color: $text-muted; }
    SparkPanel.stale .spark-now, SparkPanel.stale .spark-text { color: #808080; }
    SparkPanel.stale Sparkline > .sparkline--max-color { color: #808080; }
    SparkPanel.stale Sparkline > .sparkline--min-color { color: #808080; }
    """

    def __init__(self, *, console: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.console = console

    def compose(self) -> ComposeResult:
        for key, name, _ in FLOWS:
            with Horizontal(id=f"spark-row-{key}"):
                yield Label(name, classes="spark-name")
                if self.console:
                    yield Label("", id=f"spark-{key}", classes="spark-text")
                else:
                    yield Sparkline([], id=f"spark-{key}")
                yield Label("", id=f"spark-now-{key}", classes="spark-now")

    def set_live(self, live: bool) -> None:
        """Grey the lines and the values while the power data is stale (format.STALE)."""
        self.set_class(not live, "stale")

    def show(self, samples: Iterable[PowerSample], width_points: int = 120) -> None:
        data = list(samples)[-width_points:]
        for key, _, get in FLOWS:
            values = [get(s) for s in data]
            widget = self.query_one(f"#spark-{key}")
            if isinstance(widget, Sparkline):
                widget.data = values
            elif isinstance(widget, Label):  # the text trend of console mode
                widget.update(_text_trend(values), layout=False)
            now = values[-1] if values else None
            self.query_one(f"#spark-now-{key}", Label).update(kw(now), layout=False)
