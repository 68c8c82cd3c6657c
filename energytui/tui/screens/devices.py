"""The devices screen: alerts, battery blocks, strings, temperatures, vitals, reserve and mode.

Reads only the Powerwall source's slow cache, through the hub
(:meth:`Hub.power_details`), so opening it costs the gateway nothing extra. Changing
the reserve (``r``) or the operation mode (``m``) always goes through a Yes/No
confirmation, then through the hub's commands (:meth:`Hub.set_reserve`,
:meth:`Hub.set_mode`) in a worker, and reports the gateway's answer in one sentence.
On the simulated site it shows what the simulation knows and says that changes need a
Powerwall.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Header, Label, OptionList, Static
from textual.widgets.option_list import Option

from energytui.model import describe_battery
from energytui.sources.base import SourceError
from energytui.sources.powerwall_details import MODE_LABELS, PowerwallDetails
from energytui.sources.simulated import SimulatedSite
from energytui.tui.format import SOE_SCALE, kw
from energytui.tui.screens.base import HubScreen
from energytui.tui.screens.dialogs import InputDialog
from energytui.tui.widgets.keyfooter import KeyFooter

log = logging.getLogger(__name__)

NEEDS_POWERWALL = "Changing the reserve or mode needs a Powerwall; this is the simulated site."
REFRESH_S = 5.0


# -- dialogs ---------------------------------------------------------------------------
class ConfirmDialog(ModalScreen[bool]):
    """Yes/No before anything is written to the gateway."""

    DEFAULT_CSS = """
    ConfirmDialog { align: center middle; }
    ConfirmDialog > Vertical { width: 60; height: auto; border: thick $warning; padding: 1 2;
                               background: $surface; }
    ConfirmDialog Horizontal { height: auto; align: center middle; margin-top: 1; }
    ConfirmDialog Button { margin: 0 2; }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question, id="question")
            with Horizontal():
                yield Button("Yes", variant="warning", id="yes")
                yield Button("No", variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()  # the safe answer is the default

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class ReserveDialog(InputDialog):
    """Ask for a new backup reserve, 0-100 % (the Tesla app's scale)."""

    def __init__(self, current: float | None) -> None:
        now = "unknown" if current is None else f"{current:g} %"
        super().__init__(
            f"Backup reserve (now {now}). New value, 0-100 %, then Enter:",
            name="reserve",
            placeholder="e.g. 30",
            type="number",
        )
        self.current = current

    def parse(self, text: str) -> tuple[float | None, str | None]:
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if not 0.0 <= value <= 100.0:
            return None, "Enter a number from 0 to 100 (Escape cancels)."
        return value, None


class ModeDialog(ModalScreen[str | None]):
    """Pick an operation mode, shown with the Tesla app's names."""

    DEFAULT_CSS = """
    ModeDialog { align: center middle; }
    ModeDialog > Vertical { width: 60; height: auto; border: thick $accent; padding: 1 2;
                            background: $surface; }
    ModeDialog OptionList { height: auto; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, current: str | None) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Operation mode (Enter selects, Escape cancels):")
            yield OptionList(
                *[
                    Option(
                        f"{label} ({mode})" + ("  (current)" if mode == self.current else ""),
                        id=mode,
                    )
                    for mode, label in MODE_LABELS.items()
                ],
                id="modes",
            )

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


# -- rendering ---------------------------------------------------------------------------
def _fmt(value: float | None, unit: str, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f} {unit}"


def render_summary(d: PowerwallDetails, where: str, fetched: str) -> Text:
    t = Text()
    t.append("Site        ", style="bold")
    t.append(f"{d.site_name or '—'}\n")
    t.append("Connection  ", style="bold")
    t.append(f"{d.connection_mode} · {where}\n")
    t.append("Firmware    ", style="bold")
    t.append(f"{d.firmware or '—'}\n")
    t.append("Mode        ", style="bold")
    label = d.operation_mode_label
    t.append(f"{label} ({d.operation_mode})\n" if label else "—\n")
    t.append("Reserve     ", style="bold")
    reserve = _fmt(d.reserve_pct, "%", 0)
    t.append(f"{reserve} ({SOE_SCALE} scale)\n" if d.reserve_pct is not None else f"{reserve}\n")
    t.append("Updated     ", style="bold")
    t.append(fetched)
    if d.can_control:
        t.append("\nr changes the reserve, m the mode (each asks to confirm first).", style="dim")
    else:
        t.append("\nThis connection mode cannot change reserve or mode.", style="dim")
    return t


def render_alerts(alerts: tuple[str, ...]) -> Text:
    if not alerts:
        return Text("No alerts.")
    t = Text()
    for i, a in enumerate(alerts):
        if i:
            t.append("\n")
        t.append("! " if a not in ("SystemConnectedToGrid",) else "  ", style="bold yellow")
        t.append(a)
    return t


def render_batteries(d: PowerwallDetails) -> Table | Text:
    if not d.battery_blocks:
        return Text("No battery blocks reported.")
    table = Table(box=None, pad_edge=False, expand=False)
    # a block's own charge: energy left over its full pack, not the app's site figure
    for col in ("Serial", "Pack charge", "Energy", "Power", "Temp", "State", "Backup"):
        table.add_column(col)
    for b in d.battery_blocks:
        power = "—" if b.power_w is None else f"{kw(b.power_w)} {describe_battery(b.power_w)}"
        energy = "—"
        if b.energy_remaining_wh is not None and b.full_pack_wh:
            energy = f"{b.energy_remaining_wh / 1000:.1f}/{b.full_pack_wh / 1000:.1f} kWh"
        table.add_row(
            b.serial,
            _fmt(b.charge_pct, "%", 0),
            energy,
            power,
            _fmt(b.temperature_c, "°C"),
            b.state or "—",
            "yes" if b.backup_ready else ("no" if b.backup_ready is False else "—"),
        )
    return table


def render_strings(d: PowerwallDetails) -> Table | Text:
    if not d.strings:
        return Text("No solar string data from this gateway.")
    table = Table(box=None, pad_edge=False, expand=False)
    for col in ("String", "Connected", "Voltage", "Current", "Power"):
        table.add_column(col)
    for s in d.strings:
        table.add_row(
            s.name,
            "yes" if s.connected else ("no" if s.connected is False else "—"),
            _fmt(s.voltage_v, "V"),
            _fmt(s.current_a, "A", 2),
            kw(s.power_w),
        )
    return table


def render_temps(d: PowerwallDetails) -> Text:
    if not d.temperatures:
        return Text("Temperatures are not available on this firmware.")
    return Text("\n".join(f"{k}: {v:.1f} °C" for k, v in sorted(d.temperatures.items())))


def render_vitals(d: PowerwallDetails) -> Text:
    if d.vitals is None:
        return Text(
            "Per-device vitals are not available on this firmware "
            "(the gateway removed them in 23.44)."
        )
    t = Text()
    for i, (device, signals) in enumerate(sorted(d.vitals.items())):
        if i:
            t.append("\n")
        n = len(signals) if isinstance(signals, dict) else 0
        t.append(device, style="bold")
        t.append(f"  {n} signals")
    return t


def render_simulated(site: SimulatedSite) -> Text:
    spec = site.spec
    s = site.last
    t = Text()
    t.append("This is the simulated site, not a Powerwall.\n\n", style="bold")
    t.append(f"Battery      {spec.battery_kwh:g} kWh, up to {kw(spec.battery_max_w)}\n")
    soe = "—" if s is None or s.soe_pct is None else f"{s.soe_pct:.0f} % ({SOE_SCALE} scale)"
    t.append(f"Charge       {soe}\n")
    t.append(f"Reserve      {spec.reserve_pct:g} %\n")
    t.append(f"Solar peak   {kw(spec.solar_peak_w)}\n")
    t.append(f"Grid         {'DOWN (simulated outage)' if site.outage else 'up'}\n")
    t.append("Alerts       none (simulated)\n\n")
    t.append(NEEDS_POWERWALL, style="yellow")
    return t


# -- the screen ----------------------------------------------------------------------------
class DevicesScreen(HubScreen):
    """Devices of the site; see the module docstring."""

    DEFAULT_CSS = """
    DevicesScreen VerticalScroll { padding: 0 1; }
    DevicesScreen .section { border: round $primary-darken-1; height: auto; padding: 0 1; }
    DevicesScreen #result { height: auto; padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("r", "reserve", "Reserve"),
        Binding("m", "mode", "Mode"),
        Binding("u", "refresh", "Refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.details: PowerwallDetails | None = None

    # -- layout ----------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="≡")
        yield Static("", id="result")
        with VerticalScroll():
            for wid, title in (
                ("summary", "Powerwall"),
                ("alerts", "Alerts"),
                ("batteries", "Battery blocks"),
                ("strings", "Solar strings"),
                ("temps", "Temperatures"),
                ("vitals", "Vitals"),
                ("notes", "Notes"),
            ):
                w = Static("Loading…", id=wid, classes="section")
                w.border_title = title
                yield w
        yield KeyFooter()

    def on_mount(self) -> None:
        self.title = "Devices"
        if self.hub.device is None:
            self._show_simulated()
            return
        self.run_worker(self._load(), group="load", exclusive=True, exit_on_error=False)
        self.set_interval(REFRESH_S, self._reload)

    def _reload(self) -> None:
        if self.hub.device is not None:
            self.run_worker(self._load(), group="load", exclusive=True, exit_on_error=False)

    def _show_simulated(self) -> None:
        site = self.hub.simulated_site
        summary = self.query_one("#summary", Static)
        summary.border_title = "Simulated site"
        if site is not None:
            summary.update(render_simulated(site))
        else:
            summary.update(Text("No power source is configured."))
        for wid in ("alerts", "batteries", "strings", "temps", "vitals", "notes"):
            self.query_one(f"#{wid}", Static).display = False

    async def _load(self, *, refresh: bool = False) -> None:
        try:
            details = await self.hub.power_details(refresh=refresh)
        except SourceError as exc:
            self._say(str(exc), error=True)
            return
        if details is None:  # the power source has no details (any more)
            return
        self.details = details
        self._show_details(details)

    def _show_details(self, d: PowerwallDetails) -> None:
        device = self.hub.device
        where = device.where if device is not None else "—"
        if d.fetched_at is None:
            fetched = "not yet (waiting for the gateway)"
        else:
            fetched = d.fetched_at.astimezone(self.app.config.zone).strftime("%H:%M:%S")
        self.query_one("#summary", Static).update(render_summary(d, where, fetched))
        self.query_one("#alerts", Static).update(render_alerts(d.alerts))
        self.query_one("#batteries", Static).update(render_batteries(d))
        self.query_one("#strings", Static).update(render_strings(d))
        self.query_one("#temps", Static).update(render_temps(d))
        self.query_one("#vitals", Static).update(render_vitals(d))
        # the vitals/temps note is already said in its own section
        notes = [n for n in d.notes if "vitals" not in n.lower()]
        box = self.query_one("#notes", Static)
        box.update(Text("\n".join(notes)))
        box.display = bool(notes)

    def _say(self, message: str, *, error: bool = False) -> None:
        self.query_one("#result", Static).update(
            Text(message, style="bold red" if error else "bold green")
        )
        self.app.notify(message, severity="error" if error else "information", timeout=6)

    # -- actions ----------------------------------------------------------------------
    def action_refresh(self) -> None:
        if self.hub.device is None:
            self._show_simulated()
            return
        self.run_worker(self._load(refresh=True), group="load", exclusive=True, exit_on_error=False)

    def _can_change(self, what: str) -> bool:
        """Say why not when the power source takes no changes."""
        device = self.hub.device
        if device is None:
            self._say(NEEDS_POWERWALL, error=True)
            return False
        if not device.can_control:
            self._say(f"This connection mode cannot change {what}.", error=True)
            return False
        return True

    def action_reserve(self) -> None:
        if not self._can_change("the reserve"):
            return
        current = self.details.reserve_pct if self.details else None

        def chosen(value: float | None) -> None:
            if value is None:
                return
            self.app.push_screen(
                ConfirmDialog(f"Set the backup reserve to {value:g} %?"),
                lambda yes: self._apply(self.hub.set_reserve(value)) if yes else None,
            )

        self.app.push_screen(ReserveDialog(current), chosen)

    def action_mode(self) -> None:
        if not self._can_change("the operation mode"):
            return
        current = self.details.operation_mode if self.details else None

        def chosen(mode: str | None) -> None:
            if mode is None:
                return
            self.app.push_screen(
                ConfirmDialog(f"Switch the Powerwall to {MODE_LABELS[mode]} ({mode})?"),
                lambda yes: self._apply(self.hub.set_mode(mode)) if yes else None,
            )

        self.app.push_screen(ModeDialog(current), chosen)

    def _apply(self, change: Awaitable[str]) -> None:
        self._say("Sending the change to the Powerwall…")
        self.run_worker(self._run_change(change), group="change", exit_on_error=False)

    async def _run_change(self, change: Awaitable[str]) -> None:
        try:
            message = await change
        except SourceError as exc:
            self._say(str(exc), error=True)
            return
        except Exception as exc:  # never let a library surprise end the kiosk
            log.exception("a change to the Powerwall failed unexpectedly")
            self._say(f"The change failed unexpectedly ({type(exc).__name__}).", error=True)
            return
        self._say(message)
        await self._load()
