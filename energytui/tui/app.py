"""The Textual app: subscribes to the hub's views and renders; sends commands back.

The app never polls a device itself. Each :class:`~energytui.view.HubView` the hub
publishes arrives on the app's event loop as a message and becomes the app's ``view``
reactive, so rendering always happens in Textual's own message flow and a failing
widget cannot stop the hub. Screens watch ``view`` and redraw what changed; the hub
publishes a view at least once a second, which is the tick that ages and clocks
follow. Writes to devices go through the hub's commands.
"""

from __future__ import annotations

import gc
import signal
from collections.abc import Callable, Iterable
from pathlib import Path

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.reactive import var
from textual.screen import Screen

from energytui.config import Config
from energytui.hub import Hub
from energytui.runtime import Runtime, on_signals
from energytui.sources.base import SourceError
from energytui.sources.remote import RemoteHubSource
from energytui.sources.simulated import SimulatedSource
from energytui.tui import prefs
from energytui.tui.commands import EnergyCommands
from energytui.tui.glyphs import CONSOLE, UNICODE, ConsoleFilter
from energytui.tui.screens.dashboard import DashboardScreen
from energytui.tui.screens.devices import DevicesScreen
from energytui.tui.screens.help import HelpScreen
from energytui.tui.screens.history import HistoryScreen
from energytui.tui.screens.kiosk import KioskScreen
from energytui.tui.screens.meter import MeterScreen
from energytui.view import HubView

#: the names the kiosk's two screens are installed under (see ``on_mount``)
KIOSK_SCREENS = ("kiosk", "kiosk-dashboard")


class ViewChanged(Message):
    """The hub published a new view."""

    def __init__(self, view: HubView) -> None:
        super().__init__()
        self.view = view


class EnergyApp(App[None]):
    """The monitor's terminal UI; see the module docstring."""

    #: the hub's latest view; screens watch it. Equal views (nothing moved, the same
    #: clock) do not fire the watchers.
    view: var[HubView | None] = var(None, init=False)

    CSS_PATH = "app.tcss"
    TITLE = "energytui"
    COMMANDS = App.COMMANDS | {EnergyCommands}
    #: the global keys (docs/usage.md): one meaning per key on every screen. A screen
    #: may bind a key of its own, never one of these for something else, and writes to
    #: a device never sit on a key that means refresh anywhere.
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark,f1", "help", "Help", key_display="?"),
        Binding("escape", "back", "Back"),
        Binding("r", "refresh", "Poll now"),
        Binding("v", "devices", "Devices"),
        Binding("m", "meter", "Meter"),
        Binding("c", "calibrate", "Calibrate"),
        Binding("y", "history", "History"),
        Binding("e", "events", "Events"),
        Binding("a", "acknowledge_events", "Mark seen", show=False),
        Binding("o", "toggle_outage", "Outage"),
        Binding("ctrl+p", "command_palette", "Commands"),
    ]
    #: the footer's ranks (lower shows first and stays longest; see widgets/keyfooter.py):
    #: help lists every key, so it never drops; a screen's own keys rank 10 onwards
    KEY_PRIORITY = {
        "help": 0,
        "quit": 1,
        "back": 2,
        "pop_screen": 2,
        "dismiss": 2,
        "leave": 2,
        "refresh": 40,
        "devices": 41,
        "meter": 42,
        "calibrate": 43,
        "history": 44,
        "events": 45,
        "toggle_outage": 46,
        "command_palette": 90,
    }

    def __init__(
        self,
        config: Config,
        hub: Hub,
        *,
        console: bool | None = None,
        kiosk: bool | None = None,
        serve_api: bool = True,
        prefs_dir: Path | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        #: where the theme chosen on screen is kept (``energytui`` passes the data dir;
        #: None: nothing kept, as in tests and screenshots)
        self.prefs_dir = prefs_dir
        self.hub = hub
        self.console_mode = config.tui.console if console is None else console
        self.kiosk = config.tui.kiosk if kiosk is None else kiosk
        self._kiosk_index = 0
        self.glyphs = CONSOLE if self.console_mode else UNICODE
        self._unsubscribe: Callable[[], None] | None = None
        #: starts the hub, the API and the sinks with the app, when the hub is not running yet
        self.runtime = Runtime(config, hub, serve_api=serve_api)
        self._latest_view: HubView | None = None
        if self.console_mode:
            self.theme = "ansi-dark"
            self.add_class("console")
            # every line drawn, on every screen, reaches the console in glyphs its font has
            self._filters.append(ConsoleFilter())
        elif prefs_dir is not None:
            chosen = prefs.load(prefs_dir).theme
            if chosen in self.available_themes:
                self.theme = chosen
        self._theme_loaded = True

    def watch_theme(self, theme: str) -> None:
        """Keep the theme picked in the palette for the next start (not the console's,
        which is forced by --console)."""
        if getattr(self, "_theme_loaded", False) and self.prefs_dir and not self.console_mode:
            prefs.save(self.prefs_dir, prefs.Prefs(theme=theme))

    # -- lifecycle -----------------------------------------------------------
    async def on_mount(self) -> None:
        self._unsubscribe = self.hub.subscribe_view(self._on_hub_view)
        self.view = self.hub.view
        self._install_signal_handlers()
        if self.kiosk:
            # the two screens the kiosk cycles between are made once and kept: building
            # each anew at every cycle (compose, styles, layout, the store's 24 h of
            # charge) was a visible share of the kiosk's CPU (python -m bench.tui)
            self.install_screen(KioskScreen(), KIOSK_SCREENS[0])
            self.install_screen(DashboardScreen(), KIOSK_SCREENS[1])
            await self.push_screen(KIOSK_SCREENS[0])
        else:
            await self.push_screen(DashboardScreen())
        if not self.hub.started:
            await self.runtime.start()
            for warning in self.runtime.warnings:  # a busy port must not stop the monitor
                self.notify(warning, severity="warning", timeout=8)
        if self.kiosk:
            self.set_interval(self.config.tui.kiosk_cycle_s, self._kiosk_next)
        # what exists once the first screen is up (Textual, the styles, the screens, the
        # config) lives as long as the app: out of the collector's sight, its periodic
        # full collections no longer walk it (one took 33 ms, most of a second's cost);
        # given back at unmount, so an app started again in this process (the kiosk
        # after a crash, the tests) leaves nothing it could not collect
        self.call_after_refresh(gc.freeze)

    def _install_signal_handlers(self) -> None:
        """Leave the terminal clean on SIGTERM/SIGHUP (systemd stop, SSH drop)."""
        on_signals((signal.SIGTERM, signal.SIGHUP), self.exit)

    def _kiosk_next(self) -> None:
        """Cycle kiosk screens; modal screens (help) are left alone."""
        if len(self.screen_stack) > 2:
            return
        self._kiosk_index = (self._kiosk_index + 1) % 2
        self.switch_screen(KIOSK_SCREENS[self._kiosk_index])

    async def on_unmount(self) -> None:
        gc.unfreeze()
        if self._unsubscribe:
            self._unsubscribe()
        await self.runtime.stop()

    # -- the hub's view -------------------------------------------------------------
    def _on_hub_view(self, view: HubView) -> None:
        """Hub callback: hand the view to Textual's message flow."""
        self._latest_view = view
        self.post_message(ViewChanged(view))

    def on_view_changed(self, message: ViewChanged) -> None:
        if message.view is self._latest_view:  # a newer one is on its way otherwise
            self.view = message.view
            self._note_store(message.view)

    def _note_store(self, view: HubView) -> None:
        """Every screen's title line ends with the store's one sentence while readings
        are not stored (the dashboard's :meth:`subtitle_text` says it already)."""
        if not self.screen_stack:  # closing: the kiosk's kept screens are gone already
            return
        screen = self.screen
        if isinstance(screen, DashboardScreen):
            return
        title = screen.sub_title or ""
        shown = getattr(screen, "_store_note", None)
        if shown and title.endswith(f" · {shown}"):
            title = title[: -len(f" · {shown}")]
        error = view.store.error
        want = f"{title} · {error}" if error else title
        if want != screen.sub_title:
            screen.sub_title = want
        screen._store_note = error  # type: ignore[attr-defined]

    def refresh_view(self) -> None:
        """Take a view of the hub as it is now, without waiting for the next one."""
        self.view = self.hub.publish_view()

    # -- shared facts for screens ----------------------------------------------
    @property
    def battery_kwh(self) -> float | None:
        """The battery's capacity: the simulated site's own, else ``powerwall.battery_kwh``
        when set (an override), else what the gateway reports; None while unknown."""
        site = self.hub.simulated_site
        if site is not None:
            return site.spec.battery_kwh
        if self.config.powerwall.battery_kwh is not None:
            return self.config.powerwall.battery_kwh
        return getattr(self.hub.power_source, "capacity_kwh", None)

    def subtitle_text(self, view: HubView) -> str:
        src = self.hub.power_source
        if isinstance(src, SimulatedSource):
            where = "simulated site"
        elif isinstance(src, RemoteHubSource):
            where = f"viewer of {src.base_url.split('//', 1)[-1]}"
        else:
            where = self.config.powerwall.host or self.config.powerwall.mode
        local = view.now.astimezone(self.config.zone).strftime("%a %d %b %H:%M %Z")
        text = f"{where} · {local}"
        if view.store.error:  # not storing (a read-only or full disk...): say so on every screen
            return f"{text} · {view.store.error}"
        return text + (" · read-only" if view.store.readonly_reason else "")

    # -- actions ---------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide keys that do nothing here: Back on the first screen, Outage where no
        outage can be simulated."""
        if action == "toggle_outage":
            return self.outage_possible
        if action == "back":  # Textual's: pops the screen; never the first one
            return len(self.screen_stack) > 2  # the default screen, then the first one
        return True

    @property
    def outage_possible(self) -> bool:
        """Whether ``o`` means something here: on the simulated site, and on a viewer of
        one (where it says to press it in the instance viewed)."""
        if self.hub.simulated_site is not None:
            return True
        if isinstance(self.hub.power_source, RemoteHubSource):
            # a viewer of a simulated site: `o` says where the outage can be started
            sample = self.hub.latest_power
            return sample is not None and sample.source == "simulated"
        return bool(getattr(self.hub.power_source, "simulated_outage", False))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_refresh(self) -> None:
        self.hub.poll_now()
        self.notify("Polling every source now.", timeout=2)

    def action_toggle_outage(self) -> None:
        src = self.hub.power_source
        if isinstance(src, RemoteHubSource):  # a viewer cannot write to the other instance
            where = src.base_url.split("//", 1)[-1]
            sample = self.hub.latest_power
            if sample is not None and sample.source == "simulated":
                message = (
                    f"This is a viewer of the simulated site at {where}; start or end the "
                    "outage there (o in that energytui)."
                )
            else:
                message = f"Outages can only be simulated on the simulated site, not at {where}."
            self.notify(message, severity="warning")
            return
        site = self.hub.simulated_site
        on = not (site is not None and site.outage)
        try:
            self.hub.set_outage(on)
        except SourceError as exc:  # not the simulated site
            self.notify(str(exc), severity="warning")
            return
        self.notify("Simulated grid outage started." if on else "Simulated grid is back.")

    def _open(self, screen_cls: type[Screen]) -> None:
        """Push a new screen of that class unless it is the one shown."""
        if not isinstance(self.screen, screen_cls):
            self.push_screen(screen_cls())

    def action_devices(self) -> None:
        self._open(DevicesScreen)

    def action_meter(self) -> None:
        self._open(MeterScreen)

    def action_calibrate(self) -> None:
        # imported here: OpenCV costs ~30 MB and a fifth of a second, for a screen most
        # sessions never open
        from energytui.tui.screens.calibration import CalibrationScreen

        if not isinstance(self.screen, CalibrationScreen):
            self._probe_graphics()
        self._open(CalibrationScreen)

    def _probe_graphics(self) -> None:
        """Ask the terminal once whether it speaks Sixel or the kitty graphics protocol,
        the first time the calibration screen opens.

        The question needs the terminal to itself, so Textual hands it back for that
        moment (``suspend``, as for an editor). Asked at start-up instead, the graphics
        library (with Pillow and NumPy) cost every session some 14 MB for a screen most
        never open. Where the app cannot hand the terminal back (tests, a browser) the
        picture is drawn in half blocks."""
        from textual.app import SuspendNotSupported

        from energytui.tui.widgets import preview

        if self.console_mode or self.config.tui.preview != "auto" or preview.probed():
            return
        try:
            with self.suspend():
                preview.probe_terminal()
        except SuspendNotSupported:
            return

    def action_history(self) -> None:
        self._open(HistoryScreen)

    # -- the palette's Screenshot ------------------------------------------------
    @property
    def screenshot_dir(self) -> Path:
        return self.config.data_dir / "screenshots"

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's own commands, with a Screenshot that says where it saved.

        Textual's saves into the desktop's Downloads folder, which a Pi or a server
        often lacks: it then said only "Failed to save screenshot"."""
        for command in super().get_system_commands(screen):
            if command.title == "Screenshot":
                yield SystemCommand(
                    "Screenshot",
                    f"Save an SVG picture of this screen in {self.screenshot_dir}",
                    # after the palette has closed: the picture shows the screen
                    lambda: self.set_timer(0.1, self.take_screenshot),
                )
            else:
                yield command

    def take_screenshot(self) -> Path | None:
        """Save the screen as SVG in :attr:`screenshot_dir` and say the file's path."""
        folder = self.screenshot_dir
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = Path(self.save_screenshot(path=str(folder)))
        except OSError as exc:
            why = exc.strerror or str(exc)
            self.notify(
                f"The screenshot could not be saved in {folder}: {why}.",
                title="Screenshot",
                severity="error",
            )
            return None
        self.notify(f"Screenshot saved to {path}", title="Screenshot", timeout=8)
        return path

    def action_events(self) -> None:
        from energytui.tui.screens.events import EventsScreen

        self._open(EventsScreen)

    def action_acknowledge_events(self) -> None:
        """The banner's key: every event counts as seen."""
        self.hub.acknowledge_events()
