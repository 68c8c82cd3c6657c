"""The Textual app: subscribes to the hub and renders; sends commands back.

The app never polls a device itself. Hub callbacks arrive on the app's event
loop and are turned into a message, so rendering always happens in Textual's
own message flow and a failing widget cannot stop the hub.
"""

from __future__ import annotations

import contextlib
import importlib
import signal
from datetime import datetime

from textual.app import App, ScreenStackError
from textual.binding import Binding
from textual.message import Message

from energytui.config import Config
from energytui.hub import Hub, HubEvent
from energytui.runtime import Runtime, on_signals
from energytui.sources.remote import RemoteHubSource
from energytui.sources.simulated import SimulatedSource
from energytui.tui.commands import EnergyCommands
from energytui.tui.glyphs import CONSOLE, UNICODE
from energytui.tui.screens.dashboard import DashboardScreen
from energytui.tui.screens.help import HelpScreen
from energytui.tui.screens.kiosk import KioskScreen


class HubChanged(Message):
    """The hub has a new sample or health change."""

    def __init__(self, event: HubEvent) -> None:
        super().__init__()
        self.event = event


class EnergyApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "energytui"
    COMMANDS = App.COMMANDS | {EnergyCommands}
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark,f1", "help", "Help", key_display="?"),
        Binding("r", "refresh", "Poll now"),
        Binding("v", "devices", "Devices"),
        Binding("m", "meter", "Meter"),
        Binding("c", "calibrate", "Calib"),
        Binding("y", "history", "History"),
        Binding("o", "toggle_outage", "Outage", show=False),
        Binding("ctrl+p", "command_palette", "Commands", show=False),
    ]

    def __init__(
        self,
        config: Config,
        hub: Hub,
        *,
        console: bool | None = None,
        kiosk: bool | None = None,
        serve_api: bool = True,
    ) -> None:
        super().__init__()
        self.config = config
        self.hub = hub
        self.console_mode = config.tui.console if console is None else console
        self.kiosk = config.tui.kiosk if kiosk is None else kiosk
        self._kiosk_index = 0
        self.glyphs = CONSOLE if self.console_mode else UNICODE
        self._unsubscribe = None
        #: starts the hub, the API and MQTT with the app, when the hub is not running yet
        self.runtime = Runtime(config, hub, serve_api=serve_api)
        self._refresh_pending = False
        if self.console_mode:
            self.theme = "ansi-dark"
            self.add_class("console")

    # -- lifecycle -----------------------------------------------------------
    async def on_mount(self) -> None:
        self._unsubscribe = self.hub.subscribe(self._on_hub_event)
        self._install_signal_handlers()
        await self.push_screen(KioskScreen() if self.kiosk else DashboardScreen())
        if not self.hub.started:
            await self.runtime.start()
            for warning in self.runtime.warnings:  # a busy port must not stop the monitor
                self.notify(warning, severity="warning", timeout=8)
        self.set_interval(1.0, self._tick)
        if self.kiosk:
            self.set_interval(self.config.tui.kiosk_cycle_s, self._kiosk_next)

    def _install_signal_handlers(self) -> None:
        """Leave the terminal clean on SIGTERM/SIGHUP (systemd stop, SSH drop)."""
        on_signals((signal.SIGTERM, signal.SIGHUP), self.exit)

    def _kiosk_next(self) -> None:
        """Cycle kiosk screens; modal screens (help) are left alone."""
        if len(self.screen_stack) > 2:
            return
        self._kiosk_index = (self._kiosk_index + 1) % 2
        self.switch_screen(KioskScreen() if self._kiosk_index == 0 else DashboardScreen())

    async def on_unmount(self) -> None:
        if self._unsubscribe:
            self._unsubscribe()
        await self.runtime.stop()

    def _on_hub_event(self, event: HubEvent) -> None:
        self.post_message(HubChanged(event))

    def on_hub_changed(self, message: HubChanged) -> None:
        # a poll brings a sample and a health change together: draw once for both
        if not self._refresh_pending:
            self._refresh_pending = True
            self.set_timer(0.05, self._refresh_screen)

    def _tick(self) -> None:
        self._refresh_screen()

    def _refresh_screen(self) -> None:
        self._refresh_pending = False
        try:
            screen = self.screen
        except ScreenStackError:  # shutting down: nothing left to draw on
            return
        refresh = getattr(screen, "refresh_data", None)
        if refresh is not None:
            try:
                refresh()
            except Exception as exc:  # a rendering bug must not end a kiosk
                self.log.error(f"refresh failed: {exc!r}")

    # -- shared facts for screens ----------------------------------------------
    @property
    def battery_kwh(self) -> float:
        src = self.hub.power_source
        if isinstance(src, SimulatedSource):
            return src.site.spec.battery_kwh
        return self.config.powerwall.battery_kwh

    def subtitle_text(self, now: datetime) -> str:
        src = self.hub.power_source
        if isinstance(src, SimulatedSource):
            where = "simulated site"
        elif isinstance(src, RemoteHubSource):
            where = f"viewer of {src.base_url.split('//', 1)[-1]}"
        else:
            where = self.config.powerwall.host or self.config.powerwall.mode
        local = now.astimezone(self.config.zone).strftime("%a %d %b %H:%M %Z")
        store = getattr(self.hub.store, "readonly_reason", None)
        return f"{where} · {local}" + (" · read-only" if store else "")

    # -- actions ---------------------------------------------------------------
    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_refresh(self) -> None:
        self.hub.poll_now()
        self.notify("Polling every source now.", timeout=2)

    def action_toggle_outage(self) -> None:
        src = self.hub.power_source
        if not isinstance(src, SimulatedSource):
            self.notify("Outages can only be simulated on the simulated site.", severity="warning")
            return
        src.set_outage(not src.site.outage)
        self.hub.poll_now()
        self.notify(
            "Simulated grid outage started." if src.site.outage else "Simulated grid is back."
        )

    def _push_optional(self, module: str, cls: str, what: str) -> None:
        try:
            screen_cls = getattr(importlib.import_module(module), cls)
        except (ImportError, AttributeError):
            self.notify(f"The {what} screen is not available in this build.", severity="warning")
            return
        with contextlib.suppress(Exception):
            if isinstance(self.screen, screen_cls):
                return
        self.push_screen(screen_cls(self.hub))

    def action_devices(self) -> None:
        self._push_optional("energytui.tui.screens.devices", "DevicesScreen", "devices")

    def action_meter(self) -> None:
        self._push_optional("energytui.tui.screens.meter", "MeterScreen", "meter")

    def action_calibrate(self) -> None:
        self._push_optional("energytui.tui.screens.calibration", "CalibrationScreen", "calibration")

    def action_history(self) -> None:
        self._push_optional("energytui.tui.screens.history", "HistoryScreen", "history")
