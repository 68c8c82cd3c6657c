"""Source health: state, age of the last good reading, latency, and the cause of a failure;
then one line per sink (the InfluxDB writer), only when one runs."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from energytui.sources.base import SourceState
from energytui.tui.format import age
from energytui.view import HubView, SinkView

STATE_STYLE = {
    SourceState.OK: "bold green",
    SourceState.WAITING: "yellow",
    SourceState.STALE: "bold red",
    SourceState.ERROR: "bold red",
    SourceState.BACKOFF: "bold magenta",
}

#: a sink that is caught up is quiet; one that lags or fails says so in colour
SINK_STYLE = {"ok": "green", "behind": "yellow", "error": "bold red", "stopped": "red"}


@dataclass(frozen=True, slots=True)
class HealthLine:
    """One source's line, as shown: equal lines draw the same text."""

    name: str
    state: SourceState
    seen: str  # "live", or "last good 5 s ago"
    latency: str | None  # "<10 ms", "30 ms"; only while the source is ok
    error: str | None


def health_lines(view: HubView) -> tuple[HealthLine, ...]:
    """What the panel shows for each source; the age only counts once it is not live."""
    lines = []
    for h in view.sources:
        age_s = view.age_s(h)
        ok = h.state is SourceState.OK
        if ok and age_s is not None and age_s <= 2 * h.interval_s:
            seen = "live"
        else:
            seen = f"last good {age(age_s)}"
        latency = None
        if h.latency_ms is not None and ok:
            latency = "<10 ms" if h.latency_ms < 10 else f"{round(h.latency_ms, -1):.0f} ms"
        lines.append(HealthLine(h.name, h.state, seen, latency, h.last_error))
    return tuple(lines)


def render_health(
    lines: tuple[HealthLine, ...],
    store_note: str | None = None,
    sinks: tuple[SinkView, ...] = (),
) -> Text:
    t = Text()
    for i, h in enumerate(lines):
        if i:
            t.append("\n")
        t.append(f"{h.name:<10}", style="bold")
        t.append(f"{h.state.upper():<8}", style=STATE_STYLE.get(h.state, ""))
        t.append(h.seen)
        if h.latency is not None:
            t.append(f" · {h.latency}", style="grey70")
        if h.error:
            t.append(f" · {h.error}", style="red")
    if store_note:
        t.append("\n")
        t.append(store_note, style="yellow")
    for sink in sinks:
        t.append("\n")
        t.append(sink.line, style=SINK_STYLE.get(sink.state, "yellow"))
    return t


class HealthPanel(Static):
    def show(
        self,
        lines: tuple[HealthLine, ...],
        store_note: str | None = None,
        sinks: tuple[SinkView, ...] = (),
    ) -> None:
        self.update(render_health(lines, store_note, sinks))
