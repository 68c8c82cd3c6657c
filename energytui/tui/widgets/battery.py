"""Battery gauge: charge, power, direction, time to full, to the reserve or to empty."""

from __future__ import annotations

from rich.text import Text

from energytui.model import PowerSample, battery_eta_hours, describe_battery
from energytui.tui.format import SOE_SCALE, STALE, duration, kw
from energytui.tui.glyphs import CONSOLE, UNICODE, Glyphs
from energytui.tui.widgets.sized import LineStatic


def eta_text(pct: float, sample: PowerSample, capacity_kwh: float | None) -> str:
    """When the battery is full, at its reserve, or empty, at the present power.

    "reserve in" only while the reserve is known and above the charge, and then counted
    to the reserve; otherwise the time to empty, said as such (in an outage the battery
    goes on below the reserve). Without a capacity (the gateway has not reported one
    yet, or a viewer) no time is made up."""
    if not (sample.battery_charging or sample.battery_discharging):
        return " "
    if capacity_kwh is None:
        return "time unknown: no capacity"
    if sample.battery_charging:
        return f"full in {duration(battery_eta_hours(pct, sample.battery_w, capacity_kwh))}"
    reserve = sample.reserve_pct
    if reserve is not None and pct > reserve:
        eta = battery_eta_hours(pct, sample.battery_w, capacity_kwh, reserve)
        return f"reserve in {duration(eta)}"
    return f"empty in {duration(battery_eta_hours(pct, sample.battery_w, capacity_kwh, 0.0))}"


def render_battery(
    sample: PowerSample | None,
    *,
    capacity_kwh: float | None,
    live: bool,
    glyphs: Glyphs = UNICODE,
    width: int = 24,
) -> Text:
    t = Text()
    if sample is None or sample.soe_pct is None:
        t.append("No battery data yet.", style="grey50")
        return t
    pct = max(0.0, min(100.0, sample.soe_pct))
    color = "green" if pct >= 50 else ("yellow" if pct >= 20 else "red")
    if not live:  # every figure below greys, the countdowns too
        color = STALE
    t.append(f"{pct:5.1f} %", style=f"bold {color}")
    t.append(f"  {SOE_SCALE}", style="grey50")
    t.append("\n")
    cells = max(10, width)
    filled = int(round(cells * pct / 100))
    bar = [glyphs.full] * filled + [glyphs.empty] * (cells - filled)
    reserve = sample.reserve_pct
    if reserve is not None and 0 < reserve < 100:
        at = min(cells - 1, int(round(cells * reserve / 100)))
        bar[at] = glyphs.reserve
    t.append("".join(bar), style=color)
    t.append("\n")
    word = describe_battery(sample.battery_w)
    t.append(
        f"{word} {kw(sample.battery_w)}" if word != "standby" else "standby",
        style="bold" if live else STALE,
    )
    t.append("\n")
    t.append(eta_text(pct, sample, capacity_kwh), style="" if live else STALE)
    t.append("\n")
    unknown = "-" if glyphs == CONSOLE else "—"  # the console font has no em dash
    t.append(
        f"reserve {reserve:.0f} %" if reserve is not None else f"reserve {unknown}",
        style="grey70" if live else STALE,
    )
    return t


class BatteryGauge(LineStatic):
    """The gauge's bar spans the widget: it draws itself again when its width changes,
    and each second only in the lines that changed."""

    DEFAULT_CSS = "BatteryGauge { height: 1fr; }"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._shown: tuple | None = None  # what show() was last given

    def show(
        self, sample: PowerSample | None, *, capacity_kwh: float | None, live: bool, glyphs: Glyphs
    ) -> None:
        self._shown = (sample, capacity_kwh, live, glyphs)
        self._draw()

    def on_resize(self) -> None:
        if self._shown is not None:
            self._draw()

    def _draw(self) -> None:
        assert self._shown is not None
        sample, capacity_kwh, live, glyphs = self._shown
        width = max(10, self.content_size.width - 3) if self.content_size.width else 20
        text = render_battery(
            sample, capacity_kwh=capacity_kwh, live=live, glyphs=glyphs, width=width
        )
        self.show_text(text)
