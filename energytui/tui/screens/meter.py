"""The meter screen: the latest accepted reading, consumption today and this
month from meter deltas, recent and rejected readings, and how the meter
compares with the Powerwall's grid import.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import date, timedelta, tzinfo

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Header, Static

from energytui.agent_client import AgentClient, AgentError
from energytui.meter_stats import reconcile, today_and_month
from energytui.model import parse_iso
from energytui.tui.format import age
from energytui.tui.screens.base import ViewScreen
from energytui.tui.screens.dialogs import InputDialog
from energytui.tui.widgets.keyfooter import KeyFooter
from energytui.view import HubView

log = logging.getLogger(__name__)


class SetReadingDialog(InputDialog):
    """Ask for the meter's true reading, digit for digit as the meter shows it.

    For when the agent's checks are stuck: a replaced meter (lower than the last value),
    or a value that should never have been accepted. The agent validates the digits."""

    def __init__(self) -> None:
        super().__init__(
            "The meter's true reading, every digit as it shows them (e.g. 012345), "
            "then Enter. The agent's checks compare with it from then on.",
            name="reading",
            placeholder="digits",
            restrict=r"[0-9]*",
        )

    def parse(self, text: str) -> tuple[str | None, str | None]:
        if not text.isdigit():
            return None, "Enter the digits the meter shows (Escape cancels)."
        return text, None


class MeterScreen(ViewScreen):
    """See the module docstring. The accepted reading and its age follow the hub's view;
    the readings behind "Consumption" come from the store through the hub (on the
    store's thread, in a worker), loaded on opening, on ``r`` and when the hub accepts a
    new reading, not on every view."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("c", "calibrate", "Calibrate"),
        Binding("s", "set_reading", "Set reading"),
        Binding("r", "reload", "Reload"),
    ]

    DEFAULT_CSS = """
    MeterScreen #meter-top { height: auto; }
    MeterScreen #meter-latest, MeterScreen #meter-usage { width: 1fr; border: round $primary; padding: 0 1; height: 6; }
    MeterScreen #meter-tables { height: 1fr; }
    MeterScreen DataTable { width: 1fr; height: 1fr; border: round $primary; }
    MeterScreen #meter-hub-rejected { height: auto; padding: 0 1; color: $error; display: none; }
    MeterScreen #meter-status { height: auto; padding: 0 1; color: $warning; }
    """

    def __init__(self, *, client: AgentClient | None = None) -> None:
        super().__init__()
        self._client = client
        self.rejected: list[dict] = []
        self.agent_error: str | None = None
        self.set_error: str | None = None  # why the last "set reading" failed
        # the agent's /health "references": the meter's digits it has learnt examples of
        self.learnt: dict | None = None
        #: (ts, kWh, confidence, method), oldest first: the store's last 35 days, or the
        #: hub's memory without a store
        self.readings: list[tuple] = []
        self.readings_loads = 0  # how many times the store was read (the tests count)

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="≡")
        with Horizontal(id="meter-top"):
            yield Static("", id="meter-latest")
            yield Static("", id="meter-usage")
        with Horizontal(id="meter-tables"):
            yield DataTable(id="meter-recent", cursor_type="row", zebra_stripes=True)
            yield DataTable(id="meter-rejected", cursor_type="row", zebra_stripes=True)
        yield Static("", id="meter-hub-rejected")
        yield Static("", id="meter-status")
        yield KeyFooter()

    @property
    def client(self) -> AgentClient | None:
        if self._client is None and self.app.config.meter.endpoint:
            self._client = AgentClient(
                self.app.config.meter.endpoint, token=self.app.config.meter.token
            )
        return self._client

    def on_mount(self) -> None:
        self.sub_title = "utility meter"
        self.query_one("#meter-latest").border_title = "Latest accepted reading"
        self.query_one("#meter-usage").border_title = "Consumption"
        recent = self.query_one("#meter-recent", DataTable)
        recent.border_title = "Recent readings"
        recent.add_columns("time", "kWh", "conf.", "method")
        rej = self.query_one("#meter-rejected", DataTable)
        rej.border_title = "Rejected readings"
        rej.add_columns("time", "digits", "reason")
        self.load_rejected()

    async def on_unmount(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.close()

    def action_reload(self) -> None:
        self.load_rejected()
        self.load_readings()

    async def action_calibrate(self) -> None:
        await self.app.run_action("calibrate")

    def action_set_reading(self) -> None:
        if self.client is None:
            self.agent_error = (
                "No meter agent is configured; set meter.endpoint (or METER_ENDPOINT)."
            )
            self._show_status()
            return

        def done(digits: str | None) -> None:
            if digits:
                self.send_reading(digits)

        self.app.push_screen(SetReadingDialog(), done)

    @work(exclusive=True, group="meter-set", exit_on_error=False)
    async def send_reading(self, digits: str) -> None:
        assert self.client is not None
        try:
            rec = await self.client.set_reading(digits)
        except AgentError as exc:
            self.set_error = f"The reading was not set: {exc}"
        else:
            self.set_error = None
            self.notify(f"The meter agent now takes {rec.get('digits', digits)} as the reading.")
        self.load_rejected()

    @work(exclusive=True, group="meter-rejected", exit_on_error=False)
    async def load_rejected(self) -> None:
        if self.client is None:
            self.agent_error = (
                "No meter agent is configured; set meter.endpoint (or METER_ENDPOINT)."
            )
        else:
            try:
                rows = await self.client.readings(include_rejected=True, limit=200)
                self.rejected = [r for r in rows if not r.get("accepted", True)]
                learnt = (await self.client.health()).get("references")
                self.learnt = learnt if isinstance(learnt, dict) else None
                self.agent_error = None
            except AgentError as exc:
                self.agent_error = str(exc)
        self._show_rejected()
        self._show_status()
        self._show_latest()

    @work(exclusive=True, group="meter-readings", exit_on_error=False)
    async def load_readings(self) -> None:
        """The last 35 days of accepted readings from the store, through the hub; the
        hub's memory when there is no store or nothing in it."""
        now = self.hub.clock.now()
        rows: list[tuple] = []
        if self.store is not None:
            self.readings_loads += 1
            try:
                got = await self.hub.query_store(
                    "meter", now - timedelta(days=35), now, resolution="raw"
                )
                for rec in got or ():
                    rows.append(
                        (
                            parse_iso(rec["ts"]),
                            float(rec["reading_kwh"]),
                            rec.get("confidence"),
                            rec.get("method"),
                        )
                    )
            except Exception as exc:  # an unreadable store must not end the screen
                log.warning("could not read the meter readings from the store: %s", exc)
                rows = []
        if not rows:
            rows = _memory_readings(self.app.view)
        rows.sort(key=lambda r: r[0])
        self.readings = rows
        self._show_recent()
        self._show_usage()

    # -- drawing ---------------------------------------------------------------------
    def draw(self, view: HubView, old: HubView | None) -> None:
        self._show_latest(view)  # its age moves with every view
        if old is None or view.meter.latest != old.meter.latest:
            if self.store is not None or old is None:
                self.load_readings()  # it draws the table and the consumption when done
            else:
                self.readings = _memory_readings(view)
                self._show_recent()
                self._show_usage(view)
        elif _usage_inputs(view, self.app.config.zone) != _usage_inputs(old, self.app.config.zone):
            self._show_usage(view)
        if old is None or view.meter.rejected != old.meter.rejected:
            self._show_hub_rejected(view)

    def _show_latest(self, view: HubView | None = None) -> None:
        view = view or self.app.view
        if view is None:
            return
        meter = view.meter
        latest = meter.latest
        box = Text()
        if latest is None:
            box.append("No accepted reading yet.", style="grey50")
        else:
            box.append(f"{latest.reading_kwh:,.2f} kWh\n", style="bold")
            box.append(f"{age((view.now - latest.timestamp).total_seconds())} · ")
            box.append(f"confidence {latest.confidence:.0%} · {latest.method}\n")
            if self.learnt is not None:
                digits = str(self.learnt.get("digits") or "") or "none yet"
                box.append(f"digits learnt by the agent: {digits}\n", style="grey50")
            refused = meter.refused
            if refused is not None:
                box.append(
                    f"The agent now reads {refused.reading_kwh:,.2f} kWh, lower than this, "
                    "and is refused: if the meter was replaced or the agent started over, "
                    "set the reading (s).\n",
                    style="bold yellow",
                )
            status = view.meter_status
            if status is not None and not meter.live:
                box.append("STALE", style="bold red")
                if status.last_error:
                    box.append(f" · {status.last_error}", style="red")
        self.query_one("#meter-latest", Static).update(box)

    def _show_hub_rejected(self, view: HubView) -> None:
        """One line for the latest reading the hub's own checks refused: the agent's table
        beside shows only what the agent refused, and a reading the hub refused (the seed's
        Pi sends whatever it reads) would otherwise just leave an older reading shown."""
        line = self.query_one("#meter-hub-rejected", Static)
        line.display = view.meter.rejected is not None
        line.update(hub_rejected_line(view, self.app.config.zone))

    def _show_usage(self, view: HubView | None = None) -> None:
        view = view or self.app.view
        if view is None:
            return
        day, grid_import = _usage_inputs(view, self.app.config.zone)
        readings = [(r[0], r[1], r[3]) for r in self.readings]
        today, month = today_and_month(readings, view.now, self.app.config.zone)
        usage = Text()
        usage.append("today      ")
        usage.append("—" if today.kwh is None else f"{today.kwh:.2f} kWh", style="bold")
        usage.append("\nthis month ")
        usage.append("—" if month.kwh is None else f"{month.kwh:.2f} kWh", style="bold")
        usage.append("\n" + reconcile(today.kwh, grid_import), style="grey70")
        self.query_one("#meter-usage", Static).update(usage)

    def _show_recent(self) -> None:
        zone = self.app.config.zone
        recent = self.query_one("#meter-recent", DataTable)
        recent.clear()
        for ts, kwh, conf, method in reversed(self.readings[-100:]):
            recent.add_row(
                ts.astimezone(zone).strftime("%d %b %H:%M"),
                f"{kwh:,.2f}",
                "—" if conf is None else f"{float(conf):.0%}",
                method or "—",
            )

    def _show_rejected(self) -> None:
        zone = self.app.config.zone
        rej = self.query_one("#meter-rejected", DataTable)
        rej.clear()
        for r in reversed(self.rejected[-100:]):
            ts = r.get("timestamp") or r.get("ts")
            when = parse_iso(ts).astimezone(zone).strftime("%d %b %H:%M") if ts else "—"
            rej.add_row(when, r.get("digits") or "—", r.get("reason") or "—")

    def _show_status(self) -> None:
        self.query_one("#meter-status", Static).update(self.agent_error or self.set_error or "")


def hub_rejected_line(view: HubView, zone: tzinfo) -> str:
    """Which reading the hub refused last, and why, in one line ("" before any)."""
    rejected = view.meter.rejected
    if rejected is None:
        return ""
    read_at = rejected.reading.timestamp.astimezone(zone).strftime("%d %b %H:%M")
    reason = rejected.reason[:1].lower() + rejected.reason[1:]
    return (
        f"The hub refused {rejected.reading.reading_kwh:,.2f} kWh "
        f"(read {read_at}, confidence {rejected.reading.confidence:.0%}): {reason}."
    )


def _memory_readings(view: HubView | None) -> list[tuple]:
    """(ts, kWh, confidence, method) of the readings the hub keeps in memory."""
    if view is None:
        return []
    return [(r.timestamp, r.reading_kwh, r.confidence, r.method) for r in view.meter.history]


def _usage_inputs(view: HubView, zone: tzinfo) -> tuple[date, float | None]:
    """What "Consumption" depends on besides the readings: the local day (today and this
    month start at midnight) and the Powerwall's grid import today."""
    grid_import = view.energy.grid_import_kwh if view.power.sample is not None else None
    return view.now.astimezone(zone).date(), grid_import
