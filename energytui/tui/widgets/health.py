"""Source health: state, age of the last good reading, latency, and the cause of a failure."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from energytui.hub import SourceHealth
from energytui.tui.format import age

STATE_STYLE = {
    "ok": "bold green",
    "waiting": "yellow",
    "stale": "bold red",
    "error": "bold red",
    "backoff": "bold magenta",
}


def render_health(health: list[SourceHealth], now: datetime, store_note: str | None = None) -> Text:
    t = Text()
    for i, h in enumerate(health):
        if i:
            t.append("\n")
        t.append(f"{h.name:<10}", style="bold")
        t.append(f"{h.state.upper():<8}", style=STATE_STYLE.get(h.state, ""))
        age_s = h.age_s(now)
        if h.state == "ok" and age_s is not None and age_s <= 2 * h.interval_s:
            t.append("live")
        else:
            t.append(f"last good {age(age_s)}")
        if h.latency_ms is not None and h.state == "ok":
            shown = "<10 ms" if h.latency_ms < 10 else f"{round(h.latency_ms, -1):.0f} ms"
            t.append(f" · {shown}", style="grey70")
        if h.last_error:
            t.append(f" · {h.last_error}", style="red")
    if store_note:
        t.append("\n")
        t.append(store_note, style="yellow")
    return t


class HealthPanel(Static):
    def show(
        self, health: list[SourceHealth], now: datetime, store_note: str | None = None
    ) -> None:
        self.update(render_health(health, now, store_note))
