"""The devices screen: alerts, battery blocks, strings, temperatures, vitals, reserve and mode.

Reads only the Powerwall source's slow cache, through the hub
(:meth:`Hub.power_details`), so opening it costs the gateway nothing extra (the source
refreshes it every ``powerwall.slow_interval_s``; the global ``r`` polls now). Changing
the reserve (``s``) or the operation mode (``p``) always goes through a Yes/No
confirmation, then through the hub's commands (:meth:`Hub.set_reserve`,
:meth:`Hub.set_mode`) in a worker, and reports the gateway's answer in one sentence.
On the simulated site it shows what the simulation knows and says that changes need a
Powerwall; on a viewer (a second energytui reading another's API) it shows what that
instance publishes and says where changes are made.

Alert codes are put in words (:func:`describe_alert`), the code kept on a dim line
beside, and an unknown mode or reserve says why. In console mode (``app.console_mode``)
every character drawn is ASCII, a box line, a full block or ``░``.
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

from energytui.model import PowerSample, describe_battery
from energytui.sources.base import SourceError
from energytui.sources.powerwall_alerts import describe_alert, is_info
from energytui.sources.powerwall_details import MODE_LABELS, PowerwallDetails
from energytui.sources.remote import RemoteHubSource
from energytui.sources.simulated import SimulatedSite
from energytui.tui.format import SOE_SCALE, kw
from energytui.tui.screens.base import HubScreen
from energytui.tui.screens.dialogs import InputDialog
from energytui.tui.widgets.keyfooter import KeyFooter

log = logging.getLogger(__name__)

NEEDS_POWERWALL = "Changing the reserve or mode needs a Powerwall; this is the simulated site."
#: how often the screen reads the source's cache again (free: no request to the gateway)
REFRESH_S = 5.0
DASH = "—"


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
#: the console font lacks these; each is swapped for characters it has
CONSOLE_SAFE = ((DASH, "-"), ("°C", " C"), ("·", "-"), ("…", "..."))


def safe(text: str, console: bool) -> str:
    """``text`` with only console-safe characters in console mode."""
    if console:
        for fancy, plain in CONSOLE_SAFE:
            text = text.replace(fancy, plain)
    return text


def _ascii(t: Text, console: bool) -> Text:
    """A copy of ``t`` that the console font can draw (styles kept: the swaps keep the
    length, the ellipsis aside)."""
    plain = safe(t.plain, console)
    if plain == t.plain:
        return t
    out = t.copy()
    out.plain = plain
    return out


def _fmt(value: float | None, unit: str, digits: int = 1) -> str:
    return DASH if value is None else f"{value:.{digits}f} {unit}"


def _unknown_why(d: PowerwallDetails, specific: str | None) -> str:
    """Why a setting is not shown: not read yet, the refresh failed, or the gateway's
    answer lacked it."""
    if d.fetched_at is None:
        why = d.notes[0].rstrip(".") if d.notes else "the gateway has not been read yet"
        return f"unknown: {why[:1].lower()}{why[1:]}"
    return f"unknown: {specific or 'the gateway did not report it'}"


def render_summary(
    d: PowerwallDetails, where: str, fetched: str, capacity: str | None = None
) -> Text:
    t = Text()
    t.append("Site        ", style="bold")
    t.append(f"{d.site_name or DASH}\n")
    t.append("Connection  ", style="bold")
    t.append(f"{d.connection_mode} · {where}\n")
    t.append("Firmware    ", style="bold")
    t.append(f"{d.firmware or DASH}\n")
    t.append("Mode        ", style="bold")
    label = d.operation_mode_label
    if label:
        t.append(f"{label} ({d.operation_mode})\n")
    else:
        t.append(f"{_unknown_why(d, d.mode_unknown)}\n", style="yellow")
    t.append("Reserve     ", style="bold")
    if d.reserve_pct is not None:
        t.append(f"{_fmt(d.reserve_pct, '%', 0)} ({SOE_SCALE} scale)\n")
    else:
        t.append(f"{_unknown_why(d, d.reserve_unknown)}\n", style="yellow")
    t.append("Capacity    ", style="bold")
    t.append(f"{capacity or 'not reported by the gateway'}\n")
    t.append("Updated     ", style="bold")
    t.append(fetched)
    if d.can_control:
        t.append("\ns changes the reserve, p the mode (each asks to confirm first).", style="dim")
    else:
        t.append("\nThis connection mode cannot change reserve or mode.", style="dim")
    return t


def render_alerts(alerts: tuple[str, ...]) -> Text:
    """Each alert in words, its code on a dim line under it (what support searches on)."""
    if not alerts:
        return Text("No alerts.")
    t = Text()
    for i, a in enumerate(alerts):
        if i:
            t.append("\n")
        t.append("  " if is_info(a) else "! ", style="bold yellow")
        t.append(describe_alert(a))
        t.append(f"\n    code {a}", style="dim")
    return t


def render_batteries(d: PowerwallDetails, console: bool = False) -> Table | Text:
    if not d.battery_blocks:
        if d.fetched_at is None:
            return Text("Not read yet.")
        return Text("The gateway lists no battery blocks, and its vitals hold no battery pods.")
    table = Table(box=None, pad_edge=False, expand=False)
    # a block's own charge: energy left over its full pack, not the app's site figure
    for col in ("Serial", "Pack charge", "Energy", "Power", "Temp", "State", "Backup"):
        table.add_column(col)
    for b in d.battery_blocks:
        power = DASH if b.power_w is None else f"{kw(b.power_w)} {describe_battery(b.power_w)}"
        energy = DASH
        if b.energy_remaining_wh is not None and b.full_pack_wh:
            energy = f"{b.energy_remaining_wh / 1000:.1f}/{b.full_pack_wh / 1000:.1f} kWh"
        cells = (
            b.serial,
            _fmt(b.charge_pct, "%", 0),
            energy,
            power,
            _fmt(b.temperature_c, "°C"),
            b.state or DASH,
            "yes" if b.backup_ready else ("no" if b.backup_ready is False else DASH),
        )
        table.add_row(*(safe(c, console) for c in cells))
    return table


def render_strings(d: PowerwallDetails, console: bool = False) -> Table | Text:
    if not d.strings:
        return Text("No solar string data from this gateway.")
    table = Table(box=None, pad_edge=False, expand=False)
    for col in ("String", "Connected", "Voltage", "Current", "Power"):
        table.add_column(col)
    for s in d.strings:
        cells = (
            s.name,
            "yes" if s.connected else ("no" if s.connected is False else DASH),
            _fmt(s.voltage_v, "V"),
            _fmt(s.current_a, "A", 2),
            kw(s.power_w),
        )
        table.add_row(*(safe(c, console) for c in cells))
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
    soe = DASH if s is None or s.soe_pct is None else f"{s.soe_pct:.0f} % ({SOE_SCALE} scale)"
    t.append(f"Charge       {soe}\n")
    t.append(f"Reserve      {spec.reserve_pct:g} %\n")
    t.append(f"Solar peak   {kw(spec.solar_peak_w)}\n")
    t.append(f"Grid         {'DOWN (simulated outage)' if site.outage else 'up'}\n")
    t.append("Alerts       none (simulated)\n\n")
    t.append(NEEDS_POWERWALL, style="yellow")
    return t


def viewer_of(src: RemoteHubSource) -> str:
    return src.base_url.split("//", 1)[-1]


def render_viewer(src: RemoteHubSource, sample: PowerSample | None) -> Text:
    """A viewer reads another energytui's API: say what that one publishes, and where
    details, changes and simulated outages are made."""
    where = viewer_of(src)
    simulated = sample is not None and sample.source == "simulated"
    t = Text()
    t.append(f"This energytui views the one at {where}", style="bold")
    t.append(" (its simulated site).\n\n" if simulated else ".\n\n", style="bold")
    soe = DASH if sample is None or sample.soe_pct is None else f"{sample.soe_pct:.0f} %"
    reserve = (
        "not published yet"
        if sample is None or sample.reserve_pct is None
        else f"{sample.reserve_pct:.0f} %"
    )
    t.append(f"Charge       {soe} ({SOE_SCALE} scale)\n")
    t.append(f"Reserve      {reserve}\n")
    t.append(f"Grid         {DASH if sample is None else sample.grid_status.value}\n\n")
    what = "grid outages (o)" if simulated else "reserve and mode changes"
    t.append(
        f"A viewer shows the live readings only: device details and {what} are made in "
        f"the energytui at {where}.",
        style="yellow",
    )
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
        Binding("s", "reserve", "Reserve…"),
        Binding("p", "mode", "Op. mode…"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.details: PowerwallDetails | None = None

    # -- layout ----------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="=" if self.app.console_mode else "≡")
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
                w = Static("Loading...", id=wid, classes="section")
                w.border_title = title
                yield w
        yield KeyFooter()

    def on_mount(self) -> None:
        self.title = "Devices"
        if self.hub.device is None:
            self._show_simulated()
        else:
            self.run_worker(self._load(), group="load", exclusive=True, exit_on_error=False)
        self.set_interval(REFRESH_S, self._reload)

    def _reload(self) -> None:
        if self.hub.device is not None:
            self.run_worker(self._load(), group="load", exclusive=True, exit_on_error=False)
        else:  # the simulated site and a viewer's readings move too
            self._show_simulated()

    def _show_simulated(self) -> None:
        site = self.hub.simulated_site
        src = self.hub.power_source
        summary = self.query_one("#summary", Static)
        console = self.app.console_mode
        if site is not None:
            summary.border_title = "Simulated site"
            summary.update(_ascii(render_simulated(site), console))
        elif isinstance(src, RemoteHubSource):
            summary.border_title = f"Viewer of {viewer_of(src)}"
            summary.update(_ascii(render_viewer(src, self.hub.latest_power), console))
        else:
            summary.border_title = "No Powerwall"
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
        c = self.app.console_mode
        capacity = None
        override = self.app.config.powerwall.battery_kwh
        if override is not None:
            capacity = f"{override:g} kWh (powerwall.battery_kwh; the gateway's is not used)"
        elif d.capacity_kwh is not None:
            capacity = f"{d.capacity_kwh:g} kWh (reported by the gateway)"
        summary = render_summary(d, where, fetched, capacity)
        self.query_one("#summary", Static).update(_ascii(summary, c))
        self.query_one("#alerts", Static).update(_ascii(render_alerts(d.alerts), c))
        batteries = render_batteries(d, c)
        strings = render_strings(d, c)
        self.query_one("#batteries", Static).update(
            _ascii(batteries, c) if isinstance(batteries, Text) else batteries
        )
        self.query_one("#strings", Static).update(
            _ascii(strings, c) if isinstance(strings, Text) else strings
        )
        self.query_one("#temps", Static).update(_ascii(render_temps(d), c))
        self.query_one("#vitals", Static).update(_ascii(render_vitals(d), c))
        # the vitals/temps note is already said in its own section
        notes = [n for n in d.notes if "vitals" not in n.lower()]
        box = self.query_one("#notes", Static)
        box.update(_ascii(Text("\n".join(notes)), c))
        box.display = bool(notes)

    def _say(self, message: str, *, error: bool = False) -> None:
        text = Text(message, style="bold red" if error else "bold green")
        self.query_one("#result", Static).update(_ascii(text, self.app.console_mode))
        self.app.notify(message, severity="error" if error else "information", timeout=6)

    # -- actions ----------------------------------------------------------------------
    def _can_change(self, what: str) -> bool:
        """Say why not when the power source takes no changes."""
        device = self.hub.device
        src = self.hub.power_source
        if device is None and isinstance(src, RemoteHubSource):
            self._say(
                f"A viewer cannot change {what}; change it in the energytui at {viewer_of(src)}.",
                error=True,
            )
            return False
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
        except Exception:  # never let a library surprise end the kiosk
            log.exception("a change to the Powerwall failed unexpectedly")
            self._say("The change failed unexpectedly; the log has the details.", error=True)
            return
        self._say(message)
        await self._load()
