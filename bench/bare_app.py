"""The reference for ``bench.tui``: a bare Textual app that redraws four labels and a
sparkline every second, the least a live dashboard can cost.

Run by ``bench.tui`` under tmux beside the real screens, so a machine's speed cancels
out of the ratio it prints. ``python -m bench.bare_app`` shows it.
"""

from __future__ import annotations

import math
import time

from textual.app import App, ComposeResult
from textual.widgets import Label, Sparkline


class BareApp(App[None]):
    """Four figures and a sparkline of the last 60 values, updated once a second."""

    def compose(self) -> ComposeResult:
        for name in ("solar", "home", "battery", "grid"):
            yield Label("", id=name)
        yield Sparkline([0.0], id="spark")

    def on_mount(self) -> None:
        self._values: list[float] = []
        self.set_interval(1.0, self.tick)
        self.tick()

    def tick(self) -> None:
        t = time.time()
        watts = {
            "solar": 3000 + 800 * math.sin(t / 60),
            "home": 1200 + 300 * math.sin(t / 17),
            "battery": -900 + 400 * math.sin(t / 31),
            "grid": 100 + 50 * math.sin(t / 7),
        }
        for name, w in watts.items():
            self.query_one(f"#{name}", Label).update(f"{name:<8}{w / 1000:6.2f} kW")
        self._values = [*self._values[-59:], watts["solar"]]
        self.query_one("#spark", Sparkline).data = list(self._values)


if __name__ == "__main__":
    BareApp().run()
